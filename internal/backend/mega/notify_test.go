package mega

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/megaserver/megaservertest"
)

// TestChangeNotify watches one backend while a second one (another
// client, with its own session) adds a file: the watcher is told within
// seconds, and its listing then shows the file without another poll.
// Cancelling ctx ends ChangeNotify with ctx's error.
func TestChangeNotify(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithLogger(slog0(t)))
	watcher := newOpener(t, ts).mustOpen("shared")
	if err := watcher.Mkdir(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	other := newOpener(t, ts).mustOpen("shared") // its own cache dir: its own session

	ctx, cancel := context.WithCancel(t.Context())
	calls := make(chan []string, 16)
	done := make(chan error, 1)
	go func() { done <- watcher.ChangeNotify(ctx, func(dirs []string) { calls <- dirs }) }()

	time.Sleep(200 * time.Millisecond) // let the watcher reach its wait request
	put(t, other, "from-elsewhere.txt", []byte("hello"))
	// Each notification may be for an earlier change; within seconds one
	// must leave the file in the watcher's tree.
	deadline := time.After(15 * time.Second)
	for seen := false; !seen; {
		select {
		case dirs := <-calls:
			if dirs != nil {
				t.Errorf("dirs = %q, want nil (anything may have changed)", dirs)
			}
		case <-deadline:
			t.Fatal("no notification showing another client's upload within 15 s")
		}
		watcher.pollMu.Lock()
		watcher.lastPoll = time.Now() // no refresh: the listing must come from the watched tree
		watcher.pollMu.Unlock()
		es, err := watcher.List(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		seen = slices.ContainsFunc(es, func(e backend.Entry) bool { return e.Path == "from-elsewhere.txt" })
	}

	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("ChangeNotify after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ChangeNotify did not return after its ctx was cancelled")
	}
}
