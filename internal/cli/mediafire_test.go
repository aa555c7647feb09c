package cli

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ferry/mediafire"
	"ferry/mediafireserver"
	"ferry/mediafireserver/mediafireservertest"
)

// mediafireCLI starts a loopback MediaFire stand-in with fresh cache and
// config dirs.
func mediafireCLI(t *testing.T, opts ...mediafireservertest.Option) *mediafireservertest.TestServer {
	t.Helper()
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	quiet := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	return mediafireservertest.Start(t, append([]mediafireservertest.Option{mediafireservertest.WithLogger(quiet)}, opts...)...)
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A mediafire remote made by the wizard works with copy, ls, check and
// a copy back; its password is stored obscured.
func TestMediaFireRemote(t *testing.T) {
	ts := mediafireCLI(t)
	// The wizard: new remote "mf", type mediafire, user, password (typed
	// twice... from a pipe it is one line), then the advanced step for
	// the url.
	script := strings.Join([]string{
		"n", "mf", "mediafire", mediafireservertest.User, "y", mediafireservertest.Password,
		"y", ts.URL, "", "", "", "", "y", "q",
	}, "\n") + "\n"
	code, out, errOut := runCLI(t, t.Context(), script, "config")
	if code != 0 {
		t.Fatalf("config: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "mediafire") {
		t.Errorf("the wizard does not offer mediafire:\n%s", out)
	}
	code, out, errOut = runCLI(t, t.Context(), "", "config", "show", "mf")
	if code != 0 || strings.Contains(out, mediafireservertest.Password) || !strings.Contains(out, "type = mediafire") {
		t.Fatalf("config show: exit %d\n%s\n%s", code, out, errOut)
	}

	src := t.TempDir()
	files := map[string]string{"a.txt": "alpha", "dir/b.txt": "bravo", " odd \\ name ?.txt": "charlie"}
	writeTree(t, src, files)
	if code, out, errOut := runCLI(t, t.Context(), "", "copy", src, "mf:backup"); code != 0 {
		t.Fatalf("copy: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, t.Context(), "", "ls", "mf:backup")
	if code != 0 {
		t.Fatalf("ls: exit %d\n%s", code, errOut)
	}
	for name := range files {
		if !strings.Contains(out, name) {
			t.Errorf("ls lacks %q:\n%s", name, out)
		}
	}
	if code, out, errOut := runCLI(t, t.Context(), "", "check", src, "mf:backup"); code != 0 {
		t.Errorf("check: exit %d\n%s\n%s", code, out, errOut)
	}
	// --checksum compares the local files' SHA-256 with MediaFire's
	// hashes: a same-size change with the old mtime is found.
	if code, out, errOut := runCLI(t, t.Context(), "", "check", "--checksum", src, "mf:backup"); code != 0 {
		t.Errorf("check --checksum: exit %d\n%s\n%s", code, out, errOut)
	}
	a := filepath.Join(src, "a.txt")
	st, _ := os.Stat(a)
	if err := os.WriteFile(a, []byte("ALPHA"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(a, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := runCLI(t, t.Context(), "", "check", src, "mf:backup"); code != 0 {
		t.Errorf("check by size and mtime: exit %d, want 0 (the change is invisible to it)", code)
	}
	code, out, errOut = runCLI(t, t.Context(), "", "check", "--checksum", src, "mf:backup")
	if code == 0 {
		t.Error("check --checksum missed a same-size change")
	}
	// The reason names what the MediaFire backend compared.
	if all := out + errOut; !strings.Contains(all, "content differs (MediaFire SHA-256)") || strings.Contains(all, "MEGA") {
		t.Errorf("check --checksum does not say it compared MediaFire's SHA-256:\n%s", all)
	}
	if err := os.WriteFile(a, []byte("alpha"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(a, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}

	back := t.TempDir()
	if code, out, errOut := runCLI(t, t.Context(), "", "copy", "mf:backup", back); code != 0 {
		t.Fatalf("copy back: exit %d\n%s\n%s", code, out, errOut)
	}
	for name, data := range files {
		got, err := os.ReadFile(filepath.Join(back, name))
		if err != nil || string(got) != data {
			t.Errorf("%s: %q, %v", name, got, err)
		}
		st1, _ := os.Stat(filepath.Join(src, name))
		st2, _ := os.Stat(filepath.Join(back, name))
		if st1 != nil && st2 != nil && !st1.ModTime().Equal(st2.ModTime()) {
			t.Errorf("%s: mtime %v, want %v", name, st2.ModTime(), st1.ModTime())
		}
	}
}

// duplicity's URL form works as a destination and a source, with the
// password from FTP_PASSWORD, and never shows the password.
func TestMediaFireDuplicityURL(t *testing.T) {
	ts := mediafireCLI(t)
	t.Setenv("FTP_PASSWORD", mediafireservertest.Password)
	url := "mf://" + strings.Replace(mediafireservertest.User, "@", "%40", 1) + "@mediafire.com/duplicity/host1"
	src := t.TempDir()
	writeTree(t, src, map[string]string{"duplicity-full.vol1.difftar.gpg": "volume one"})
	if code, out, errOut := runCLI(t, t.Context(), "", "copy", "--mediafire-url", ts.URL, src, url); code != 0 {
		t.Fatalf("copy to %s: exit %d\n%s\n%s", url, code, out, errOut)
	}
	code, out, errOut := runCLI(t, t.Context(), "", "ls", "--mediafire-url", ts.URL, url)
	if code != 0 || !strings.Contains(out, "duplicity-full.vol1.difftar.gpg") {
		t.Fatalf("ls %s: exit %d\n%s\n%s", url, code, out, errOut)
	}
	// With the password in the URL and a wrong one: the error hides it.
	bad := "mf://" + strings.Replace(mediafireservertest.User, "@", "%40", 1) + ":wrong-secret@mediafire.com/x"
	code, out, errOut = runCLI(t, t.Context(), "", "ls", "--mediafire-url", ts.URL, bad)
	if code == 0 || strings.Contains(out+errOut, "wrong-secret") {
		t.Errorf("wrong password: exit %d, output shows it or succeeds:\n%s%s", code, out, errOut)
	}
}

// dedupe finds and resolves files that share a name on MediaFire.
func TestMediaFireDedupe(t *testing.T) {
	ts := mediafireCLI(t)
	c, err := mediafire.New(mediafire.Options{BaseURL: ts.URL, Email: mediafireservertest.User, Password: mediafireservertest.Password})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := c.CreateFolder(t.Context(), "", "photos")
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range []string{"one", "two"} {
		if _, err := c.Upload(t.Context(), dir, "a.jpg", bytes.NewReader([]byte(data)), int64(len(data)), mediafire.UploadOptions{Keep: true}); err != nil {
			t.Fatal(err)
		}
	}
	// keep renames the second upload; give it the taken name.
	files, err := c.Files(t.Context(), dir)
	if err != nil || len(files) != 2 {
		t.Fatalf("files %v, %v", files, err)
	}
	for _, f := range files {
		if f.Filename != "a.jpg" {
			if err := c.UpdateFile(t.Context(), f.QuickKey, mediafire.FileUpdate{Name: "a.jpg"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	remote := []string{"--mediafire-user", mediafireservertest.User, "--mediafire-pass", mediafireservertest.Password, "--mediafire-url", ts.URL}
	code, out, errOut := runCLI(t, t.Context(), "", append(append([]string{"dedupe", "list"}, remote...), ":mediafire:photos")...)
	if code != 0 || !strings.Contains(errOut+out, "with duplicate names") {
		t.Fatalf("dedupe list: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, t.Context(), "", append(append([]string{"dedupe", "--dedupe-mode", "rename"}, remote...), ":mediafire:photos")...)
	if code != 0 {
		t.Fatalf("dedupe rename: exit %d\n%s%s", code, out, errOut)
	}
	files, err = c.Files(t.Context(), dir)
	if err != nil || len(files) != 2 || files[0].Filename == files[1].Filename {
		t.Errorf("after dedupe rename: %+v, %v", files, err)
	}
}

// A file larger than one simple upload goes up in resumable units and
// comes back intact through the built binary, by copy (the engine's
// reads) and by cat (the backend's reader written straight to stdout);
// a download whose bytes are wrong fails both, and cat does not print
// the file's last bytes.
func TestMediaFireLargeFileBinary(t *testing.T) {
	ts := mediafireCLI(t)
	env := append(binEnv(t), "FTP_PASSWORD="+mediafireservertest.Password)
	url := "mf://" + strings.Replace(mediafireservertest.User, "@", "%40", 1) + "@mediafire.com/large"
	const size = 9<<20 + 3
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>11)
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "big.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runBin(t, env, "copy", "--mediafire-url", ts.URL, src, url); code != 0 {
		t.Fatalf("copy up: exit %d\n%s\n%s", code, out, errOut)
	}
	if st := ts.Server.Stats(); st.UnitBytes != size {
		t.Errorf("the server received %d bytes in units, want %d", st.UnitBytes, size)
	}
	back := t.TempDir()
	if code, out, errOut := runBin(t, env, "copy", "--mediafire-url", ts.URL, url, back); code != 0 {
		t.Fatalf("copy back: exit %d\n%s\n%s", code, out, errOut)
	}
	if got, err := os.ReadFile(filepath.Join(back, "big.bin")); err != nil || !bytes.Equal(got, data) {
		t.Errorf("copy back: %d bytes (%v), equal %v", len(got), err, bytes.Equal(got, data))
	}
	code, out, errOut := runBin(t, env, "cat", "--mediafire-url", ts.URL, url)
	if code != 0 || out != string(data) {
		t.Fatalf("cat: exit %d, %d bytes, equal %v\n%s", code, len(out), out == string(data), errOut)
	}

	if err := ts.Server.SetFaults(mediafireserver.Faults{Rules: []mediafireserver.FaultRule{{Method: "dl", Kind: mediafireserver.FaultCorrupt, Count: 100}}}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runBin(t, env, "cat", "--mediafire-url", ts.URL, url)
	if code == 0 || len(out) >= size || !strings.Contains(errOut, "does not match the file's hash") {
		t.Errorf("cat of corrupt bytes: exit %d, %d of %d bytes printed\n%s", code, len(out), size, errOut)
	}
	back2 := t.TempDir()
	code, _, errOut = runBin(t, env, "copy", "--retries", "1", "--mediafire-url", ts.URL, url, back2)
	if code == 0 {
		t.Errorf("copy of corrupt bytes succeeded\n%s", errOut)
	}
	if got, err := os.ReadFile(filepath.Join(back2, "big.bin")); err == nil && !bytes.Equal(got, data) {
		t.Errorf("copy of corrupt bytes left a wrong file of %d bytes", len(got))
	}
}
