package megaserver_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"ferry/megaserver"
	"ferry/megaserver/megaservertest"
)

// TestCommandsWaitForNoTimer: a sequential client's command commits at
// once. With bolt's Batch every mutation waited for its delay (2 ms, the
// larger part of an upload's time on a fast disk, and what made a mount's
// cp -r one file per 8 ms); here the delay is 10 s, which a command that
// still used Batch would wait for.
func TestCommandsWaitForNoTimer(t *testing.T) {
	ts := megaservertest.Start(t)
	megaserver.SetBoltBatchDelay(ts.Server, 10*time.Second)
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	root := c.root()
	start := time.Now()
	for range 5 {
		c.mkdir(root)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("5 mkdirs took %v: commands wait for a batch timer", d)
	}
}

// TestGroupCommit: concurrent writers each get their own result, a
// failing function fails only its caller, and exactly the others'
// writes are committed.
func TestGroupCommit(t *testing.T) {
	ts := megaservertest.Start(t)
	s := ts.Server
	bucket := []byte("test-group-commit")
	if err := megaserver.GroupCommit(s, func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	const n = 200
	errBad := errors.New("refused")
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = megaserver.GroupCommit(s, func(tx *bolt.Tx) error {
				if i%7 == 3 {
					return fmt.Errorf("call %d: %w", i, errBad)
				}
				return tx.Bucket(bucket).Put(fmt.Appendf(nil, "k%03d", i), []byte{byte(i)})
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if bad := i%7 == 3; bad != errors.Is(err, errBad) || (bad && err.Error() != fmt.Sprintf("call %d: refused", i)) {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if err := megaserver.GroupCommit(s, func(tx *bolt.Tx) error {
		for i := range n {
			v := tx.Bucket(bucket).Get(fmt.Appendf(nil, "k%03d", i))
			if bad := i%7 == 3; bad != (v == nil) {
				t.Errorf("key %d: stored %v, want stored %v", i, v != nil, !bad)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
