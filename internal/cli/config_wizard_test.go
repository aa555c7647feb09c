package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"ferry/internal/config"
	"ferry/megaserver/megaservertest"
)

// console drives a program over a pseudo-terminal, like expect(1).
type console struct {
	t    *testing.T
	ptmx *os.File // the terminal's master side: what a person types and sees
	tty  *os.File // the program's stdin, stdout and stderr
	out  *syncBuffer
	seen int // output consumed by expect so far
	done chan struct{}
}

func newConsole(t *testing.T) *console {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 50, Cols: 200}); err != nil {
		t.Fatal(err)
	}
	c := &console{t: t, ptmx: ptmx, tty: tty, out: &syncBuffer{}, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		io.Copy(c.out, ptmx) // ends when the tty side is closed
	}()
	t.Cleanup(func() {
		tty.Close()
		ptmx.Close()
		<-c.done
	})
	return c
}

// expect waits for s to appear in the output after what was already
// matched.
func (c *console) expect(s string) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out := c.out.String()
		if i := strings.Index(out[c.seen:], s); i >= 0 {
			c.seen += i + len(s)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.t.Fatalf("waiting for %q; output since the last match:\n%s", s, c.out.String()[c.seen:])
}

// send types a line.
func (c *console) send(line string) {
	c.t.Helper()
	if _, err := c.ptmx.Write([]byte(line + "\r")); err != nil {
		c.t.Fatal(err)
	}
}

// sendSecret waits until the program has turned echo off, then types a
// line, so a password is never echoed because the test typed too early.
func (c *console) sendSecret(line string) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tio, err := unix.IoctlGetTermios(int(c.tty.Fd()), unix.TCGETS)
		if err != nil {
			c.t.Fatal(err)
		}
		if tio.Lflag&unix.ECHO == 0 {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatal("echo was not turned off for a password")
		}
		time.Sleep(2 * time.Millisecond)
	}
	c.send(line)
}

