package mount_test

import (
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
	"ferry/internal/mount"
	"ferry/internal/vfs"
)

// gitEnv makes git independent of the machine's configuration.
func gitEnv(t *testing.T) string {
	return "export HOME='" + t.TempDir() + "' GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=ferry GIT_AUTHOR_EMAIL=ferry@example.com " +
		"GIT_COMMITTER_NAME=ferry GIT_COMMITTER_EMAIL=ferry@example.com && "
}

// testGit: git init, two commits, git fsck --full and git log inside the
// mount; then the same checks through a fresh VFS and mount. Git writes
// objects with link(2) first and falls back to rename when the mount
// refuses the hard link; it probes symlinks at init. again gives the
// backend of the second mount (a fresh client where there is one);
// writeBack is the mounts' vfs.Options.WriteBack.
func testGit(t *testing.T, b backend.Backend, again func() backend.Backend, writeBack time.Duration, mo mount.Options) {
	skipWithout(t, "git")
	cache := t.TempDir()
	m := mountWith(t, b, vfs.Options{CacheDir: cache, WriteBack: writeBack}, mo)
	env := gitEnv(t)
	m.mustSh(t, env+"git init -q repo && cd repo && "+
		"printf 'one\\n' > a.txt && mkdir -p src/pkg && printf 'package pkg\\n' > src/pkg/p.go && "+
		"head -c 300000 /dev/urandom > blob.bin && git add . && git commit -qm first && "+
		"printf 'two\\n' >> a.txt && git mv src/pkg/p.go src/pkg/q.go && rm blob.bin && printf 'new\\n' > b.txt && "+
		"git add -A && git commit -qm second && git gc -q && git fsck --full --strict")
	check := func(m *mounted) {
		t.Helper()
		out := m.mustSh(t, env+"cd repo && git fsck --full --strict && git log --format=%s && git status --porcelain && cat a.txt && git show HEAD~1:a.txt && git ls-files")
		want := "second\nfirst\none\ntwo\none\na.txt\nb.txt\nsrc/pkg/q.go"
		if out != want {
			t.Fatalf("git log, status, files:\n%s\nwant\n%s", out, want)
		}
	}
	check(m)
	if got := m.mustSh(t, env+"cd repo && git config core.symlinks"); strings.TrimSpace(got) != "false" {
		t.Errorf("git found symlinks working: core.symlinks = %q", got)
	}
	m.unmount()
	check(mountWith(t, again(), vfs.Options{CacheDir: cache, WriteBack: writeBack}, mo))
}

func TestGitMemory(t *testing.T) {
	b := memory.New()
	testGit(t, b, func() backend.Backend { return b }, 0, mount.Options{}) // each close uploads
}

func TestGitMega(t *testing.T) {
	b, ts := newMega(t)
	testGit(t, b, func() backend.Backend { b2, _ := newMegaOn(t, ts); return b2 }, vfs.WriteBackNow, mount.Options{}) // as ferry mount
}

// TestGitMegaDirectIO: git through a --direct-io mount, where it maps
// its packs and index with the page cache kept out of reads and writes.
func TestGitMegaDirectIO(t *testing.T) {
	b, ts := newMega(t)
	testGit(t, b, func() backend.Backend { b2, _ := newMegaOn(t, ts); return b2 }, vfs.WriteBackNow, mount.Options{DirectIO: true})
}

// TestLinksRefused: hard links and symlinks are refused with a clear
// errno (git and cp fall back on it), never EIO or a hang.
func TestLinksRefused(t *testing.T) {
	m := mountT(t, memory.New())
	m.mustSh(t, "echo x > f")
	for _, c := range []string{"ln f hard", "ln -s f soft", "mknod fifo p"} {
		out, err := m.sh(t, c)
		if err == nil {
			t.Errorf("%s succeeded", c)
			continue
		}
		t.Logf("%s: %s", c, out)
		if !strings.Contains(out, "Operation not supported") && !strings.Contains(out, "Operation not permitted") {
			t.Errorf("%s: %q, want ENOTSUP or EPERM", c, out)
		}
	}
	if out := m.mustSh(t, "ls"); out != "f" {
		t.Errorf("after refused links the directory holds %q", out)
	}
}
