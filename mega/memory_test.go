package mega

import (
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"ferry/megaserver/megaservertest"
)

// prngReader yields n pseudo-random bytes without holding them.
type prngReader struct {
	r *rand.ChaCha8
	n int64
}

func (p *prngReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n)]
	p.r.Read(b)
	p.n -= int64(len(b))
	return len(b), nil
}

// heapPeak samples the live heap until stop is closed.
func heapPeak(stop <-chan struct{}) (peak func() uint64) {
	var mu sync.Mutex
	var max uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			mu.Lock()
			max = maxU(max, s[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return max
	}
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// TestLargeTransferMemory streams 1 GiB (64 MiB with -short) up and down
// and checks that the live heap of the whole process (client and server)
// stays far below the file size.
func TestLargeTransferMemory(t *testing.T) {
	size := int64(1 << 30)
	if testing.Short() || raceEnabled {
		size = 64 << 20
	}
	ts := megaservertest.Start(t, megaservertest.WithLogger(discardLogger()))
	c := newLoggedIn(t, ts)
	seed := [32]byte{1, 2, 3}

	stop := make(chan struct{})
	peak := heapPeak(stop)
	n, err := c.Upload(t.Context(), c.Root(), "big", &prngReader{r: rand.NewChaCha8(seed), n: size}, size, time.Now())
	if err != nil {
		close(stop)
		t.Fatal(err)
	}
	h := sha256.New()
	err = c.Download(t.Context(), n, h)
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.New()
	io.Copy(want, &prngReader{r: rand.NewChaCha8(seed), n: size})
	if string(h.Sum(nil)) != string(want.Sum(nil)) {
		t.Fatal("round trip differs")
	}
	p := peak()
	t.Logf("%d MiB round trip; peak live heap %d MiB", size>>20, p>>20)
	if p > 100<<20 {
		t.Errorf("peak live heap %d MiB, want < 100 MiB", p>>20)
	}
}