// TestConfigWizardTerminal runs "ferry config" on a pseudo-terminal
// against a loopback MEGA server: a new mega remote, a wrong password
// (login fails, edit), the right one, then quit. Passwords are typed
// without echo and stored obscured.
func TestConfigWizardTerminal(t *testing.T) {
	path := configEnv(t)
	ts := megaservertest.Start(t)
	c := newConsole(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	code := make(chan int, 1)
	go func() { code <- Run(ctx, []string{"config"}, Stdio{In: c.tty, Out: c.tty, Err: c.tty}) }()

	c.expect("No remotes found, make a new one?")
	c.expect("n/s/q> ")
	c.send("n")
	c.expect("name> ")
	c.send("bad:name")
	c.expect(`character ':' not allowed`)
	c.expect("name> ")
	c.send("m")
	c.expect(" 3 / MEGA\r\n   \\ (mega)")
	c.expect("Storage> ")
	c.send("3")
	c.expect("Option user.\r\nE-mail address of the MEGA account.\r\nEnter a value.\r\n")
	c.expect("user> ")
	c.send("")
	c.expect("This value is required and it has no default.")
	c.expect("user> ")
	c.send(megaservertest.UserV2)
	c.expect("Option pass.")
	c.expect("y) Yes, type in my own password\r\ng) Generate random password\r\ny/g> ")
	c.send("y")
	c.expect("Enter the password:\r\npassword:")
	c.sendSecret("first try")
	c.expect("Confirm the password:\r\npassword:")
	c.sendSecret("first tyop")
	c.expect("Passwords do not match!")
	c.expect("password:")
	c.sendSecret("wrong password")
	c.expect("password:")
	c.sendSecret("wrong password")
	c.expect("Edit advanced config?\r\ny) Yes\r\nn) No (default)\r\ny/n> ")
	c.send("y")
	c.expect("Option url.")
	c.expect("url> ")
	c.send(ts.URL)
	c.expect("hard_delete> ")
	c.send("maybe")
	c.expect("Enter true or false.")
	c.expect("hard_delete> ")
	c.send("yes") // not a Go bool: asked again
	c.expect("hard_delete> ")
	c.send("true")
	c.expect("debug> ")
	c.send("")
	c.expect("Logging in to check the credentials...")
	c.expect("Login failed: ")
	c.expect("e) Edit this remote (default)\r\ny) Keep it anyway\r\nd) Delete this remote\r\ne/y/d> ")
	c.send("")
	c.expect("Press Enter to keep the current value (" + megaservertest.UserV2 + ")")
	c.expect("user> ")
	c.send("")
	c.expect("k) Keep the current password (default)")
	c.expect("k/y/g> ")
	c.send("y")
	c.expect("password:")
	c.sendSecret(megaservertest.PasswordV2)
	c.expect("password:")
	c.sendSecret(megaservertest.PasswordV2)
	c.expect("y/n> ")
	c.send("")
	c.expect("Logged in.")
	c.expect("Configuration complete.\r\nOptions:\r\n- type: mega\r\n- user: " + megaservertest.UserV2 + "\r\n- pass: *** ENCRYPTED ***\r\n")
	c.expect("Keep this \"m\" remote?\r\ny) Yes this is OK (default)\r\ne) Edit this remote\r\nd) Delete this remote\r\ny/e/d> ")
	c.send("y")
	c.expect("m                    mega")
	c.expect("e/n/d/r/c/s/q> ")
	c.send("q")
	select {
	case got := <-code:
		if got != 0 {
			t.Fatalf("exit %d\n%s", got, c.out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("config did not exit\n%s", c.out.String())
	}
	out := c.out.String()
	for _, secret := range []string{megaservertest.PasswordV2, "wrong password", "first try"} {
		if strings.Contains(out, secret) {
			t.Errorf("the terminal echoed %q:\n%s", secret, out)
		}
	}
	text := readFile(t, path)
	if strings.Contains(text, megaservertest.PasswordV2) {
		t.Fatalf("password stored in plain text:\n%s", text)
	}
	f, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := f.Remote("m")
	if r == nil {
		t.Fatalf("no remote m:\n%s", text)
	}
	want := map[string]string{"type": "mega", "user": megaservertest.UserV2, "url": ts.URL, "hard_delete": "true"}
	for k, v := range want {
		if got, _ := r.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if _, ok := r.Get("debug"); ok {
		t.Errorf("default debug stored")
	}
	stored, _ := r.Get("pass")
	if pw, err := config.Reveal(stored); err != nil || pw != megaservertest.PasswordV2 {
		t.Errorf("pass reveals to %q, %v", pw, err)
	}
	// The login seeded the session cache.
	if ents, err := os.ReadDir(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "ferry", "m")); err != nil || len(ents) == 0 {
		t.Errorf("no session cache: %v", err)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("transcript:\n%s", strings.ReplaceAll(out, "\r\n", "\n"))
	}
}

// TestConfigWizardPipe drives the menu from a pipe (as a script would):
// new memory remotes, edit, copy, rename, delete, and the configuration
// password, then checks the file.
func TestConfigWizardPipe(t *testing.T) {
	path := configEnv(t)
	script := strings.Join([]string{
		"n", "a", "memory", "st1", "y", // new remote a (memory, store=st1), keep
		"n", "b", "2", "", "d", // new remote b, then delete it before saving
		"c", "a", "a", "a2", // copy a -> a2 ("a" is taken: asked again)
		"r", "2", "z", // rename a2 -> z
		"e", "z", "st2", "y", // edit z: store=st2
		"d", "a", // delete a
		"s", "a", "pw1", // set the configuration password (from a pipe: one line)
		"q", // quit the password menu
		"x", // not a menu letter
		"q",
	}, "\n") + "\n"
	code, out, errOut := runCLI(t, t.Context(), script, "config")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"No remotes found, make a new one?",
		"Option store.\nName of an in-process store",
		"Keep this \"a\" remote?",
		"Remote \"a\" already exists.",
		"Enter name for copy of \"a\" remote.",
		"Enter new name for \"a2\" remote.",
		"Editing existing \"z\" remote with options:\n- type: memory\n- store: st1\n",
		"Press Enter to keep the current value (st1).",
		"Your configuration is not encrypted.",
		"Password set",
		"Your configuration is encrypted.\nc) Change Password",
		"This value must be one of the following characters: e, n, d, r, c, s, q.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
	if _, err := config.Load(path, nil); !errors.Is(err, config.ErrPasswordRequired) {
		t.Fatalf("file not encrypted: %v", err)
	}
	f, err := config.Load(path, func() (string, error) { return "pw1", nil })
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Names(), ","); got != "z" {
		t.Errorf("remotes %q", got)
	}
	if v, _ := f.Remote("z").Get("store"); v != "st2" {
		t.Errorf("store %q", v)
	}

	// An answer missing at the end of input is an error, not a loop.
	configEnv(t)
	code, _, errOut = runCLI(t, t.Context(), "n\n", "config")
	if code == 0 || !strings.Contains(errOut, "unexpected end of input") {
		t.Errorf("EOF: exit %d %q", code, errOut)
	}
}

// TestConfigPasswordTerminal asks for the configuration password of an
// encrypted file on the terminal, without echo, and again after a wrong
// one.
func TestConfigPasswordTerminal(t *testing.T) {
	configEnv(t)
	mustRun(t, "", "config", "create", "mem", "memory", "store=s")
	mustRun(t, "correct config password\n", "config", "password")
	c := newConsole(t)
	code := make(chan int, 1)
	go func() {
		code <- Run(t.Context(), []string{"config", "show", "mem"}, Stdio{In: c.tty, Out: c.tty, Err: c.tty})
	}()
	c.expect("Enter configuration password:\r\npassword: ")
	c.sendSecret("not the password")
	c.expect("Wrong password, try again.")
	c.expect("password: ")
	c.sendSecret("correct config password")
	c.expect("[mem]\r\ntype = memory\r\nstore = s\r\n")
	if got := <-code; got != 0 {
		t.Fatalf("exit %d\n%s", got, c.out.String())
	}
	if out := c.out.String(); strings.Contains(out, "config password") || strings.Contains(out, "not the password") {
		t.Errorf("password echoed:\n%s", out)
	}
}
