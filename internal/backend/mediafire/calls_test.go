package mediafire

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"ferry/mediafireserver/mediafireservertest"
)

// TestCallsPerSmallFile counts the API calls a clean run makes per small
// file, at the server: a Put of at most 64 KiB is upload/simple,
// upload/poll_upload and the file/update that records the mtime (the
// folder and the action token are looked up once; no upload/check); an
// Open is one listing of the folder, file/get_links and the download.
func TestCallsPerSmallFile(t *testing.T) {
	ts := mediafireservertest.Start(t)
	b := newTestBackend(t, ts)
	ctx := t.Context()
	if err := b.Mkdir(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	warm := []byte("warm")
	if _, err := b.Put(ctx, "d/warm", bytes.NewReader(warm), int64(len(warm)), time.Now()); err != nil {
		t.Fatal(err)
	}
	const n = 20
	ts.Server.ResetStats()
	for i := range n {
		data := []byte(fmt.Sprintf("small file %d", i))
		if _, err := b.Put(ctx, fmt.Sprintf("d/f%d", i), bytes.NewReader(data), int64(len(data)), time.Unix(1700000000, int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	st := ts.Server.Stats()
	t.Logf("put: %d API calls for %d files: %v", st.Total(), n, st.Calls)
	if per := float64(st.Total()) / n; per > 3 {
		t.Errorf("put: %.2f API calls per small file, want at most 3", per)
	}
	ts.Server.ResetStats()
	for i := range n {
		rc, err := b.Open(ctx, fmt.Sprintf("d/f%d", i), 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	st = ts.Server.Stats()
	t.Logf("open: %d API calls and %d downloads for %d files: %v", st.Total(), st.Calls["dl"], n, st.Calls)
	if per := float64(st.Total()) / n; per > 2 {
		t.Errorf("open: %.2f API calls per small file, want at most 2", per)
	}
}
