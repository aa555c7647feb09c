package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestObscure(t *testing.T) {
	for _, s := range []string{"", "x", "correct horse battery staple", "ünïcødé", strings.Repeat("long", 100)} {
		a, err := Obscure(s)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Obscure(s)
		if a == b {
			t.Errorf("Obscure(%q) is deterministic", s)
		}
		if len(s) > 3 && strings.Contains(a, s) {
			t.Errorf("Obscure(%q) = %q contains it", s, a)
		}
		got, err := Reveal(a)
		if err != nil || got != s {
			t.Errorf("Reveal(Obscure(%q)) = %q, %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "short", "not base64 at all!!", "AAAA"} {
		if _, err := Reveal(bad); !errors.Is(err, ErrNotObscured) {
			t.Errorf("Reveal(%q): %v", bad, err)
		}
	}
}

func writeEncrypted(t *testing.T, password string) (path string, plain []byte) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "ferry.conf")
	f, _ := Load(path, nil)
	r, _ := f.Add("m")
	r.Set("type", "mega")
	r.Set("user", "alice@example.com")
	if err := f.SetPassword(password); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	return path, f.Bytes()
}

func pw(s string) func() (string, error) { return func() (string, error) { return s, nil } }

func TestEncrypted(t *testing.T) {
	path, plain := writeEncrypted(t, "hunter2")
	data, _ := os.ReadFile(path)
	if !bytes.HasPrefix(data, []byte(encryptedHeader+"\n")) {
		t.Fatalf("no header:\n%s", data)
	}
	if bytes.Contains(data, []byte("alice")) || bytes.Contains(data, []byte("mega")) {
		t.Errorf("encrypted file shows plain text:\n%s", data)
	}
	if _, err := Load(path, nil); !errors.Is(err, ErrPasswordRequired) {
		t.Errorf("no password: %v", err)
	}
	_, err := Load(path, pw("wrong"))
	if !errors.Is(err, ErrWrongPassword) || !strings.HasPrefix(err.Error(), path+": wrong configuration password") {
		t.Errorf("wrong password: %v", err)
	}
	f, err := Load(path, pw("hunter2"))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Encrypted() || !bytes.Equal(f.Bytes(), plain) {
		t.Errorf("decrypted:\n%s", f.Bytes())
	}
	// Saving again keeps it encrypted under the same password.
	f.Remote("m").Set("user", "bob")
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	g, err := Load(path, pw("hunter2"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := g.Remote("m").Get("user"); v != "bob" {
		t.Errorf("user %q", v)
	}
	// Removing the password stores plain text.
	g.SetPassword("")
	if err := g.Save(); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(path)
	if !bytes.HasPrefix(data, []byte("[m]")) {
		t.Errorf("not decrypted:\n%s", data)
	}
}

func TestEncryptedDamage(t *testing.T) {
	path, _ := writeEncrypted(t, "pw")
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	write := func(s string) { os.WriteFile(path, []byte(s), 0o600) }
	called := false
	count := func() (string, error) { called = true; return "pw", nil }

	// Truncated: the end line is missing.
	write(strings.Join(lines[:len(lines)-2], "\n") + "\n")
	_, err := Load(path, count)
	var pe *ParseError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated: %v", err)
	}
	if called {
		t.Errorf("password asked for a truncated file")
	}
	// A bad base64 line is named.
	bad := append([]string(nil), lines...)
	bad[2] = "!!!!" + bad[2][4:]
	write(strings.Join(bad, "\n") + "\n")
	if _, err := Load(path, count); err == nil || !strings.HasPrefix(err.Error(), path+":3: encrypted config: bad base64 line") {
		t.Errorf("bad base64: %v", err)
	}
	// A flipped byte fails authentication like a wrong password.
	flip := append([]string(nil), lines...)
	b := []byte(flip[1])
	if b[10] == 'A' {
		b[10] = 'B'
	} else {
		b[10] = 'A'
	}
	flip[1] = string(b)
	write(strings.Join(flip, "\n") + "\n")
	if _, err := Load(path, count); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("flipped: %v", err)
	}
}
