package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gomega "github.com/t3rm1n4l/go-mega"

	"ferry/megaserver/megaservertest"
)

// linkRE is a link as `ferry link` prints it for a local server.
var linkRE = regexp.MustCompile(`^http://127\.0\.0\.1:\d+/(file|folder)/[A-Za-z0-9_-]{8}#[A-Za-z0-9_-]+$`)

// makeTree writes files (relative path -> content) under a new directory.
func makeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// noConfig points ferry at fresh, empty config and cache directories: a
// link needs neither.
func noConfig(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
}

// TestFileLinkNoConfig: a file link printed by `ferry link` opens with
// no config and no account, by the printed host alone or by --mega-url:
// cat, copyto, copy and the listings. Writes to it are refused.
func TestFileLinkNoConfig(t *testing.T) {
	srv, remote := megaCLI(t)
	src := makeTree(t, map[string]string{"doc.txt": strings.Repeat("file link ", 5000)})
	run := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, t.Context(), "", args...)
		if code != 0 {
			t.Fatalf("ferry %v: exit %d\n%s", args, code, errOut)
		}
		return out
	}
	run(append([]string{"copy", src, ":mega:pub"}, remote...)...)
	link := strings.TrimSpace(run(append([]string{"link", ":mega:pub/doc.txt"}, remote...)...))
	if !linkRE.MatchString(link) || !strings.HasPrefix(link, srv.URL+"/file/") {
		t.Fatalf("ferry link printed %q, want %s/file/<handle>#<key>", link, srv.URL)
	}
	noConfig(t)
	want, _ := os.ReadFile(filepath.Join(src, "doc.txt"))
	if got := run("cat", link); got != string(want) {
		t.Errorf("cat of the link: %d bytes, want %d", len(got), len(want))
	}
	if got := run("cat", link, "--mega-url", srv.URL); got != string(want) {
		t.Errorf("cat --mega-url of the link: %d bytes", len(got))
	}
	if out := run("ls", link); !strings.Contains(out, "50000 doc.txt") {
		t.Errorf("ls of the link: %q", out)
	}
	dst := t.TempDir()
	run("copyto", link, filepath.Join(dst, "renamed.txt"))
	run("copy", link, filepath.Join(dst, "dir"))
	for _, p := range []string{"renamed.txt", "dir/doc.txt"} {
		if got, err := os.ReadFile(filepath.Join(dst, p)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %v (equal %v)", p, err, bytes.Equal(got, want))
		}
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "ferry")); err == nil {
		t.Errorf("opening a link created a config directory")
	}
}

// TestLinkWritesRefused: every command that writes refuses a link as its
// target with one line saying links are read-only, exit 1, before any
// network request.
func TestLinkWritesRefused(t *testing.T) {
	noConfig(t)
	const link = "https://mega.nz/folder/AbCdEf12#CQkJCQkJCQkJCQkJCQkJCQ"
	local := t.TempDir()
	for _, args := range [][]string{
		{"copy", local, link},
		{"copy", local, link + ":sub"},
		{"sync", local, link},
		{"copyto", filepath.Join(local, "x"), link + ":x"},
		{"move", link, local},
		{"moveto", link + ":a", filepath.Join(local, "a")},
		{"mkdir", link + ":new"},
		{"rmdir", link + ":sub"},
		{"rmdirs", link},
		{"delete", link},
		{"deletefile", link + ":a"},
		{"purge", link + ":sub"},
		{"rcat", link + ":a"},
		{"dedupe", "newest", link},
		{"link", link},
		{"cleanup", link},
	} {
		code, _, errOut := runCLI(t, t.Context(), "", args...)
		if code != exitUsage || !strings.Contains(errOut, "links are read-only") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("ferry %v: exit %d, %q; want exit %d and one line saying links are read-only", args[:1], code, errOut, exitUsage)
		}
		if strings.Contains(errOut, "CQkJCQkJCQkJCQkJCQkJCQ") {
			t.Errorf("ferry %v: the error shows the link's key: %q", args[:1], errOut)
		}
	}
}

// TestMalformedLinks: a malformed link is a usage error naming what is
// wrong, without its key.
func TestMalformedLinks(t *testing.T) {
	noConfig(t)
	for arg, want := range map[string]string{
		"https://mega.nz/file/AbCdEf12":                                   "no key",
		"https://mega.nz/folder/AbCdEf12#CQkJ":                            "key of 3 bytes, want 16",
		"https://mega.nz/#F!AbCdEf12":                                     "want #F!<handle>!<key>",
		"https://mega.nz/folder/AbC#CQkJCQkJCQkJCQkJCQkJCQ":               "public handle",
		"https://mega.nz/folder/AbCdEf12#CQkJCQkJCQkJCQkJCQkJCQ/file/xyz": "node handle",
	} {
		code, _, errOut := runCLI(t, t.Context(), "", "ls", arg)
		if code != exitUsage || !strings.Contains(errOut, want) {
			t.Errorf("ls %q: exit %d, %q; want exit %d saying %q", arg, code, errOut, exitUsage, want)
		}
	}
}

