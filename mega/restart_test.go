package mega

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"ferry/megaserver/megaservertest"
)

// pausingReader pauses once after n bytes until resume is closed.
type pausingReader struct {
	r      io.Reader
	n      int64
	once   sync.Once
	paused chan struct{}
	resume chan struct{}
}

func (p *pausingReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		p.once.Do(func() {
			close(p.paused)
			<-p.resume
		})
	} else if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	k, err := p.r.Read(b)
	p.n -= int64(k)
	return k, err
}

// seekingPausingReader adds Seek so Upload can restart.
type seekingPausingReader struct {
	*pausingReader
	s io.Seeker
}

func (s seekingPausingReader) Seek(off int64, whence int) (int64, error) {
	return s.s.Seek(off, whence)
}

// TestUploadRestartsAfterServerRestart restarts the server (which forgets
// upload slots: their URLs answer -8) in the middle of an upload.
func TestUploadRestartsAfterServerRestart(t *testing.T) {
	for _, seekable := range []bool{true, false} {
		name := "seekable"
		if !seekable {
			name = "stream"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ts := megaservertest.Start(t, megaservertest.WithDir(dir))
			proxy := megaservertest.StartProxy(t, ts.URL, megaservertest.ProxyConfig{})
			opts := testOptions(t, ts)
			opts.APIURL = proxy.URL
			opts.MemoryBudget = 8 << 20
			c := newLoggedInAs(t, ts, opts, megaservertest.UserV2, megaservertest.PasswordV2)

			data := randomBytes(t, 9<<20)
			br := bytes.NewReader(data)
			pr := &pausingReader{r: br, n: 5 << 20, paused: make(chan struct{}), resume: make(chan struct{})}
			var r io.Reader = pr
			if seekable {
				r = seekingPausingReader{pr, br}
			}
			type result struct {
				n   *Node
				err error
			}
			done := make(chan result, 1)
			go func() {
				n, err := c.Upload(t.Context(), c.Root(), "restarted", r, int64(len(data)), time.Now())
				done <- result{n, err}
			}()
			<-pr.paused
			time.Sleep(50 * time.Millisecond) // let the POSTs of the first 5 MiB land
			ts.Close()
			ts2 := megaservertest.Start(t, megaservertest.WithDir(dir))
			proxy.SetTarget(ts2.URL)
			close(pr.resume)
			res := <-done
			if !seekable {
				if !errors.Is(res.err, ErrUploadLost) {
					t.Fatalf("Upload = %v, want ErrUploadLost", res.err)
				}
				return
			}
			if res.err != nil {
				t.Fatalf("Upload across a server restart: %v", res.err)
			}
			if got := download(t, c, res.n); !bytes.Equal(got, data) {
				t.Fatal("round trip differs")
			}
		})
	}
}
