package mega

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/backendtest"
	"ferry/megaserver/megaservertest"
)

// linkPair is the backend the conformance suite runs on for links: every
// read goes through a LinkBackend on a folder link (no account), every
// write through the owner's MEGA backend rooted at the linked folder,
// after which the link's tree is fetched again. So the suite's content,
// made by ferry (which sends `cr` for nodes created under the share), is
// read back through the link: listings, names, sizes, mtimes, whole
// (MAC-verified) and ranged reads, duplicates, corrupt blobs.
type linkPair struct {
	*LinkBackend
	owner *Backend
}

func (p *linkPair) refresh(ctx context.Context, err error) error {
	if rerr := p.fl.Refresh(context.WithoutCancel(ctx)); rerr != nil && err == nil {
		return rerr
	}
	return err
}

func (p *linkPair) Put(ctx context.Context, path string, r io.Reader, size int64, mt time.Time) (backend.Entry, error) {
	e, err := p.owner.Put(ctx, path, r, size, mt)
	return e, p.refresh(ctx, err)
}

func (p *linkPair) Mkdir(ctx context.Context, dir string) error {
	return p.refresh(ctx, p.owner.Mkdir(ctx, dir))
}

func (p *linkPair) Rmdir(ctx context.Context, dir string) error {
	return p.refresh(ctx, p.owner.Rmdir(ctx, dir))
}

func (p *linkPair) Remove(ctx context.Context, path string) error {
	return p.refresh(ctx, p.owner.Remove(ctx, path))
}

func (p *linkPair) RemoveEntry(ctx context.Context, e backend.Entry) error {
	return p.refresh(ctx, p.owner.RemoveEntry(ctx, e))
}

func (p *linkPair) RenameEntry(ctx context.Context, e backend.Entry, name string) (backend.Entry, error) {
	out, err := p.owner.RenameEntry(ctx, e, name)
	return out, p.refresh(ctx, err)
}

// newLinkPair makes a folder root on ts, links it, and opens the link.
func newLinkPair(t *testing.T, ts *megaservertest.TestServer, cacheDir, root string) *linkPair {
	owner, err := newBackend(testRemote, testConfig(ts), root, backend.Env{CacheDir: cacheDir, Logger: slog0(t)}, fastRetries)
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.connect(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Close() })
	if err := owner.Mkdir(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	link, err := owner.PublicLink(t.Context(), "", false)
	if err != nil {
		t.Fatal(err)
	}
	lb, p, err := openLink(t.Context(), link, nil, backend.Env{Logger: slog0(t)}, fastRetries)
	if err != nil {
		t.Fatalf("OpenLink(%s): %v", link, err)
	}
	if p != "" {
		t.Fatalf("OpenLink of a folder link: path %q, want the root", p)
	}
	return &linkPair{LinkBackend: lb, owner: owner}
}

// TestLinkConformance runs the suite's read checks on a folder link.
// Needs the server's folder-link context (`n=`) and `cr` on `p`.
func TestLinkConformance(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithLogger(slog0(t)))
	cacheDir := t.TempDir()
	var n atomic.Int64
	const writes = "links are read-only: the check is of writes, which the owner's backend makes here (see TestConformance)"
	unsupported := map[string]string{}
	for _, c := range []string{"MkdirIdempotent", "RmdirNonEmptyFails", "RemoveDirFails", "KindConflicts",
		"Move", "Purge", "PublicLink", "About", "CleanUp", "SetModTime", "ConcurrentPuts",
		"CancelPutLeavesNothing", "CancelledContextNoMutation", "ShortReaderPutFails", "PutSourceEnd",
		"ErrorsArePathErrors"} {
		unsupported[c] = writes
	}
	backendtest.Run(t, backendtest.Config{
		New: func(t *testing.T) backend.Backend {
			return newLinkPair(t, ts, cacheDir, fmt.Sprintf("links/%d", n.Add(1)))
		},
		Quick:       true,
		Unsupported: unsupported,
		MakeDuplicate: func(t *testing.T, b backend.Backend, p string) {
			lp := b.(*linkPair)
			makeDuplicate(t, lp.owner, p)
			if err := lp.fl.Refresh(t.Context()); err != nil {
				t.Fatal(err)
			}
		},
		Corrupt: func(t *testing.T, b backend.Backend, p string) {
			e, err := b.Stat(t.Context(), p)
			if err != nil {
				t.Fatalf("Corrupt: %v", err)
			}
			ts.FlipByte(t, e.Size, 1<<20)
		},
	})
}

// TestLinkReadOnly: every write to a link fails with a *backend.PathError
// wrapping ErrReadOnly and fs.ErrPermission, and changes nothing.
func TestLinkReadOnly(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithLogger(slog0(t)))
	lp := newLinkPair(t, ts, t.TempDir(), "ro")
	if _, err := lp.owner.Put(t.Context(), "f", strings.NewReader("x"), 1, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := lp.fl.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	b := lp.LinkBackend
	ctx := t.Context()
	e, err := b.Stat(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	for op, err := range map[string]error{
		"put":         func() error { _, err := b.Put(ctx, "g", strings.NewReader("y"), 1, time.Now()); return err }(),
		"mkdir":       b.Mkdir(ctx, "d"),
		"rmdir":       b.Rmdir(ctx, "d"),
		"remove":      b.Remove(ctx, "f"),
		"removeentry": b.RemoveEntry(ctx, e),
		"renameentry": func() error { _, err := b.RenameEntry(ctx, e, "h"); return err }(),
	} {
		var pe *backend.PathError
		if !errors.Is(err, ErrReadOnly) || !errors.Is(err, fs.ErrPermission) || !errors.As(err, &pe) {
			t.Errorf("%s on a link: %v, want a PathError wrapping ErrReadOnly", op, err)
		}
	}
	if ents, err := b.List(ctx, ""); err != nil || len(ents) != 1 || ents[0].Path != "f" {
		t.Errorf("after refused writes: %v, %v", ents, err)
	}
}

func TestSplitLink(t *testing.T) {
	for in, want := range map[string][2]string{
		"https://mega.nz/folder/AbCdEf12#key":             {"https://mega.nz/folder/AbCdEf12#key", ""},
		"https://mega.nz/folder/AbCdEf12#key:a/b":         {"https://mega.nz/folder/AbCdEf12#key", "a/b"},
		"http://127.0.0.1:9/folder/AbCdEf12#key:x:y":      {"http://127.0.0.1:9/folder/AbCdEf12#key", "x:y"},
		"https://mega.nz/#F!AbCdEf12!key!ZZZZZZZZ:sub":    {"https://mega.nz/#F!AbCdEf12!key!ZZZZZZZZ", "sub"},
		"https://mega.nz/folder/AbCdEf12#k/file/ZZZZZZZZ": {"https://mega.nz/folder/AbCdEf12#k/file/ZZZZZZZZ", ""},
	} {
		if l, p := SplitLink(in); l != want[0] || p != want[1] {
			t.Errorf("SplitLink(%q) = %q, %q; want %q", in, l, p, want)
		}
	}
	for in, want := range map[string]bool{
		"https://mega.nz/anything":         true,
		"https://www.mega.co.nz/#!x!y":     true,
		"http://127.0.0.1:9/folder/x#y":    true,
		"http://example.org/#F!x!y":        true,
		"https://example.org/photos":       false,
		"m:photos":                         false,
		"/tmp/https://mega.nz/file/x":      false,
		"notmega.nz.example.com:/file/x#y": false,
	} {
		if got := IsLink(in); got != want {
			t.Errorf("IsLink(%q) = %v, want %v", in, got, want)
		}
	}
}