// TestFolderLinkNoConfig: a folder link made by `ferry link` on the local
// server is listed (every listing, and a path inside it after ":") and
// downloaded byte-identical with no config at all; a file uploaded into
// the folder after the link was made opens from it too (ferry sends
// `cr`); `link --unlink` closes it. Needs the server's folder-link
// context (`n=`).
func TestFolderLinkNoConfig(t *testing.T) {
	srv, remote := megaCLI(t)
	files := map[string]string{
		"a.txt":           "alpha",
		"sub/b.bin":       strings.Repeat("b", 300000),
		"sub/deep/c.txt":  "gamma",
		"ünï & <odd>.txt": "odd",
	}
	src := makeTree(t, files)
	run := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, t.Context(), "", args...)
		if code != 0 {
			t.Fatalf("ferry %v: exit %d\n%s", args, code, errOut)
		}
		return out
	}
	run(append([]string{"copy", src, ":mega:shared"}, remote...)...)
	link := strings.TrimSpace(run(append([]string{"link", ":mega:shared"}, remote...)...))
	if !linkRE.MatchString(link) || !strings.HasPrefix(link, srv.URL+"/folder/") {
		t.Fatalf("ferry link printed %q, want %s/folder/<handle>#<key>", link, srv.URL)
	}
	late := makeTree(t, map[string]string{"late.txt": "added after the link"})
	run(append([]string{"copy", late, ":mega:shared/sub"}, remote...)...)
	files["sub/late.txt"] = "added after the link"

	noConfig(t)
	mu := []string{"--mega-url", srv.URL}
	if out := run(append([]string{"ls", link}, mu...)...); !strings.Contains(out, "300000 sub/b.bin") || !strings.Contains(out, "sub/late.txt") {
		t.Errorf("ls of the folder link:\n%s", out)
	}
	if out := run("lsf", link); out != "a.txt\nsub/\nünï & <odd>.txt\n" {
		t.Errorf("lsf of the folder link:\n%q", out)
	}
	if out := run("lsf", link+":sub"); out != "b.bin\ndeep/\nlate.txt\n" {
		t.Errorf("lsf of link:sub:\n%q", out)
	}
	for _, cmd := range []string{"lsl", "lsjson", "tree", "size", "lsd"} {
		if out := run(cmd, link); out == "" {
			t.Errorf("%s of the folder link printed nothing", cmd)
		}
	}
	if out := run("cat", link+":sub/deep/c.txt"); out != "gamma" {
		t.Errorf("cat link:sub/deep/c.txt = %q", out)
	}
	if out := run("cat", link+":sub/late.txt"); out != "added after the link" {
		t.Errorf("cat of a file added after the link = %q", out)
	}
	out := filepath.Join(t.TempDir(), "out")
	run(append([]string{"copy", link, out}, mu...)...)
	got := map[string]string{}
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(out, p)
			got[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	if len(got) != len(files) {
		t.Errorf("copied %d files, want %d: %v", len(got), len(files), listDir(t, out))
	}
	for p, want := range files {
		if got[p] != want {
			t.Errorf("%s: %d bytes, want %d", p, len(got[p]), len(want))
		}
	}

	// --unlink removes the link (and the share): the link opens nothing.
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	run(append([]string{"link", "--unlink", ":mega:shared"}, remote...)...)
	code, _, errOut := runCLI(t, t.Context(), "", "ls", link)
	if code == 0 || !strings.Contains(errOut, "link not found") {
		t.Errorf("ls of a removed link: exit %d, %q", code, errOut)
	}
}

