package mediafireserver

import "sync"

// stats count what clients asked of the server.
type stats struct {
	mu          sync.Mutex
	calls       map[string]int64 // by action, "dl" for downloads
	units       int64
	unitBytes   int64
	uploadBytes int64
}

// Stats are counts of the requests a server has answered since Open.
type Stats struct {
	// Calls counts requests by action ("folder/get_info"); "dl" counts
	// direct downloads, "unknown" calls of methods the server lacks.
	Calls map[string]int64
	// Units and UnitBytes count the upload/resumable bodies received;
	// SimpleBytes the upload/simple bodies.
	Units, UnitBytes, SimpleBytes int64
}

// Total is the number of API calls (downloads not included).
func (st Stats) Total() int64 {
	var n int64
	for k, v := range st.Calls {
		if k != downloadMethod {
			n += v
		}
	}
	return n
}

func (st *stats) count(action string) {
	st.mu.Lock()
	st.calls[action]++
	st.mu.Unlock()
}

func (st *stats) addUnit(n int64) {
	st.mu.Lock()
	st.units++
	st.unitBytes += n
	st.mu.Unlock()
}

func (st *stats) addUpload(n int64) {
	st.mu.Lock()
	st.uploadBytes += n
	st.mu.Unlock()
}

// Stats returns the counts since Open (or the last ResetStats).
func (s *Server) Stats() Stats {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	out := Stats{Calls: make(map[string]int64, len(s.stats.calls)), Units: s.stats.units, UnitBytes: s.stats.unitBytes, SimpleBytes: s.stats.uploadBytes}
	for k, v := range s.stats.calls {
		out.Calls[k] = v
	}
	return out
}

// ResetStats sets the counts of Stats to zero.
func (s *Server) ResetStats() {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	clear(s.stats.calls)
	s.stats.units, s.stats.unitBytes, s.stats.uploadBytes = 0, 0, 0
}
