package megaserver

// SetJournalKeep changes how many event batches per user stay pollable, so
// tests can reach the "sn too old" case quickly.
func SetJournalKeep(s *Server, n uint64) { s.journalKeep = n }

// SetFaults changes the fault probabilities of a running server (the
// delay, login limit and seed stay as opened).
func SetFaults(s *Server, f Faults) { s.faults.setProbabilities(f) }
