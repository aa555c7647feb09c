package cli

import (
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/internal/config"
	"ferry/megaserver"
	"ferry/megaserver/megaservertest"
)

// configEnv points ferry at a fresh config and cache directory and unsets
// the FERRY_* variables that would change the results. It returns the
// config file's path.
func configEnv(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	for _, k := range []string{config.EnvConfig, config.EnvConfigPass, "FERRY_MEGA_USER", "FERRY_MEGA_PASS", "FERRY_MEGA_URL",
		"FERRY_MEGA_HARD_DELETE", "FERRY_MEGA_DEBUG", "FERRY_LOCAL_ROOT", "FERRY_MEMORY_STORE"} {
		t.Setenv(k, "")
		if err := unsetenv(k); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "config", "ferry", "ferry.conf")
}

// mustRun runs ferry in-process and fails the test on a non-zero exit.
func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, t.Context(), stdin, args...)
	if code != 0 {
		t.Fatalf("ferry %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestConfigCommands(t *testing.T) {
	path := configEnv(t)
	out := mustRun(t, "", "config", "file")
	if !strings.Contains(out, "doesn't exist") || !strings.Contains(out, path) {
		t.Errorf("config file: %q", out)
	}
	if out := mustRun(t, "", "config", "show"); out != "; empty config\n" {
		t.Errorf("show empty: %q", out)
	}
	out = mustRun(t, "", "config", "create", "--no-check", "photos", "mega", "user=alice@example.com", "pass=s3cret pass", "hard_delete", "true")
	if !strings.HasPrefix(out, "[photos]\ntype = mega\nuser = alice@example.com\npass = ") || strings.Contains(out, "s3cret") {
		t.Errorf("create printed %q", out)
	}
	text := readFile(t, path)
	if strings.Contains(text, "s3cret") {
		t.Fatalf("password stored in plain text:\n%s", text)
	}
	f, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := f.Remote("photos").Get("pass")
	if pw, err := config.Reveal(stored); err != nil || pw != "s3cret pass" {
		t.Errorf("stored pass reveals to %q, %v", pw, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	if out := mustRun(t, "", "config", "file"); !strings.HasPrefix(out, "Configuration file is stored at:\n"+path) {
		t.Errorf("config file: %q", out)
	}

	// --no-obscure takes an obscured value as is; --obscure obscures.
	mustRun(t, "", "config", "create", "--no-check", "p2", "mega", "user=b", "pass="+stored, "--no-obscure")
	f, _ = config.Load(path, nil)
	if v, _ := f.Remote("p2").Get("pass"); v != stored {
		t.Errorf("--no-obscure stored %q", v)
	}
	mustRun(t, "", "config", "update", "--no-check", "p2", "pass="+stored, "--obscure")
	f, _ = config.Load(path, nil)
	v, _ := f.Remote("p2").Get("pass")
	if pw, _ := config.Reveal(v); pw != stored {
		t.Errorf("--obscure stored %q revealing %q", v, pw)
	}
	// Without either, a value is obscured, even one that looks obscured:
	// what it looks like never decides.
	mustRun(t, "", "config", "update", "--no-check", "p2:", "pass="+stored, "hard_delete=")
	f, _ = config.Load(path, nil)
	if v, _ := f.Remote("p2").Get("pass"); v == stored {
		t.Errorf("update kept %q as if obscured", v)
	} else if pw, _ := config.Reveal(v); pw != stored {
		t.Errorf("update stored %q revealing %q, want %q", v, pw, stored)
	}
	if _, ok := f.Remote("p2").Get("hard_delete"); ok {
		t.Errorf("empty value did not unset")
	}

	out = mustRun(t, "", "config", "update", "--no-check", "photos", "url=http://127.0.0.1:1")
	if !strings.Contains(out, "url = http://127.0.0.1:1") {
		t.Errorf("update printed %q", out)
	}
	out = mustRun(t, "", "config", "show", "photos")
	if !strings.HasPrefix(out, "[photos]\ntype = mega\nuser = alice@example.com\npass = ") || !strings.Contains(out, "hard_delete = true\ncache_key = ") || !strings.HasSuffix(out, "\nurl = http://127.0.0.1:1\n") {
		t.Errorf("show photos: %q", out)
	}
	// config create made a random cache_key, stored obscured, and update
	// kept it.
	f, _ = config.Load(path, nil)
	ck, _ := f.Remote("photos").Get("cache_key")
	if plain, err := config.Reveal(ck); err != nil || len(plain) != 43 {
		t.Errorf("cache_key %q reveals %d characters, %v; want 43 (32 random bytes, base64url)", ck, len(plain), err)
	}
	if ck2, _ := f.Remote("p2").Get("cache_key"); ck2 == "" || ck2 == ck {
		t.Errorf("the cache_keys of two remotes: %q and %q", ck, ck2)
	}
	if out := mustRun(t, "", "config", "show"); out != readFile(t, path) {
		t.Errorf("show: %q", out)
	}
	var dump map[string]map[string]string
	if err := json.Unmarshal([]byte(mustRun(t, "", "config", "dump")), &dump); err != nil {
		t.Fatal(err)
	}
	if dump["photos"]["type"] != "mega" || dump["photos"]["pass"] != stored || dump["p2"]["user"] != "b" {
		t.Errorf("dump %v", dump)
	}
	mustRun(t, "", "config", "password", "--no-check", "photos", "pass=new pass")
	f, _ = config.Load(path, nil)
	v, _ = f.Remote("photos").Get("pass")
	if pw, _ := config.Reveal(v); pw != "new pass" {
		t.Errorf("config password NAME: %q", pw)
	}

	cache := filepath.Join(os.Getenv("XDG_CACHE_HOME"), "ferry", "p2")
	os.MkdirAll(cache, 0o700)
	mustRun(t, "", "config", "delete", "p2")
	if _, err := os.Stat(cache); !os.IsNotExist(err) {
		t.Errorf("cache dir left: %v", err)
	}
	f, _ = config.Load(path, nil)
	if strings.Join(f.Names(), ",") != "photos" {
		t.Errorf("after delete: %v", f.Names())
	}
	var providers []struct{ Name string }
	if err := json.Unmarshal([]byte(mustRun(t, "", "config", "providers")), &providers); err != nil || len(providers) < 3 {
		t.Errorf("providers: %v %v", providers, err)
	}
}

func sum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestConfigBadInput checks that mistakes give one line naming the
// culprit, a non-zero exit and no change on disk.
func TestConfigBadInput(t *testing.T) {
	good := "[photos]\ntype = mega\nuser = alice@example.com\npass = " + mustObscure(t, "pw") + "\n[mem]\ntype = memory\n"
	tests := []struct {
		name     string
		file     string // config content; "" keeps good
		env      map[string]string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"unknown remote", "", nil, []string{"config", "show", "nope"}, exitUsage, `remote "nope" not found in CONF (run "ferry config")`},
		{"update unknown remote", "", nil, []string{"config", "update", "nope", "a=b"}, exitUsage, `remote "nope" not found`},
		{"delete unknown remote", "", nil, []string{"config", "delete", "nope"}, exitUsage, `remote "nope" not found`},
		{"reconnect unknown remote", "", nil, []string{"config", "reconnect", "nope:"}, exitUsage, `remote "nope" not found in CONF`},
		{"reconnect malformed", "", nil, []string{"config", "reconnect", ":foo"}, exitUsage, `":foo": bad remote:path`},
		{"reconnect path", "", nil, []string{"config", "reconnect", "photos:dir"}, exitUsage, `reconnect takes a remote name`},
		{"reconnect bad name", "", nil, []string{"config", "reconnect", "a*b:"}, exitUsage, `invalid remote name "a*b"`},
		{"reconnect memory", "", nil, []string{"config", "reconnect", "mem:"}, exitError, `remote "mem" (type memory): reconnect not supported`},
		{"unknown type", "", nil, []string{"config", "create", "x", "ftp"}, exitUsage, `unknown backend type "ftp"`},
		{"bad name", "", nil, []string{"config", "create", "a:b", "memory"}, exitUsage, `invalid remote name "a:b"`},
		{"exists", "", nil, []string{"config", "create", "photos", "memory"}, exitUsage, `remote "photos" already exists`},
		{"unknown option", "", nil, []string{"config", "create", "x", "mega", "user=a", "pass=b", "usr=c"}, exitUsage, `remote "x": option "usr": unknown option for type mega`},
		{"update unknown option", "", nil, []string{"config", "update", "photos", "usr=c"}, exitUsage, `option "usr": unknown option`},
		{"missing required", "", nil, []string{"config", "create", "x", "mega", "user=a"}, exitUsage, `remote "x": option "pass": required option not set`},
		{"unset required", "", nil, []string{"config", "update", "photos", "user="}, exitUsage, `option "user": required option not set`},
		{"bad bool", "", nil, []string{"config", "update", "photos", "hard_delete=maybe"}, exitUsage, `option "hard_delete": want true or false`},
		{"change type", "", nil, []string{"config", "update", "photos", "type=memory"}, exitUsage, `the type cannot be changed`},
		{"no value", "", nil, []string{"config", "update", "photos", "user"}, exitUsage, `option "user" has no value`},
		{"no-obscure plain", "", nil, []string{"config", "update", "photos", "pass=plain", "--no-obscure"}, exitUsage, `option "pass": value is not obscured`},
		{"obscure both", "", nil, []string{"config", "update", "photos", "pass=x", "--obscure", "--no-obscure"}, exitUsage, `exclude each other`},
		{"corrupt", "[photos]\ntype = mega\nuser alice\n", nil, []string{"config", "create", "x", "memory"}, exitError, `CONF:3: expected "key = value"`},
		{"corrupt show", "[photos]\ntype = mega\n[photos]\n", nil, []string{"config", "show"}, exitError, `CONF:3: remote "photos" defined twice (first on line 1)`},
		{"corrupt wizard", "junk\n", nil, []string{"config"}, exitError, `CONF:1: expected "key = value"`},
		{"plain secret", "[photos]\ntype = mega\nuser = a\npass = hunter2\n", nil, []string{"config", "reconnect", "photos:"}, exitError, `CONF:4: remote "photos": option "pass": value is not obscured`},
		{"remove unencrypted", "", nil, []string{"config", "password", "--remove"}, exitUsage, `is not encrypted`},
		{"bad flag bool", "", nil, []string{"config", "show", "--mega-hard-delete=maybe"}, exitUsage, `want true or false`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := configEnv(t)
			file := tc.file
			if file == "" {
				file = good
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			before := sum(t, path)
			code, _, errOut := runCLI(t, t.Context(), "", tc.args...)
			want := strings.ReplaceAll(tc.wantErr, "CONF", path)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.wantCode, errOut)
			}
			if !strings.Contains(errOut, want) || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "ferry: ") {
				t.Errorf("stderr %q, want one line containing %q", errOut, want)
			}
			if strings.Contains(errOut, "hunter2") {
				t.Errorf("stderr shows a secret: %q", errOut)
			}
			if sum(t, path) != before {
				t.Errorf("config file changed:\n%s", readFile(t, path))
			}
		})
	}
}

