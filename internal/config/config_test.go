package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ferry/internal/backend"
)

const sample = `# ferry remotes
[photos]
type = mega
user = alice@example.com
; the password, obscured
pass = PASS

[disk]
type = local
description = "  spaced  "
`

func TestParse(t *testing.T) {
	f, err := Parse("ferry.conf", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Names(), ","); got != "photos,disk" {
		t.Errorf("names %q", got)
	}
	p := f.Remote("photos")
	if p.Type() != "mega" {
		t.Errorf("type %q", p.Type())
	}
	if v, _ := p.Get("user"); v != "alice@example.com" {
		t.Errorf("user %q", v)
	}
	if p.Line("pass") != 6 || p.Line("") != 2 {
		t.Errorf("lines: pass %d, header %d", p.Line("pass"), p.Line(""))
	}
	if v, _ := f.Remote("disk").Get("description"); v != "  spaced  " {
		t.Errorf("quoted value %q", v)
	}
	// Formatting keeps comments and reads back the same.
	out := f.Bytes()
	if !bytes.Contains(out, []byte("# ferry remotes\n[photos]")) || !bytes.Contains(out, []byte("; the password, obscured\npass = PASS")) {
		t.Errorf("comments lost:\n%s", out)
	}
	f2, err := Parse("again", out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f2.Bytes(), out) {
		t.Errorf("not stable:\n%s\n---\n%s", out, f2.Bytes())
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"no equals", "[a]\ntype = mega\nuser\n", `ferry.conf:3: expected "key = value"`},
		{"outside section", "# c\nuser = x\n", `ferry.conf:2: option "user" outside a [remote] section`},
		{"unterminated header", "[a\n", `ferry.conf:1: expected "[remote name]"`},
		{"bad name", "[a*b]\n", `ferry.conf:1: invalid remote name "a*b"`},
		{"empty name", "[ ]\n", `ferry.conf:1: empty remote name`},
		{"leading dash", "[-a]\n", `ferry.conf:1: invalid remote name "-a"`},
		{"duplicate remote", "[a]\ntype = x\n[a]\n", `ferry.conf:3: remote "a" defined twice (first on line 1)`},
		{"duplicate key", "[a]\nuser = x\nuser = y\n", `ferry.conf:3: option "user" repeated in [a] (first on line 2)`},
		{"bad key", "[a]\nus er = x\n", `ferry.conf:2: invalid option name "us er"`},
		{"empty key", "[a]\n= x\n", `ferry.conf:2: expected "key = value", got an empty key`},
		{"bad quote", "[a]\nuser = \"x\n", `ferry.conf:2: option "user": bad quoted value`},
		{"bad utf8", "[a]\nuser = \xff\n", `ferry.conf:2: invalid UTF-8`},
		{"crlf line numbers", "[a]\r\ntype = x\r\nbroken\r\n", `ferry.conf:3: expected "key = value"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("ferry.conf", []byte(tc.text))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err %v, want a *ParseError", err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err %q, want prefix %q", err, tc.want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	text := "\ufeff[a b.c+d@e_f-g]\r\n  type=mega  \n\n\nuser =\nx = a = b\n[ünï]\n"
	f, err := Parse("f", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	r := f.Remote("a b.c+d@e_f-g")
	if r == nil {
		t.Fatalf("names %q", f.Names())
	}
	if v, ok := r.Get("user"); !ok || v != "" {
		t.Errorf("empty value: %q %v", v, ok)
	}
	if v, _ := r.Get("x"); v != "a = b" {
		t.Errorf("value with '=': %q", v)
	}
	if f.Remote("ünï") == nil {
		t.Errorf("unicode name lost")
	}
}

func TestQuoteValue(t *testing.T) {
	for _, v := range []string{"", "plain", " lead", "trail ", `"quoted"`, "tab\there", "new\nline", "\x00", "ünï", "# not a comment", "\u0085x"} {
		f := &File{}
		r, _ := f.Add("r")
		if err := r.Set("k", v); err != nil {
			t.Fatal(err)
		}
		g, err := Parse("f", f.Bytes())
		if err != nil {
			t.Fatalf("%q: %v\n%s", v, err, f.Bytes())
		}
		if got, _ := g.Remote("r").Get("k"); got != v {
			t.Errorf("round trip %q -> %q", v, got)
		}
	}
}

func TestCheckName(t *testing.T) {
	good := []string{"a", "my remote", "a-b", "a_b", "a.b", "a+b", "a@b", "Ünï", "1"}
	bad := []string{"", " a", "a ", "-a", "a:b", "a/b", "a*b", ".", "..", "a\tb", "a\\b", "a[b]"}
	for _, n := range good {
		if err := CheckName(n); err != nil {
			t.Errorf("CheckName(%q): %v", n, err)
		}
	}
	for _, n := range bad {
		if err := CheckName(n); err == nil {
			t.Errorf("CheckName(%q) accepted", n)
		}
	}
}

func TestEditing(t *testing.T) {
	f, err := Parse("f", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Add("photos"); !errors.Is(err, ErrExists) {
		t.Errorf("Add existing: %v", err)
	}
	if err := f.Copy("photos", "photos2"); err != nil {
		t.Fatal(err)
	}
	if err := f.Rename("photos2", "disk"); !errors.Is(err, ErrExists) {
		t.Errorf("Rename onto existing: %v", err)
	}
	if err := f.Rename("photos2", "bad:name"); err == nil {
		t.Errorf("Rename to a bad name accepted")
	}
	if err := f.Rename("photos2", "p2"); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Remote("p2").Get("user"); v != "alice@example.com" {
		t.Errorf("copy lost user: %q", v)
	}
	f.Remote("p2").Set("user", "bob")
	if v, _ := f.Remote("photos").Get("user"); v != "alice@example.com" {
		t.Errorf("copy shares entries with its source: %q", v)
	}
	if !f.Delete("photos") || f.Delete("photos") {
		t.Errorf("Delete")
	}
	if got := strings.Join(f.Names(), ","); got != "disk,p2" {
		t.Errorf("names %q", got)
	}
	r := f.Remote("p2")
	if !r.Unset("pass") || r.Unset("pass") {
		t.Errorf("Unset")
	}
	if got := strings.Join(r.Keys(), ","); got != "type,user" {
		t.Errorf("keys %q", got)
	}
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "ferry.conf")
	f, err := Load(path, nil)
	if err != nil || f.Exists() {
		t.Fatalf("missing file: %v, exists %v", err, f.Exists())
	}
	r, _ := f.Add("m")
	r.Set("type", "mega")
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	if st, _ := os.Stat(filepath.Dir(path)); st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v", st.Mode())
	}
	// Saving again works (the file is the one we wrote).
	r.Set("user", "x")
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	g, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := g.Remote("m").Get("user"); v != "x" {
		t.Errorf("user %q", v)
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("dir has %d entries", len(ents))
	}
}

func TestSaveRefusesChangedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.conf")
	os.WriteFile(path, []byte("[a]\ntype = local\n"), 0o600)
	f, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	broken := []byte("[a]\ntype = local\ngarbage\n")
	os.WriteFile(path, broken, 0o600)
	f.Remote("a").Set("x", "y")
	if err := f.Save(); !errors.Is(err, ErrChanged) {
		t.Fatalf("Save over a changed file: %v", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, broken) {
		t.Errorf("file overwritten")
	}
	// A file created after loading a missing one is not replaced either.
	path2 := filepath.Join(t.TempDir(), "ferry.conf")
	f2, _ := Load(path2, nil)
	os.WriteFile(path2, []byte("[b]\n"), 0o600)
	if err := f2.Save(); !errors.Is(err, ErrChanged) {
		t.Errorf("Save over a new file: %v", err)
	}
}

func TestLoadCorruptIsNotOverwritable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.conf")
	os.WriteFile(path, []byte("[a]\ntype = mega\nuser alice\n"), 0o600)
	_, err := Load(path, nil)
	want := path + `:3: expected "key = value"`
	if err == nil || err.Error() != want {
		t.Fatalf("err %v, want %s", err, want)
	}
}

func TestSaveThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.conf")
	link := filepath.Join(dir, "ferry.conf")
	os.WriteFile(target, []byte("[a]\ntype = local\n"), 0o600)
	if err := os.Symlink(target, link); err != nil {
		t.Skip(err)
	}
	f, err := Load(link, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Remote("a").Set("k", "v")
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("symlink replaced by a file")
	}
	if got, _ := os.ReadFile(target); !bytes.Contains(got, []byte("k = v")) {
		t.Errorf("target not updated: %s", got)
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv(EnvConfig, "")
	t.Setenv("XDG_CONFIG_HOME", "/xdg")
	if got := DefaultPath(); got != "/xdg/ferry/ferry.conf" {
		t.Errorf("XDG: %s", got)
	}
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "/home/u")
	if got := DefaultPath(); got != "/home/u/.config/ferry/ferry.conf" {
		t.Errorf("HOME: %s", got)
	}
	t.Setenv(EnvConfig, "/etc/f.conf")
	if got := DefaultPath(); got != "/etc/f.conf" {
		t.Errorf("FERRY_CONFIG: %s", got)
	}
}

var testOptions = []backend.Option{
	{Name: "user", Required: true},
	{Name: "pass", Secret: true},
	{Name: "hard_delete", Bool: true, Default: "false"},
	{Name: "url", Default: "https://example.com"},
}

func TestCheckAndValues(t *testing.T) {
	ob, _ := Obscure("s3cret")
	text := "[m]\ntype = mega\nuser = a\npass = " + ob + "\nhard_delete = true\n"
	f, err := Parse("ferry.conf", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	r := f.Remote("m")
	if err := f.Check(r, testOptions); err != nil {
		t.Fatal(err)
	}
	m, err := r.Values(testOptions)
	if err != nil {
		t.Fatal(err)
	}
	want := backend.ConfigMap{"user": "a", "pass": "s3cret", "hard_delete": "true", "url": "https://example.com"}
	if len(m) != len(want) {
		t.Errorf("values %v", m)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}

	bad := []struct{ line, want string }{
		{"usr = a", `ferry.conf:3: remote "m": option "usr": unknown option for type mega`},
		{"hard_delete = maybe", `ferry.conf:3: remote "m": option "hard_delete": want true or false`},
		{"pass = plain text password", `ferry.conf:3: remote "m": option "pass": value is not obscured`},
	}
	for _, tc := range bad {
		f, err := Parse("ferry.conf", []byte("[m]\ntype = mega\n"+tc.line+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		err = f.Check(f.Remote("m"), testOptions)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %s", tc.line, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "plain text password") {
			t.Errorf("error reveals the secret: %v", err)
		}
	}
}

func TestSetValue(t *testing.T) {
	r := NewRemote("m")
	if err := r.SetValue(testOptions[1], "s3cret"); err != nil {
		t.Fatal(err)
	}
	stored, _ := r.Get("pass")
	if stored == "s3cret" || !IsObscured(stored) {
		t.Errorf("secret stored as %q", stored)
	}
	if err := r.SetValue(testOptions[2], "nope"); !errors.Is(err, ErrNotBool) {
		t.Errorf("bool: %v", err)
	}
	if err := r.SetValue(testOptions[1], ""); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Get("pass"); ok {
		t.Errorf("empty value did not unset")
	}
}
