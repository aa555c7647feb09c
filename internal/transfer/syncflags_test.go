package transfer

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
)

// TestDecideUpdateIgnoreTimes: rclone's --update keeps a newer
// destination, compares an older one as usual and, with equal mtimes,
// only the sizes; --ignore-times copies whatever the sizes and mtimes.
func TestDecideUpdateIgnoreTimes(t *testing.T) {
	newer, older := t0.Add(time.Hour), t0.Add(-time.Hour)
	up := compareOptions{update: true, window: time.Second}
	tests := []struct {
		name     string
		src, dst backend.Entry
		opts     compareOptions
		want     decision
	}{
		{"update: destination newer, sizes differ", backend.Entry{Size: 9, ModTime: t0}, backend.Entry{Size: 8, ModTime: newer}, up, decSkip},
		{"update: destination older", backend.Entry{Size: 9, ModTime: t0}, backend.Entry{Size: 9, ModTime: older}, up, decCopy},
		{"update: same mtime, sizes differ", backend.Entry{Size: 9, ModTime: t0}, backend.Entry{Size: 8, ModTime: t0}, up, decCopy},
		{"update: same mtime within window, same size", backend.Entry{Size: 9, ModTime: t0}, backend.Entry{Size: 9, ModTime: t0.Add(time.Second)}, up, decSkip},
		{"update: newer by less than the window", backend.Entry{Size: 9, ModTime: t0}, backend.Entry{Size: 8, ModTime: t0.Add(time.Second)}, up, decCopy},
		{"ignore times: identical", backend.Entry{Size: 9, ModTime: t0}, backend.Entry{Size: 9, ModTime: t0}, compareOptions{ignoreTimes: true}, decCopy},
		{"ignore existing beats ignore times", backend.Entry{Size: 9, ModTime: t0}, backend.Entry{Size: 8, ModTime: t0}, compareOptions{ignoreTimes: true, ignoreExisting: true}, decSkip},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.sameContent = megaSame
			if got, reason := decide(tc.src, tc.dst, tc.opts); got != tc.want {
				t.Errorf("decide = %v (%s), want %v", got, reason, tc.want)
			}
		})
	}
}

// TestWithSuffix: --suffix goes after the name, or before the extension
// with --suffix-keep-extension (a dot file has none).
func TestWithSuffix(t *testing.T) {
	for _, tc := range []struct {
		p, suffix string
		keep      bool
		want      string
	}{
		{"a/b.txt", ".bak", false, "a/b.txt.bak"},
		{"a/b.txt", "-1", true, "a/b-1.txt"},
		{"a.d/b", "-1", true, "a.d/b-1"},
		{".bashrc", "-1", true, ".bashrc-1"},
		{"x.tar.gz", "-1", true, "x.tar-1.gz"},
		{"a/b.txt", "", true, "a/b.txt"},
	} {
		if got := withSuffix(tc.p, tc.suffix, tc.keep); got != tc.want {
			t.Errorf("withSuffix(%q, %q, %v) = %q, want %q", tc.p, tc.suffix, tc.keep, got, tc.want)
		}
	}
}

// listCounting counts List calls.
type listCounting struct {
	backend.Backend
	lists, stats atomic.Int64
}

func (l *listCounting) List(ctx context.Context, dir string) ([]backend.Entry, error) {
	l.lists.Add(1)
	return l.Backend.List(ctx, dir)
}

func (l *listCounting) Stat(ctx context.Context, p string) (backend.Entry, error) {
	l.stats.Add(1)
	return l.Backend.Stat(ctx, p)
}

// TestNoTraverse: with NoTraverse a copy never lists the destination; it
// looks up each source file, and still skips the unchanged ones.
func TestNoTraverse(t *testing.T) {
	src, mem := memory.New(), memory.New()
	put(t, src, "s", tree{"a": {data: "alpha"}, "d/b": {data: "bravo"}, "d/e/c": {data: "charlie"}})
	put(t, mem, "d", tree{"a": {data: "alpha"}, "d/b": {data: "old"}, "huge/1": {data: "x"}, "huge/2": {data: "y"}})
	dst := &listCounting{Backend: mem}
	opts, rec := testOptions(t)
	opts.NoTraverse = true
	if err := Copy(t.Context(), Location{src, "s"}, Location{dst, "d"}, opts); err != nil {
		t.Fatal(err)
	}
	if n := dst.lists.Load(); n != 0 {
		t.Errorf("destination listed %d times", n)
	}
	if got := rec.paths(Copied); len(got) != 2 || got[0] != "d/b" || got[1] != "d/e/c" {
		t.Errorf("copied %v, want [d/b d/e/c]", got)
	}
	want := map[string]string{"a": "alpha", "d/b": "bravo", "d/e/c": "charlie", "huge/1": "x", "huge/2": "y"}
	if d := diffMaps(contents(t, mem, "d"), want); d != "" {
		t.Error(d)
	}
	// Without it the destination is listed.
	opts, _ = testOptions(t)
	if err := Copy(t.Context(), Location{src, "s"}, Location{dst, "d"}, opts); err != nil || dst.lists.Load() == 0 {
		t.Errorf("copy without NoTraverse: %v, %d listings", err, dst.lists.Load())
	}
}