func mustObscure(t *testing.T, s string) string {
	t.Helper()
	o, err := config.Obscure(s)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestConfigPassword(t *testing.T) {
	path := configEnv(t)
	mustRun(t, "", "config", "create", "mem", "memory", "store=x")
	mustRun(t, "s3cret config pw\n", "config", "password")
	text := readFile(t, path)
	if !strings.HasPrefix(text, "# ferry encrypted config v1\n") || strings.Contains(text, "memory") {
		t.Fatalf("not encrypted:\n%s", text)
	}
	before := sum(t, path)

	// Without the password: a clear error; with a wrong one too.
	code, _, errOut := runCLI(t, t.Context(), "", "config", "show")
	if code == 0 || !strings.Contains(errOut, path+": config file is encrypted: set FERRY_CONFIG_PASS") {
		t.Errorf("no password: exit %d %q", code, errOut)
	}
	t.Setenv(config.EnvConfigPass, "wrong")
	code, _, errOut = runCLI(t, t.Context(), "", "config", "create", "x", "memory")
	if code == 0 || errOut != "ferry: "+path+": wrong configuration password (or the file is damaged)\n" {
		t.Errorf("wrong password: exit %d %q", code, errOut)
	}
	// Commands on local paths never need it.
	if code, _, errOut := runCLI(t, t.Context(), "", "config", "file"); code != 0 {
		t.Errorf("config file: %s", errOut)
	}
	if sum(t, path) != before {
		t.Errorf("file changed")
	}

	t.Setenv(config.EnvConfigPass, "s3cret config pw")
	if out := mustRun(t, "", "config", "show", "mem"); out != "[mem]\ntype = memory\nstore = x\n" {
		t.Errorf("show: %q", out)
	}
	// Changes keep the file encrypted.
	mustRun(t, "", "config", "create", "mem2", "memory")
	if text := readFile(t, path); !strings.HasPrefix(text, "# ferry encrypted config v1\n") {
		t.Errorf("create decrypted the file")
	}
	// Change the password, then remove it.
	mustRun(t, "other pw\n", "config", "password")
	t.Setenv(config.EnvConfigPass, "other pw")
	mustRun(t, "", "config", "show", "mem2")
	mustRun(t, "", "config", "password", "--remove")
	if text := readFile(t, path); !strings.HasPrefix(text, "[mem]\ntype = memory\n") {
		t.Errorf("not decrypted:\n%s", text)
	}
	code, _, errOut = runCLI(t, t.Context(), "\n", "config", "password")
	if code != exitUsage || !strings.Contains(errOut, "empty configuration password") {
		t.Errorf("empty password: %d %q", code, errOut)
	}
}

// TestConfigReconnect logs in to a loopback MEGA server through
// "config reconnect", and opens the remote through openRemote.
func TestConfigReconnect(t *testing.T) {
	configEnv(t)
	ts := megaservertest.Start(t)
	mustRun(t, "", "config", "create", "m", "mega", "user="+megaservertest.UserV2, "pass="+megaservertest.PasswordV2, "url="+ts.URL)
	out := mustRun(t, "", "config", "reconnect", "m:")
	if !strings.Contains(out, `Logged in to remote "m"`) {
		t.Errorf("reconnect: %q", out)
	}
	cache := filepath.Join(os.Getenv("XDG_CACHE_HOME"), "ferry", "m")
	if ents, err := os.ReadDir(cache); err != nil || len(ents) == 0 {
		t.Errorf("no session cached in %s: %v", cache, err)
	}
	// A wrong password from the environment overrides the file, fails
	// and is not shown.
	t.Setenv("FERRY_MEGA_PASS", "hunter2")
	code, _, errOut := runCLI(t, t.Context(), "", "config", "reconnect", "m")
	if code == 0 || strings.Contains(errOut, "hunter2") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("wrong password: exit %d %q", code, errOut)
	}
}

