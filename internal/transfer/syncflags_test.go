package transfer

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/mega"
	"ferry/internal/backend/memory"
	"ferry/internal/filter"
	"ferry/mega/megacrypto"
	"ferry/megaserver/megaservertest"
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

// TestSyncRenamesBackupsDuring: on backends without fingerprints
// renames are matched by size and mtime and moved; replaced and deleted
// files go to the backup directory while deletions run during the walk,
// under a MaxDelete that allows them all (run it with -race).
func TestSyncRenamesBackupsDuring(t *testing.T) {
	src, dst := memory.New(), memory.New()
	later := t0.Add(time.Minute)
	put(t, src, "s", tree{"new/a": {data: "alpha"}, "b": {data: "bravo!"}, "c": {data: "charlie"}, "d/e": {data: "echo"}})
	put(t, dst, "d", tree{"old/a": {data: "alpha"}, "b": {data: "bravo"}, "c": {data: "charlie"}, "x1": {data: "1"}, "x2": {data: "2"},
		"same-size": {data: "ALPHA", mtime: later}})
	opts, rec := testOptions(t)
	opts.TrackRenames = true
	opts.BackupDir = "bak"
	opts.LimitDeletes, opts.MaxDelete = true, 3
	if err := Sync(t.Context(), Location{src, "s"}, Location{dst, "d"}, opts); err != nil {
		t.Fatal(err)
	}
	if got := rec.paths(Moved); len(got) != 1 || got[0] != "new/a" {
		t.Errorf("moved %v, want [new/a]", got)
	}
	if d := diffMaps(contents(t, dst, "d"), map[string]string{"new/a": "alpha", "b": "bravo!", "c": "charlie", "d/e": "echo"}); d != "" {
		t.Error(d)
	}
	if d := diffMaps(contents(t, dst, "bak"), map[string]string{"b": "bravo", "x1": "1", "x2": "2", "same-size": "ALPHA"}); d != "" {
		t.Error(d)
	}

	// DeleteDuring, MaxDelete 1 of 2: one goes, the run fails fatally.
	put(t, dst, "d", tree{"y1": {data: "1"}, "y2": {data: "2"}})
	opts, rec = testOptions(t)
	opts.DeleteMode = DeleteDuring
	opts.LimitDeletes, opts.MaxDelete = true, 1
	err := Sync(t.Context(), Location{src, "s"}, Location{dst, "d"}, opts)
	if !errors.Is(err, ErrMaxDelete) || !backend.IsFatal(err) || len(rec.paths(Deleted)) != 1 {
		t.Errorf("sync over MaxDelete: %v, deleted %v", err, rec.paths(Deleted))
	}

	// DeleteBefore, MaxDelete 0: nothing deleted, and nothing copied.
	put(t, src, "s", tree{"f": {data: "new"}})
	opts, rec = testOptions(t)
	opts.DeleteMode = DeleteBefore
	opts.LimitDeletes = true
	err = Sync(t.Context(), Location{src, "s"}, Location{dst, "d"}, opts)
	if !errors.Is(err, ErrMaxDelete) || len(rec.paths(Deleted)) != 0 || len(rec.paths(Copied)) != 0 {
		t.Errorf("sync --delete-before over MaxDelete: %v, deleted %v, copied %v", err, rec.paths(Deleted), rec.paths(Copied))
	}
}

