package cli

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"ferry/internal/config"
	"ferry/megaserver/megaservertest"
)

// deadURL returns the URL of a loopback port nothing listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// storedPass returns the pass option of remote name in the config file.
func storedPass(t *testing.T, path, name string) (string, bool) {
	t.Helper()
	f, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := f.Remote(name)
	if r == nil {
		return "", false
	}
	v, _ := r.Get("pass")
	return v, true
}

// TestConfigCreateTraps (issue 13, item 9), on the built binary:
// config create obscures a password that looks obscured (no guessing)
// unless --no-obscure says it is; it logs in before saving, and a
// remote that fails the check is not saved (--no-check saves it); an
// absent server gets "retrying..." lines and a hint naming the url, and
// so does a command on a saved remote whose server is not running.
func TestConfigCreateTraps(t *testing.T) {
	env := binEnv(t)
	conf := strings.TrimPrefix(env[0], "FERRY_CONFIG=")
	srv := megaservertest.Start(t, megaservertest.WithLogger(quietLogger(t)))

	// A long alphanumeric password decodes as base64: it used to be
	// stored as if it were obscured, that is in plain text.
	long := "Tr0ub4dorAndCorrectHorseBatteryStaple2026xyz"
	if code, _, errOut := runBin(t, env, "config", "create", "--no-check", "p", "mega", "user=a@example.com", "pass="+long); code != 0 {
		t.Fatalf("config create: exit %d\n%s", code, errOut)
	}
	v, _ := storedPass(t, conf, "p")
	if pw, err := config.Reveal(v); v == long || err != nil || pw != long {
		t.Errorf("stored %q (reveals %q, %v); want %q obscured", v, pw, err, long)
	}
	if b, _ := os.ReadFile(conf); strings.Contains(string(b), long) {
		t.Errorf("the password is in the file in plain text:\n%s", b)
	}
	// --no-obscure: the value is stored as given, if it is obscured.
	if code, _, errOut := runBin(t, env, "config", "create", "--no-check", "--no-obscure", "p2", "mega", "user=a@example.com", "pass="+v); code != 0 {
		t.Fatalf("config create --no-obscure: exit %d\n%s", code, errOut)
	}
	if v2, _ := storedPass(t, conf, "p2"); v2 != v {
		t.Errorf("--no-obscure stored %q, want %q", v2, v)
	}

	// The credentials check: the right password is saved, the wrong one
	// is not, --no-check saves it anyway.
	code, out, errOut := runBin(t, env, "config", "create", "good", "mega", "user="+megaservertest.UserV2, "pass="+megaservertest.PasswordV2, "url="+srv.URL)
	if _, saved := storedPass(t, conf, "good"); code != 0 || !saved || !strings.Contains(out, "[good]") {
		t.Fatalf("config create good: exit %d, saved %v\n%s%s", code, saved, out, errOut)
	}
	code, _, errOut = runBin(t, env, "config", "create", "bad", "mega", "user="+megaservertest.UserV2, "pass=wrong password", "url="+srv.URL)
	if _, saved := storedPass(t, conf, "bad"); code == 0 || saved || !strings.Contains(errOut, `remote "bad" not saved`) || !strings.Contains(errOut, "--no-check") {
		t.Errorf("config create with a wrong password: exit %d, saved %v\n%s", code, saved, errOut)
	}
	if code, _, errOut := runBin(t, env, "config", "create", "--no-check", "bad", "mega", "user="+megaservertest.UserV2, "pass=wrong password", "url="+srv.URL); code != 0 {
		t.Errorf("config create --no-check: exit %d\n%s", code, errOut)
	}
	// The session of the check is the next command's: no second login.
	logins := srv.Server.Logins(megaservertest.UserV2)
	if code, _, errOut := runBin(t, env, "lsd", "good:"); code != 0 || srv.Server.Logins(megaservertest.UserV2) != logins {
		t.Errorf("lsd after create: exit %d, logins %d -> %d\n%s", code, logins, srv.Server.Logins(megaservertest.UserV2), errOut)
	}

	// Nothing listening: each retry is said, and the hint names the url.
	dead := deadURL(t)
	code, _, errOut = runBin(t, env, "config", "create", "gone", "mega", "user=a@example.com", "pass=x", "url="+dead)
	if _, saved := storedPass(t, conf, "gone"); code == 0 || saved || !strings.Contains(errOut, "retrying...") ||
		!strings.Contains(errOut, "nothing answers at "+dead+`, the url of remote "gone": is the server running?`) {
		t.Errorf("config create with no server: exit %d, saved %v\n%s", code, saved, errOut)
	}
	if code, _, errOut := runBin(t, env, "config", "create", "--no-check", "gone", "mega", "user=a@example.com", "pass=x", "url="+dead); code != 0 {
		t.Fatalf("config create --no-check gone: exit %d\n%s", code, errOut)
	}
	code, _, errOut = runBin(t, env, "lsd", "gone:")
	if code == 0 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "nothing answers at "+dead+`, the url of remote "gone"`) ||
		!strings.Contains(errOut, `"ferry config update gone url=..."`) || strings.Contains(errOut, "ferry: ferry") {
		t.Errorf("lsd on a remote whose server is not running: exit %d\n%s", code, errOut)
	}
}

