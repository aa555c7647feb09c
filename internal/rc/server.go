package rc

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Server answers calls over HTTP. It is an http.Handler.
type Server struct {
	reg        *Registry
	user, pass string
	log        *slog.Logger
	baseCtx    context.Context // parent of async jobs; cancelled by Close

	mu     sync.Mutex // guards jobs, nextID
	jobs   map[int64]*Job
	nextID int64
	cancel context.CancelFunc
	wg     sync.WaitGroup // running jobs
}

// NewServer serves reg with basic auth user:pass (both required).
func NewServer(reg *Registry, user, pass string, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{reg: reg, user: user, pass: pass, log: log, baseCtx: ctx, cancel: cancel, jobs: map[int64]*Job{}}
	reg.Add(Call{Path: "job/status", Help: "status of a job: jobid", Fn: s.jobStatus})
	reg.Add(Call{Path: "job/list", Help: "list the job ids", Fn: s.jobList})
	return s
}

// Close cancels running jobs and waits for them.
func (s *Server) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, p, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(s.user)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(s.pass)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="ferry rc"`)
		writeError(w, r.URL.Path, http.StatusUnauthorized, "authentication required", nil)
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, r.URL.Path, http.StatusMethodNotAllowed, "use POST", nil)
		return
	}
	path := strings.Trim(r.URL.Path, "/")
	call, ok := s.reg.Get(path)
	if !ok {
		writeError(w, path, http.StatusNotFound, "couldn't find method "+strings.TrimSpace(path), nil)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, path, http.StatusBadRequest, err.Error(), nil)
		return
	}
	in, err := decodeParams(body)
	if err != nil {
		writeError(w, path, http.StatusBadRequest, err.Error(), nil)
		return
	}
	async, err := in.Bool("_async")
	if err != nil {
		writeError(w, path, http.StatusBadRequest, err.Error(), in)
		return
	}
	delete(in, "_async")
	if async {
		id := s.startJob(call, in)
		writeJSON(w, http.StatusOK, Params{"jobid": id})
		return
	}
	out, err := call.Fn(r.Context(), in)
	if err != nil {
		s.log.Info("rc call failed", "call", path, "err", err)
		writeError(w, path, statusOf(err), err.Error(), in)
		return
	}
	if out == nil {
		out = Params{}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) startJob(call Call, in Params) int64 {
	s.mu.Lock()
	s.nextID++
	j := &Job{ID: s.nextID, Call: call.Path, StartTime: time.Now()}
	s.jobs[j.ID] = j
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		out, err := call.Fn(s.baseCtx, in)
		s.mu.Lock()
		defer s.mu.Unlock()
		j.EndTime = time.Now()
		j.Duration = j.EndTime.Sub(j.StartTime).Seconds()
		j.Finished = true
		j.Success = err == nil
		if err != nil {
			j.Error = err.Error()
		}
		j.Output = out
	}()
	return j.ID
}

func (s *Server) jobStatus(_ context.Context, in Params) (Params, error) {
	var id int64
	switch v := in["jobid"].(type) {
	case float64:
		id = int64(v)
	case nil:
		return nil, &ParamError{Key: "jobid", Problem: "missing"}
	default:
		return nil, &ParamError{Key: "jobid", Problem: "want a number"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return nil, &ParamError{Key: "jobid", Problem: "no such job"}
	}
	b, _ := json.Marshal(j)
	var out Params
	_ = json.Unmarshal(b, &out)
	return out, nil
}

func (s *Server) jobList(context.Context, Params) (Params, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := []int64{}
	for id := range s.jobs {
		ids = append(ids, id)
	}
	return Params{"jobids": ids}, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "\t")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, path string, status int, msg string, in Params) {
	if in == nil {
		in = Params{}
	}
	writeJSON(w, status, Params{"error": msg, "input": in, "path": path, "status": status})
}
