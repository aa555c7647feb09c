package mediafireserver

import (
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// baseURL is the scheme://host prefix of links handed out on r's
// listener: https on a TLS listener, so PYSDK's rewrite of http: to
// https: (§8.4) reaches the same listener only when it serves TLS.
func (s *Server) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// serveDownload answers GET /download/<token>/<quickkey>/<name>: the
// exact bytes of the file (Range requests included), or 404 for a file
// deleted, replaced or unknown.
func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request, rest string) {
	s.stats.count(downloadMethod)
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 {
		http.NotFound(w, r)
		return
	}
	token, qk := parts[0], parts[1]
	var f fileRec
	var live bool
	_ = s.view(func(tx *bolt.Tx) error {
		ok, err := getJSON(tx, bucketFiles, qk, &f)
		live = ok && err == nil && fileLive(tx, &f)
		return nil
	})
	if !live || !equalHex(token, s.downloadToken(f.Key, f.Hash)) {
		http.NotFound(w, r)
		return
	}
	if s.faults.slowHit(downloadMethod) {
		s.sleep(r, s.faults.slowDelay)
	}
	switch {
	case s.faultHit(downloadMethod, FaultHTTP500):
		writeHTML(w, http.StatusInternalServerError)
		return
	case s.faultHit(downloadMethod, FaultDrop):
		panic(http.ErrAbortHandler)
	}
	blob, err := os.Open(s.blobPath(f.Hash))
	if err != nil {
		s.log.Error("open blob", logKeyErr, err)
		http.Error(w, "blob missing", http.StatusInternalServerError)
		return
	}
	defer blob.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	switch {
	case s.faultHit(downloadMethod, FaultTruncate):
		w.Header().Set("Content-Length", strconv.FormatInt(f.Size, 10))
		w.WriteHeader(http.StatusOK)
		_, _ = io.CopyN(w, blob, f.Size/2)
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // the client sees the body end early
	case s.faultHit(downloadMethod, FaultCorrupt):
		w.Header().Set("Content-Length", strconv.FormatInt(f.Size, 10))
		w.WriteHeader(http.StatusOK)
		_, _ = io.Copy(w, &flipReader{r: blob, at: f.Size / 2})
		return
	}
	http.ServeContent(w, r, "", time.Unix(f.Created, 0), blob)
}

// downloadMethod names downloads in faults and call counts.
const downloadMethod = "dl"

// flipReader inverts the byte at offset at of r: same length, wrong
// content.
type flipReader struct {
	r   io.Reader
	off int64
	at  int64
}

func (f *flipReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if i := f.at - f.off; i >= 0 && i < int64(n) {
		p[i] ^= 0xff
	}
	f.off += int64(n)
	return n, err
}