// TestConfigWizardAsksServerFirst runs the built binary's wizard on a
// pseudo-terminal where MEGA's default API server cannot be reached (as
// here, with no network): it says so and asks for the server URL before
// the credentials, then logs in to that server.
func TestConfigWizardAsksServerFirst(t *testing.T) {
	if probeDefault() == nil {
		t.Skip("MEGA's API server answers from here: the wizard asks for the URL last, as a test of its own shows")
	}
	env := binEnv(t)
	conf := strings.TrimPrefix(env[0], "FERRY_CONFIG=")
	srv := megaservertest.Start(t, megaservertest.WithLogger(quietLogger(t)))
	c := newConsole(t)
	cmd := exec.CommandContext(t.Context(), ferryBinary(t), "config")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.tty, c.tty, c.tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	c.expect("n/s/q> ")
	c.send("n")
	c.expect("name> ")
	c.send("m")
	c.expect("Storage> ")
	c.send("mega")
	c.expect("Checking that https://g.api.mega.co.nz can be reached...")
	c.expect("The default server https://g.api.mega.co.nz cannot be reached (")
	c.expect("Option url.")
	c.expect("url> ")
	c.send(srv.URL)
	c.expect("Option user.")
	c.expect("user> ")
	c.send(megaservertest.UserV2)
	c.expect("y/g> ")
	c.send("y")
	c.expect("password:")
	c.sendSecret(megaservertest.PasswordV2)
	c.expect("password:")
	c.sendSecret(megaservertest.PasswordV2)
	c.expect("Edit advanced config?")
	c.expect("y/n> ")
	c.send("n")
	c.expect("Logged in.")
	c.expect("y/e/d> ")
	c.send("y")
	c.expect("e/n/d/r/c/s/q> ")
	c.send("q")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ferry config: %v\n%s", err, c.out.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("ferry config did not exit\n%s", c.out.String())
	}
	f, err := config.Load(conf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := f.Remote("m").Get("url"); u != srv.URL {
		t.Errorf("url %q, want %q", u, srv.URL)
	}
}

// probeDefault is the wizard's real check of MEGA's default API server.
func probeDefault() error {
	ln := "g.api.mega.co.nz:443"
	c, err := net.DialTimeout("tcp", ln, 5*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// TestConfigUpdateChecks: config update (and config password NAME ...)
// checks a change of the credentials or the url as config create checks a
// new remote: a wrong password is not saved and the old one stays,
// --no-check saves it; a change that does not touch the connection
// (hard_delete) logs in nowhere.
func TestConfigUpdateChecks(t *testing.T) {
	env := binEnv(t)
	conf := strings.TrimPrefix(env[0], "FERRY_CONFIG=")
	srv := megaservertest.Start(t, megaservertest.WithLogger(quietLogger(t)))
	if code, _, errOut := runBin(t, env, "config", "create", "m", "mega", "user="+megaservertest.UserV2, "pass="+megaservertest.PasswordV2, "url="+srv.URL); code != 0 {
		t.Fatalf("config create: exit %d\n%s", code, errOut)
	}
	good, _ := storedPass(t, conf, "m")
	logins := srv.Server.Logins(megaservertest.UserV2)

	if code, _, errOut := runBin(t, env, "config", "update", "m", "hard_delete=true"); code != 0 || srv.Server.Logins(megaservertest.UserV2) != logins {
		t.Errorf("update hard_delete: exit %d, logins %d -> %d\n%s", code, logins, srv.Server.Logins(megaservertest.UserV2), errOut)
	}
	for _, args := range [][]string{{"config", "update", "m", "pass=wrong password"}, {"config", "password", "m", "pass=wrong password"}} {
		code, _, errOut := runBin(t, env, args...)
		if v, _ := storedPass(t, conf, "m"); code == 0 || v != good || !strings.Contains(errOut, `remote "m" not saved`) {
			t.Errorf("%v: exit %d, stored pass changed %v\n%s", args, code, v != good, errOut)
		}
	}
	if code, _, errOut := runBin(t, env, "lsd", "m:"); code != 0 {
		t.Errorf("lsd after the refused updates: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := runBin(t, env, "config", "update", "--no-check", "m", "pass=wrong password"); code != 0 {
		t.Errorf("update --no-check: exit %d\n%s", code, errOut)
	}
	if v, _ := storedPass(t, conf, "m"); v == good {
		t.Errorf("update --no-check did not save the password")
	}
	if code, _, errOut := runBin(t, env, "config", "update", "m", "pass="+megaservertest.PasswordV2); code != 0 {
		t.Errorf("update with the right password: exit %d\n%s", code, errOut)
	}
}
