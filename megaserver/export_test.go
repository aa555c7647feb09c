package megaserver

// SetJournalKeep changes how many event batches per user stay pollable, so
// tests can reach the "sn too old" case quickly.
func SetJournalKeep(s *Server, n uint64) { s.journalKeep = n }