// TestTrackRenamesConfirmsContent: to the MEGA backend, a source-only
// file with the size and the (sampled) fingerprint of a destination-only
// one but other content is uploaded, not moved into place: the whole
// content is MAC'd under the node's key first.
func TestTrackRenamesConfirmsContent(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := megaservertest.Start(t, megaservertest.WithLogger(quiet))
	dst, err := mega.Type.New(t.Context(), "test", backend.ConfigMap{
		"user": megaservertest.UserV2, "pass": megaservertest.PasswordV2, "url": srv.URL,
	}, "", backend.Env{CacheDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.(backend.Closer).Close()

	// orig and fake differ in one byte the fingerprint does not sample.
	orig := bytes.Repeat([]byte("0123456789abcdef"), 1<<14)
	want, err := megacrypto.Fingerprint(bytes.NewReader(orig), int64(len(orig)), t0.Unix())
	if err != nil {
		t.Fatal(err)
	}
	fake := slices.Clone(orig)
	for off := 1000; ; off += 997 {
		if off >= len(fake) {
			t.Fatal("every byte is sampled")
		}
		fake[off] ^= 1
		if got, _ := megacrypto.Fingerprint(bytes.NewReader(fake), int64(len(fake)), t0.Unix()); got == want {
			break
		}
		fake[off] ^= 1
	}
	src := memory.New()
	put(t, src, "s", tree{"new/fake.bin": {data: string(fake)}, "new/real.bin": {data: "real"}})
	put(t, dst, "d", tree{"old/orig.bin": {data: string(orig)}, "old/real.bin": {data: "real"}})
	opts, rec := testOptions(t)
	opts.TrackRenames = true
	if err := Sync(t.Context(), Location{src, "s"}, Location{dst, "d"}, opts); err != nil {
		t.Fatal(err)
	}
	if got := rec.paths(Moved); len(got) != 1 || got[0] != "new/real.bin" {
		t.Errorf("moved %v, want [new/real.bin]", got)
	}
	if got := rec.paths(Copied); len(got) != 1 || got[0] != "new/fake.bin" {
		t.Errorf("copied %v, want [new/fake.bin]", got)
	}
	got := contents(t, dst, "d")
	if len(got) != 2 || got["new/fake.bin"] != string(fake) || got["new/real.bin"] != "real" {
		t.Errorf("destination: %d files, new/fake.bin right: %v, new/real.bin %q", len(got), got["new/fake.bin"] == string(fake), got["new/real.bin"])
	}
}

// TestDeleteExcludedKeepsBackupDir: a backup directory inside the
// destination, excluded by the filter, survives --delete-excluded and
// receives what the sync deletes; without the exclusion it is refused.
func TestDeleteExcludedKeepsBackupDir(t *testing.T) {
	src, dst := memory.New(), memory.New()
	put(t, src, "s", tree{"a": {data: "alpha"}})
	put(t, dst, "d", tree{"a": {data: "alpha"}, "gone": {data: "g"}, "x.log": {data: "log"}, "old/earlier": {data: "e"}})
	flt, err := filter.New(filter.Options{Exclude: []string{"old/**", "*.log"}})
	if err != nil {
		t.Fatal(err)
	}
	opts, _ := testOptions(t)
	opts.BackupDir, opts.Filter, opts.DeleteExcluded = "d/old", flt, true
	if err := Sync(t.Context(), Location{src, "s"}, Location{dst, "d"}, opts); err != nil {
		t.Fatal(err)
	}
	if d := diffMaps(contents(t, dst, "d"), map[string]string{"a": "alpha", "old/earlier": "e", "old/gone": "g", "old/x.log": "log"}); d != "" {
		t.Error(d)
	}
	opts.Filter = nil
	if err := Sync(t.Context(), Location{src, "s"}, Location{dst, "d"}, opts); !errors.Is(err, ErrOverlap) {
		t.Errorf("backup dir inside the destination, not excluded: %v", err)
	}
}

// TestTrackRenamesStrategy: --track-renames-strategy decides what a
// renamed file shares with the one it was, besides the size: leaf takes
// the same name in another folder whatever the mtime, modtime the same
// mtime whatever the name, and "modtime,leaf" needs both. (The memory
// backend has no fingerprints, so hash means modtime here.)
func TestTrackRenamesStrategy(t *testing.T) {
	t1 := t0.Add(time.Hour)
	for _, c := range []struct {
		strategy      string
		moved, copied []string
	}{
		{"leaf", []string{"new/a.txt"}, []string{"new/b.txt"}},
		{"modtime", []string{"new/b.txt"}, []string{"new/a.txt"}},
		{"hash", []string{"new/b.txt"}, []string{"new/a.txt"}},
		{"modtime,leaf", nil, []string{"new/a.txt", "new/b.txt"}},
	} {
		st, err := ParseRenameStrategy(c.strategy)
		if err != nil {
			t.Fatal(err)
		}
		src, dst := memory.New(), memory.New()
		put(t, src, "", tree{"new/a.txt": {data: "same1", mtime: t0}, "new/b.txt": {data: "same2", mtime: t1}})
		put(t, dst, "", tree{"old/a.txt": {data: "same1", mtime: t0.Add(2 * time.Hour)}, "old/c.txt": {data: "same2", mtime: t1}})
		opts, rec := testOptions(t)
		opts.TrackRenames, opts.TrackRenamesStrategy = true, st
		if err := Sync(t.Context(), Location{src, ""}, Location{dst, ""}, opts); err != nil {
			t.Fatal(err)
		}
		if got := rec.paths(Moved); !slices.Equal(got, c.moved) {
			t.Errorf("%s: moved %v, want %v", c.strategy, got, c.moved)
		}
		if got := rec.paths(Copied); !slices.Equal(got, c.copied) {
			t.Errorf("%s: copied %v, want %v", c.strategy, got, c.copied)
		}
		if d := diffMaps(contents(t, dst, ""), map[string]string{"new/a.txt": "same1", "new/b.txt": "same2"}); d != "" {
			t.Errorf("%s: destination:\n%s", c.strategy, d)
		}
	}
	if _, err := ParseRenameStrategy("hash,size"); err == nil || !strings.Contains(err.Error(), `"size"`) {
		t.Errorf("ParseRenameStrategy(hash,size) = %v, want an error naming size", err)
	}
}