func TestOpenRemote(t *testing.T) {
	configEnv(t)
	ts := megaservertest.Start(t)
	mustRun(t, "", "config", "create", "m", "mega", "user="+megaservertest.UserV2, "pass="+megaservertest.PasswordV2, "url="+ts.URL)
	mustRun(t, "", "config", "create", "mem", "memory")
	g := &globals{stdio: Stdio{In: strings.NewReader(""), Out: os.Stdout, Err: os.Stderr}}
	ctx := t.Context()

	ref, err := g.openRemote(ctx, "m:dir/sub")
	if err != nil {
		t.Fatal(err)
	}
	if ref.Path != "dir/sub" || ref.Remote != "m" {
		t.Errorf("ref %+v", ref)
	}
	if err := ref.Backend.Mkdir(ctx, ref.Path); err != nil {
		t.Fatal(err)
	}
	// A second reference shares the backend (one session, one cache).
	ref2, err := g.openRemote(ctx, "m:")
	if err != nil {
		t.Fatal(err)
	}
	if ref2.Backend != ref.Backend {
		t.Errorf("backend not shared")
	}
	if e, err := ref2.Backend.Stat(ctx, "dir/sub"); err != nil || !e.IsDir {
		t.Errorf("stat: %+v %v", e, err)
	}
	ref.Close()
	ref2.Close()

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f.txt"), []byte("hi"), 0o600)
	lref, err := g.openRemote(ctx, filepath.Join(dir, "f.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if e, err := lref.Backend.Stat(ctx, lref.Path); err != nil || e.Size != 2 {
		t.Errorf("local stat %q: %+v %v", lref.Path, e, err)
	}
	lref.Close()

	for _, tc := range []struct {
		arg  string
		code int
	}{{"nope:", exitUsage}, {":foo", exitUsage}, {"a*b:c", exitUsage}, {"m:../x", exitUsage}} {
		_, err := g.openRemote(ctx, tc.arg)
		if err == nil || exitCode(err) != tc.code {
			t.Errorf("%s: %v (exit %d)", tc.arg, err, exitCode(err))
		}
	}
}

// TestConfigReconnectMFA answers the two-factor prompt from stdin, which
// "config reconnect" reads even when it is not a terminal; other commands
// fail clearly instead of asking.
func TestConfigReconnectMFA(t *testing.T) {
	configEnv(t)
	ts := megaservertest.Start(t)
	secret := []byte("12345678901234567890")
	ts.AddUser(t, "mfa@example.com", "pw with mfa", megaservertest.UserOpts{MFASecret: secret})
	mustRun(t, "", "config", "create", "--no-check", "m", "mega", "user=mfa@example.com", "pass=pw with mfa", "url="+ts.URL)

	g := &globals{stdio: Stdio{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}}
	_, err := g.openRemote(t.Context(), "m:")
	if err == nil || !strings.Contains(err.Error(), "config reconnect m:") {
		t.Errorf("open without a terminal: %v", err)
	}
	code, out, errOut := runCLI(t, t.Context(), megaserver.TOTP(secret, time.Now())+"\n", "config", "reconnect", "m:")
	if code != 0 {
		t.Fatalf("reconnect: exit %d %s %s", code, out, errOut)
	}
	if !strings.Contains(errOut, `Two-factor authentication code for MEGA remote "m" (mfa@example.com): `) {
		t.Errorf("prompt %q", errOut)
	}
	// The session is cached: opening needs no PIN now.
	g = &globals{stdio: Stdio{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}}
	ref, err := g.openRemote(t.Context(), "m:")
	if err != nil {
		t.Fatalf("open after reconnect: %v", err)
	}
	ref.Close()
}

// TestConfigLocation checks --config and $FERRY_CONFIG.
func TestConfigLocation(t *testing.T) {
	configEnv(t)
	dir := t.TempDir()
	flagPath := filepath.Join(dir, "flag.conf")
	envPath := filepath.Join(dir, "env.conf")
	mustRun(t, "", "--config", flagPath, "config", "create", "a", "memory")
	t.Setenv(config.EnvConfig, envPath)
	mustRun(t, "", "config", "create", "b", "memory")
	if out := mustRun(t, "", "config", "file"); !strings.Contains(out, envPath) {
		t.Errorf("env: %q", out)
	}
	if out := mustRun(t, "", "config", "file", "--config", flagPath); !strings.Contains(out, flagPath) {
		t.Errorf("flag: %q", out)
	}
	if !strings.Contains(readFile(t, flagPath), "[a]") || !strings.Contains(readFile(t, envPath), "[b]") {
		t.Errorf("wrong files written")
	}
}

// TestBackendFlags checks the generated --<type>-<option> flags: they
// beat the environment, which beats the file.
func TestBackendFlags(t *testing.T) {
	configEnv(t)
	ts := megaservertest.Start(t)
	mustRun(t, "", "config", "create", "--no-check", "m", "mega", "user="+megaservertest.UserV2, "pass=wrong in file", "url=http://127.0.0.1:1")
	t.Setenv("FERRY_MEGA_URL", ts.URL)
	t.Setenv("FERRY_MEGA_PASS", "wrong in env")
	code, _, errOut := runCLI(t, t.Context(), "", "config", "reconnect", "m:")
	if code == 0 || !strings.Contains(errOut, "check the e-mail and password") {
		t.Errorf("env password: exit %d %q", code, errOut)
	}
	mustRun(t, "", "config", "reconnect", "m:", "--mega-pass", megaservertest.PasswordV2)
	code, out, _ := runCLI(t, t.Context(), "", "--help")
	for _, want := range []string{"--mega-user string", "(env FERRY_MEGA_USER)", "--mega-hard-delete ", "(env FERRY_MEGA_HARD_DELETE)", "--config string", "env FERRY_CONFIG;", "env FERRY_CONFIG_PASS)", "--local-root string"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
