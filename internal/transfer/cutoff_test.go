package transfer

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend/memory"
)

// TestMaxTransfer copies five 100-byte files one at a time under a
// 250-byte limit in each cutoff mode: hard copies two and cuts the third
// (no partial file), soft lets the third finish, cautious starts none
// that would pass the limit. Each run returns ErrMaxTransfer and reports
// no failure; a sync deletes nothing after the cutoff.
func TestMaxTransfer(t *testing.T) {
	files := tree{}
	for i := range 5 {
		files[fmt.Sprintf("f%d", i)] = file{data: strings.Repeat(string(rune('a'+i)), 100)}
	}
	cases := []struct {
		mode  CutoffMode
		files int   // complete files at the destination
		bytes int64 // bytes the statistics count at most
	}{
		{CutoffHard, 2, 250},
		{CutoffSoft, 3, 300},
		{CutoffCautious, 2, 200},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.mode), func(t *testing.T) {
			checkNoLeak(t)
			src, dst := memory.New(), memory.New()
			put(t, src, "s", files)
			put(t, dst, "d", tree{"extra": {data: "x"}})
			opts, rec := testOptions(t)
			opts.Transfers = 1
			opts.MaxTransfer = 250
			opts.CutoffMode = tc.mode
			err := Sync(t.Context(), Location{src, "s"}, Location{dst, "d"}, opts)
			if !errors.Is(err, ErrMaxTransfer) {
				t.Fatalf("Sync = %v, want ErrMaxTransfer", err)
			}
			got := contents(t, dst, "d")
			if _, ok := got["extra"]; !ok {
				t.Errorf("sync deleted after the cutoff: %v", got)
			}
			delete(got, "extra")
			if len(got) != tc.files {
				t.Errorf("%d files copied, want %d: %v", len(got), tc.files, got)
			}
			for p, d := range got {
				if d != files[p].data {
					t.Errorf("%s: partial or wrong content %q", p, d)
				}
			}
			if f := rec.paths(Failed); len(f) != 0 {
				t.Errorf("failures reported: %v", f)
			}
			if s := opts.Stats.Snapshot(); s.Bytes > tc.bytes || s.Errors != 0 {
				t.Errorf("stats: %d bytes (want at most %d), %d errors", s.Bytes, tc.bytes, s.Errors)
			}
		})
	}
}

// TestMaxDuration stops a slow copy (a bandwidth limit) after its
// duration: hard returns at once, cutting the running transfer; soft lets
// it finish and starts no other.
func TestMaxDuration(t *testing.T) {
	files := tree{}
	for i := range 4 {
		files[fmt.Sprintf("f%d", i)] = file{data: strings.Repeat("z", 4096)}
	}
	for _, mode := range []CutoffMode{CutoffHard, CutoffSoft} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			checkNoLeak(t)
			src, dst := memory.New(), memory.New()
			put(t, src, "s", files)
			put(t, dst, "d", tree{"keep": {data: "k"}})
			opts, rec := testOptions(t)
			opts.Transfers = 1
			opts.Limiter = NewLimiter(8192).Direction(true, true) // 0.5 s a file
			opts.MaxDuration = 300 * time.Millisecond
			opts.CutoffMode = mode
			start := time.Now()
			err := Copy(t.Context(), Location{src, "s"}, Location{dst, "d"}, opts)
			took := time.Since(start)
			if !errors.Is(err, ErrMaxDuration) {
				t.Fatalf("Copy = %v, want ErrMaxDuration", err)
			}
			n := len(contents(t, dst, "d")) - 1
			switch mode {
			case CutoffHard:
				if n != 0 || took > 2*time.Second {
					t.Errorf("hard: %d files copied in %v, want 0 at once", n, took)
				}
			case CutoffSoft:
				if n != 1 {
					t.Errorf("soft: %d files copied, want the running one", n)
				}
			}
			if f := rec.paths(Failed); len(f) != 0 {
				t.Errorf("failures reported: %v", f)
			}
		})
	}
}
