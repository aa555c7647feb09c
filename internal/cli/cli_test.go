package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/mega"
)

// runCLI runs ferry in-process and returns its exit code and output.
func runCLI(t *testing.T, ctx context.Context, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(ctx, args, Stdio{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func TestQuickstart(t *testing.T) {
	code, out, errOut := runCLI(t, t.Context(), "", "quickstart")
	if code != 0 {
		t.Fatalf("quickstart exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"8 files identical, mtimes preserved", "photos/big.raw", "ünïcødé & <odd>?.txt", "http://127.0.0.1:", "/file/", "1 login(s) on the server"} {
		if !strings.Contains(out, want) {
			t.Errorf("quickstart output lacks %q:\n%s", want, out)
		}
	}
}

// The quickstart on the MediaFire stand-in: the same commands on a
// mediafire remote, every byte and mtime back, a bounded number of logins
// (the backend keeps no session between commands: at most its pool of 2
// per command); with --source, the folder link MediaFire lacks is left out.
func TestQuickstartMediaFire(t *testing.T) {
	code, out, errOut := runCLI(t, t.Context(), "", "quickstart", "--backend", "mediafire")
	if code != 0 {
		t.Fatalf("quickstart exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"MediaFire stand-in", "type = mediafire", "8 files identical, mtimes preserved", "photos/big.raw",
		"ünïcødé & <odd>?.txt", "http://127.0.0.1:", "/file/", "9 commands"} {
		if !strings.Contains(out, want) {
			t.Errorf("quickstart output lacks %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`(\d+) login\(s\) on the server`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no login count in:\n%s", out)
	}
	if n, _ := strconv.Atoi(m[1]); n < 1 || n > 2*8 {
		t.Errorf("%d logins for 8 commands on the remote, want 1..16", n)
	}

	src := t.TempDir()
	writeTree(t, src, map[string]string{"a.txt": "alpha", "sub/b.txt": "bravo"})
	code, out, errOut = runCLI(t, t.Context(), "", "quickstart", "--backend", "mediafire", "--source", src)
	if code != 0 || !strings.Contains(out, "2 files identical, mtimes preserved") || strings.Contains(out, "$ ferry link") {
		t.Errorf("quickstart --source: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	if code, _, errOut := runCLI(t, t.Context(), "", "quickstart", "--backend", "dropbox"); code != exitUsage || !strings.Contains(errOut, `"dropbox"`) {
		t.Errorf("--backend dropbox: exit %d, %q; want %d naming it", code, errOut, exitUsage)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, t.Context(), "", "version")
	if code != 0 || !strings.HasPrefix(out, "ferry ") {
		t.Fatalf("version: exit %d, %q", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"unknown flag", []string{"version", "--nope"}, exitUsage, "unknown flag: --nope"},
		{"extra argument", []string{"version", "x"}, exitUsage, "needs 0 argument"},
		{"bad faults", []string{"serve", "mega", "--data", "DATA", "--faults", "eagain=2"}, exitUsage, "eagain"},
		{"bad fault key", []string{"serve", "mega", "--data", "DATA", "--faults", "bogus=1"}, exitUsage, "bogus"},
		{"bad hashcash", []string{"serve", "mega", "--data", "DATA", "--hashcash", "300"}, exitUsage, "--hashcash 300"},
		{"adduser not an email", []string{"serve", "mega", "adduser", "--data", "DATA", "alice"}, exitUsage, `"alice" is not an e-mail`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.ReplaceAll(a, "DATA", dir)
			}
			code, _, errOut := runCLI(t, t.Context(), "", args...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.wantCode, errOut)
			}
			if !strings.Contains(errOut, tc.wantErr) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("stderr %q, want one line containing %q", errOut, tc.wantErr)
			}
		})
	}
}

// syncBuffer is a goroutine-safe output sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeMegaAddUser creates accounts with adduser (password from the
// environment and from stdin), serves the directory, logs in with ferry's
// client, then stops the server by cancelling its context.
func TestServeMegaAddUser(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(envPassword, "s3cret pass")
	if code, out, errOut := runCLI(t, t.Context(), "", "serve", "mega", "adduser", "--data", dir, "Alice@Example.com"); code != 0 {
		t.Fatalf("adduser: exit %d: %s %s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, t.Context(), "", "serve", "mega", "adduser", "--data", dir, "alice@example.com"); code == 0 {
		t.Fatalf("duplicate adduser succeeded")
	} else if !strings.Contains(errOut, "alice@example.com") {
		t.Errorf("duplicate adduser error %q does not name the account", errOut)
	}
	t.Setenv(envPassword, "")
	if code, _, errOut := runCLI(t, t.Context(), "", "serve", "mega", "adduser", "--data", dir, "carol@example.com"); code != exitUsage {
		t.Errorf("empty $FERRY_PASSWORD: exit %d (%s)", code, errOut)
	}
	// Unset: the password is read from stdin.
	t.Setenv(envPassword, "x")
	if err := unsetenv(envPassword); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, t.Context(), "old school\n", "serve", "mega", "adduser", "--v1", "--data", dir, "bob@example.com"); code != 0 || !strings.Contains(out, "v1 account") {
		t.Fatalf("adduser --v1: exit %d: %s %s", code, out, errOut)
	}

	ctx, cancel := context.WithCancel(t.Context())
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "mega", "--listen", "127.0.0.1:0", "--data", dir}, Stdio{In: strings.NewReader(""), Out: out, Err: io.Discard})
	}()
	addr := waitFor(t, out, regexp.MustCompile(`MEGA API on (http://127\.0\.0\.1:\d+)`))
	for _, acct := range []struct{ email, password string }{{"alice@example.com", "s3cret pass"}, {"bob@example.com", "old school"}} {
		c := mega.New(mega.Options{APIURL: addr})
		if err := c.Login(t.Context(), acct.email, acct.password, mega.LoginOptions{}); err != nil {
			t.Errorf("login %s: %v", acct.email, err)
		}
	}
	c := mega.New(mega.Options{APIURL: addr})
	if err := c.Login(t.Context(), "alice@example.com", "wrong", mega.LoginOptions{}); err == nil {
		t.Errorf("login with a wrong password succeeded")
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exit %d after cancel", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after cancel")
	}
}

// waitFor waits until re matches out and returns the first submatch.
func waitFor(t *testing.T, out *syncBuffer, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				return m[1]
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no line matching %v in output:\n%s", re, out.String())
	return ""
}

func TestAppendPadded(t *testing.T) {
	for _, n := range []int64{0, 7, -1, 123456789, 1234567890, -98765432109, 1 << 62} {
		if got, want := string(appendPadded([]byte("x"), n, 9)), "x"+fmt.Sprintf("%9d", n); got != want {
			t.Errorf("appendPadded(%d) = %q, want %q", n, got, want)
		}
	}
}