// TestGoMegaFileLink: a file link made by go-mega (the legacy
// https://mega.co.nz/#!<handle>!<key> form) opens in ferry against the
// server named by --mega-url or $X_MEGA_API_URL, MAC-verified: cat and
// copyto give the bytes, and after the blob is corrupted both fail with
// the MAC error (exit 7) and copyto leaves nothing.
func TestGoMegaFileLink(t *testing.T) {
	srv, remote := megaCLI(t)
	const size = 1_234_567
	data := bytes.Repeat([]byte("go-mega link "), size/13+1)[:size]
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "gm.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, t.Context(), "", append([]string{"copy", src, ":mega:gm"}, remote...)...); code != 0 {
		t.Fatalf("upload: exit %d\n%s", code, errOut)
	}
	gm := gomega.New()
	gm.SetLogger(nil)
	gm.SetAPIUrl(srv.URL)
	if err := gm.Login(megaservertest.UserV2, megaservertest.PasswordV2); err != nil {
		t.Fatalf("go-mega Login: %v", err)
	}
	ns, err := gm.FS.PathLookup(gm.FS.GetRoot(), []string{"gm", "gm.bin"})
	if err != nil || len(ns) != 2 {
		t.Fatalf("go-mega PathLookup: %v", err)
	}
	link, err := gm.Link(ns[1], true)
	if err != nil || !strings.HasPrefix(link, "https://mega.co.nz/#!") {
		t.Fatalf("go-mega Link = %q, %v", link, err)
	}

	noConfig(t)
	code, out, errOut := runCLI(t, t.Context(), "", "cat", link, "--mega-url", srv.URL)
	if code != 0 || out != string(data) {
		t.Fatalf("cat of go-mega's link: exit %d, %d bytes\n%s", code, len(out), errOut)
	}
	t.Setenv("X_MEGA_API_URL", srv.URL)
	dst := filepath.Join(t.TempDir(), "copy.bin")
	if code, _, errOut := runCLI(t, t.Context(), "", "copyto", link, dst); code != 0 {
		t.Fatalf("copyto of go-mega's link with $X_MEGA_API_URL: exit %d\n%s", code, errOut)
	}
	if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
		t.Errorf("copyto: %v (equal %v)", err, bytes.Equal(got, data))
	}

	srv.FlipByte(t, size, 1000)
	if code, out, errOut := runCLI(t, t.Context(), "", "cat", link); code != exitFatal || !strings.Contains(errOut, "MAC") || len(out) >= size {
		t.Errorf("cat of a corrupt link: exit %d, %d bytes, %q; want exit %d, a MAC error and not the whole file", code, len(out), errOut, exitFatal)
	}
	bad := filepath.Join(t.TempDir(), "bad.bin")
	if code, _, errOut := runCLI(t, t.Context(), "", "copyto", link, bad); code != exitFatal || !strings.Contains(errOut, "MAC") {
		t.Errorf("copyto of a corrupt link: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Errorf("copyto of a corrupt link left %s", bad)
	}
}

// TestLinkExpire: `link --expire` sends the expiry; the link works until
// then and not after (the local server enforces `ets`). Bad durations are
// usage errors.
func TestLinkExpire(t *testing.T) {
	_, remote := megaCLI(t)
	src := makeTree(t, map[string]string{"soon.txt": "gone soon"})
	if code, _, errOut := runCLI(t, t.Context(), "", append([]string{"copy", src, ":mega:exp"}, remote...)...); code != 0 {
		t.Fatalf("upload: exit %d\n%s", code, errOut)
	}
	for _, bad := range []string{"0s", "-1h", "soon", "1x"} {
		if code, _, errOut := runCLI(t, t.Context(), "", append([]string{"link", "--expire", bad, ":mega:exp/soon.txt"}, remote...)...); code != exitUsage {
			t.Errorf("link --expire %s: exit %d, want %d\n%s", bad, code, exitUsage, errOut)
		}
	}
	code, out, errOut := runCLI(t, t.Context(), "", append([]string{"link", "--expire", "2s", ":mega:exp/soon.txt"}, remote...)...)
	if code != 0 {
		t.Fatalf("link --expire 2s: exit %d\n%s", code, errOut)
	}
	link := strings.TrimSpace(out)
	if code, out, errOut := runCLI(t, t.Context(), "", "cat", link); code != 0 || out != "gone soon" {
		t.Fatalf("cat before expiry: exit %d %q\n%s", code, out, errOut)
	}
	time.Sleep(3 * time.Second)
	if code, _, errOut := runCLI(t, t.Context(), "", "cat", link); code != exitNotFound || !strings.Contains(errOut, "link not found") {
		t.Errorf("cat after expiry: exit %d, %q; want %d, link not found", code, errOut, exitNotFound)
	}
}

func TestParseExpire(t *testing.T) {
	for in, want := range map[string]time.Duration{"90m": 90 * time.Minute, "7d": 7 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "1h30m": 90 * time.Minute} {
		if got, err := parseExpire(in); err != nil || got != want {
			t.Errorf("parseExpire(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}
