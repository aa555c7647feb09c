package megaserver

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// SetJournalKeep changes how many event batches per user stay pollable, so
// tests can reach the "sn too old" case quickly.
func SetJournalKeep(s *Server, n uint64) { s.journalKeep = n }

// SetFaults changes the fault probabilities of a running server (the
// delay, login limit and seed stay as opened).
func SetFaults(s *Server, f Faults) { s.faults.setProbabilities(f) }

// SetBoltBatchDelay sets bolt's Batch delay of s's store (commands must
// not wait for it).
func SetBoltBatchDelay(s *Server, d time.Duration) { s.db.MaxBatchDelay = d }

// GroupCommit runs fn through s's group committer.
func GroupCommit(s *Server, fn func(*bolt.Tx) error) error { return s.commits.Do(fn) }
