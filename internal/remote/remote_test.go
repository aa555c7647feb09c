package remote

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/config"
)

func TestParse(t *testing.T) {
	tests := []struct {
		arg, remote, path string
	}{
		{"remote:path/to", "remote", "path/to"},
		{"remote:", "remote", ""},
		{"remote:/abs", "remote", "/abs"},
		{"my remote:x", "my remote", "x"},
		{"a.b+c@d_e-f:x:y", "a.b+c@d_e-f", "x:y"},
		{"plain/path", "", "plain/path"},
		{"file.txt", "", "file.txt"},
		{"./a:b", "", "./a:b"},
		{"/tmp/x:y", "", "/tmp/x:y"},
		{"dir/a:b", "", "dir/a:b"},
		{":mega:x", ":mega", "x"},
		{":mega,user=a@b.c:", ":mega,user=a@b.c", ""},
	}
	for _, tc := range tests {
		r, p, err := Parse(tc.arg)
		if err != nil || r != tc.remote || p != tc.path {
			t.Errorf("Parse(%q) = %q, %q, %v; want %q, %q", tc.arg, r, p, err, tc.remote, tc.path)
		}
	}
	for _, bad := range []string{"", ":foo", "a*b:x", " a:x", "-a:x", "a :x", "::x", ":Mega:x", ":mega,user:x", ":mega,pass=s3cret,x:y"} {
		_, _, err := Parse(bad)
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q): %v, want ErrSyntax", bad, err)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Parse(%q) error shows a value: %v", bad, err)
		}
		if bad != "" && !strings.Contains(err.Error(), "\"") {
			t.Errorf("Parse(%q) error does not name it: %v", bad, err)
		}
	}
}

func TestNames(t *testing.T) {
	o := backend.Option{Name: "hard_delete"}
	if got := FlagName("mega", o); got != "mega-hard-delete" {
		t.Errorf("flag %q", got)
	}
	if got := EnvName("mega", o); got != "FERRY_MEGA_HARD_DELETE" {
		t.Errorf("env %q", got)
	}
	t.Setenv("XDG_CACHE_HOME", "/c")
	if got := DefaultCacheRoot(); got != "/c/ferry" {
		t.Errorf("cache %q", got)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/h")
	if got := DefaultCacheRoot(); got != "/h/.cache/ferry" {
		t.Errorf("cache %q", got)
	}
}

func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, ty := range Registry() {
		if ty.Name == "" || ty.New == nil || ty.Description == "" {
			t.Errorf("incomplete type %+v", ty)
		}
		if seen[ty.Name] {
			t.Errorf("type %q twice", ty.Name)
		}
		seen[ty.Name] = true
		for _, o := range ty.Options {
			if o.Name == "" || o.Help == "" || strings.ContainsAny(o.Name, "- ") {
				t.Errorf("%s: bad option %+v", ty.Name, o)
			}
		}
	}
	for _, want := range []string{"local", "memory", "mega"} {
		if !seen[want] {
			t.Errorf("registry lacks %q", want)
		}
	}
}

// fake is a backend that records how it was built.
type fake struct {
	backend.Backend
	name   string
	cfg    backend.ConfigMap
	env    backend.Env
	closed int
	mu     *sync.Mutex
}

func (f *fake) String() string { return f.name }
func (f *fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed++
	return nil
}

type fakes struct {
	mu    sync.Mutex
	built []*fake
	recon []backend.ConfigMap
}

func (fs *fakes) types() []backend.Type {
	newFn := func(_ context.Context, remote string, cfg backend.ConfigMap, root string, env backend.Env) (backend.Backend, error) {
		if root != "" {
			return nil, errors.New("root not empty")
		}
		if cfg["user"] == "fail" {
			return nil, errors.New("login failed")
		}
		fs.mu.Lock()
		defer fs.mu.Unlock()
		f := &fake{name: remote, cfg: cfg, env: env, mu: &fs.mu}
		fs.built = append(fs.built, f)
		return f, nil
	}
	return []backend.Type{
		{Name: "local", Description: "Local disk", New: newFn, Options: []backend.Option{{Name: "root", Default: "/", Help: "h"}}},
		{Name: "mega", Description: "MEGA", New: newFn,
			Reconnect: func(_ context.Context, remote string, cfg backend.ConfigMap, env backend.Env) error {
				fs.mu.Lock()
				defer fs.mu.Unlock()
				fs.recon = append(fs.recon, cfg)
				return nil
			},
			Options: []backend.Option{
				{Name: "user", Required: true, Help: "h"},
				{Name: "pass", Secret: true, Required: true, Help: "h"},
				{Name: "url", Default: "https://g.api.mega.co.nz", Help: "h"},
				{Name: "hard_delete", Bool: true, Default: "false", Help: "h"},
			}},
		{Name: "memory", Description: "Memory", New: newFn},
	}
}

func testResolver(t *testing.T, text string) (*Resolver, *fakes, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "ferry.conf")
	if text != "" {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fs := &fakes{}
	r := &Resolver{
		Types:     fs.types(),
		Config:    func(context.Context) (*config.File, error) { return config.Load(path, nil) },
		Overrides: map[string]string{},
		LookupEnv: func(string) (string, bool) { return "", false },
		CacheRoot: filepath.Join(dir, "cache"),
	}
	return r, fs, path
}

func obscured(t *testing.T, s string) string {
	o, err := config.Obscure(s)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestOpen(t *testing.T) {
	text := "[m]\ntype = mega\nuser = alice\npass = " + obscured(t, "s3cret") + "\n[mem]\ntype = memory\n[disk]\ntype = local\n"
	r, fs, _ := testResolver(t, text)
	ctx := t.Context()

	ref, err := r.Open(ctx, "m:a/b/")
	if err != nil {
		t.Fatal(err)
	}
	if ref.Path != "a/b" || ref.Remote != "m" {
		t.Errorf("ref %+v", ref)
	}
	f := ref.Backend.(*fake)
	if f.cfg["pass"] != "s3cret" || f.cfg["user"] != "alice" || f.cfg["url"] != "https://g.api.mega.co.nz" || f.cfg["hard_delete"] != "false" {
		t.Errorf("cfg %v", f.cfg)
	}
	if f.env.CacheDir != filepath.Join(r.CacheRoot, "m") {
		t.Errorf("cache dir %q", f.env.CacheDir)
	}
	if st, err := os.Stat(f.env.CacheDir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("cache dir not created 0700: %v", err)
	}

	// A second open of the same remote shares the backend; the last
	// Close closes it.
	ref2, err := r.Open(ctx, "m:")
	if err != nil {
		t.Fatal(err)
	}
	if ref2.Backend != ref.Backend || ref2.Path != "" {
		t.Errorf("not shared")
	}
	ref.Close()
	ref.Close() // idempotent
	if f.closed != 0 {
		t.Errorf("closed while in use")
	}
	ref2.Close()
	if f.closed != 1 {
		t.Errorf("closed %d times", f.closed)
	}
	ref3, err := r.Open(ctx, "m:")
	if err != nil {
		t.Fatal(err)
	}
	if ref3.Backend == ref.Backend {
		t.Errorf("closed backend reused")
	}
	ref3.Close()

	// Local paths: absolute, from the filesystem root.
	wd, _ := os.Getwd()
	lref, err := r.Open(ctx, "rel/x:y")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimPrefix(filepath.ToSlash(filepath.Join(wd, "rel/x:y")), "/"); lref.Path != want || lref.Remote != "" {
		t.Errorf("local path %q, want %q", lref.Path, want)
	}
	if lf := lref.Backend.(*fake); lf.env.CacheDir != "" || lf.cfg["root"] != "/" {
		t.Errorf("local path has a cache dir")
	}
	lref.Close()
	dref, err := r.Open(ctx, "disk:/tmp/x")
	if err != nil || dref.Path != "tmp/x" {
		t.Errorf("local remote: %+v %v", dref, err)
	}
	dref.Close()
	if len(fs.built) != 4 {
		t.Errorf("built %d backends", len(fs.built))
	}
}

func TestOpenErrors(t *testing.T) {
	text := "[m]\ntype = mega\nuser = alice\npass = " + obscured(t, "s3cret") + "\n" +
		"[nouser]\ntype = mega\npass = " + obscured(t, "s3cret") + "\n" +
		"[typo]\ntype = mega\nuser = a\nusr = b\n" +
		"[plain]\ntype = mega\nuser = a\npass = s3cret\n" +
		"[notype]\nuser = a\n" +
		"[badtype]\ntype = ftp\n" +
		"[fail]\ntype = mega\nuser = fail\npass = " + obscured(t, "s3cret") + "\n"
	r, _, path := testResolver(t, text)
	tests := []struct {
		arg  string
		want string
		is   error
	}{
		{"nope:x", `remote "nope" not found in ` + path + ` (run "ferry config")`, ErrNotFound},
		{":foo", `":foo": bad remote:path`, ErrSyntax},
		{"a*b:x", `"a*b:x": bad remote:path`, ErrSyntax},
		{"m:../x", `"m:../x": bad remote:path: path escapes`, ErrSyntax},
		{"nouser:", `remote "nouser": option "user": required option not set (set it with "ferry config update nouser user=...", --mega-user or $FERRY_MEGA_USER)`, config.ErrRequired},
		{"typo:", path + `:11: remote "typo": option "usr": unknown option for type mega`, config.ErrUnknownOption},
		{"plain:", path + `:15: remote "plain": option "pass": value is not obscured`, config.ErrNotObscured},
		{"notype:", path + `:16: remote "notype": option "type": not set`, nil},
		{"badtype:", path + `:19: remote "badtype": option "type": unknown backend type "ftp"`, nil},
		{"fail:", `login failed`, nil},
		{":ftp:x", `":ftp": bad remote:path: unknown backend type "ftp"`, ErrSyntax},
		{":mega,usr=a:x", `remote ":mega": option "usr": unknown option`, config.ErrUnknownOption},
	}
	for _, tc := range tests {
		t.Run(tc.arg, func(t *testing.T) {
			_, err := r.Open(t.Context(), tc.arg)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err %q\nwant prefix %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err %v is not %v", err, tc.is)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "\n") {
				t.Errorf("err %q shows a secret or is not one line", err)
			}
		})
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := r.Open(ctx, "m:"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestPrecedence(t *testing.T) {
	text := "[m]\ntype = mega\nuser = file-user\npass = " + obscured(t, "file-pass") + "\n"
	r, _, _ := testResolver(t, text)
	env := map[string]string{}
	r.LookupEnv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	get := func() backend.ConfigMap {
		t.Helper()
		_, m, err := r.Options(t.Context(), "m")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := get(); m["user"] != "file-user" || m["pass"] != "file-pass" || m["url"] != "https://g.api.mega.co.nz" {
		t.Errorf("file: %v", m)
	}
	env["FERRY_MEGA_USER"] = "env-user"
	env["FERRY_MEGA_PASS"] = "env-pass"
	env["FERRY_MEGA_URL"] = "http://127.0.0.1:1"
	env["FERRY_MEGA_HARD_DELETE"] = ""
	if m := get(); m["user"] != "env-user" || m["pass"] != "env-pass" || m["url"] != "http://127.0.0.1:1" || m["hard_delete"] != "false" {
		t.Errorf("env: %v", m)
	}
	r.Overrides["mega-user"] = "flag-user"
	r.Overrides["mega-hard-delete"] = "true"
	if m := get(); m["user"] != "flag-user" || m["pass"] != "env-pass" || m["hard_delete"] != "true" {
		t.Errorf("flag: %v", m)
	}
	env["FERRY_MEGA_HARD_DELETE"] = "maybe"
	delete(r.Overrides, "mega-hard-delete")
	if _, _, err := r.Options(t.Context(), "m"); err == nil || !strings.Contains(err.Error(), "$FERRY_MEGA_HARD_DELETE") {
		t.Errorf("bad env bool: %v", err)
	}
	// Connection strings take plain values, overridden the same way.
	delete(env, "FERRY_MEGA_HARD_DELETE")
	delete(r.Overrides, "mega-user")
	delete(env, "FERRY_MEGA_USER")
	ref, err := r.Open(t.Context(), ":mega,user=cs-user:dir")
	if err != nil {
		t.Fatal(err)
	}
	f := ref.Backend.(*fake)
	if f.cfg["user"] != "cs-user" || f.cfg["pass"] != "env-pass" || f.name != ":mega" || f.env.CacheDir != "" {
		t.Errorf("connection string: %v %q %q", f.cfg, f.name, f.env.CacheDir)
	}
	ref.Close()
}

func TestLazyConfig(t *testing.T) {
	r, _, _ := testResolver(t, "")
	calls := 0
	r.Config = func(context.Context) (*config.File, error) { calls++; return nil, errors.New("corrupt") }
	ref, err := r.Open(t.Context(), "/tmp")
	if err != nil {
		t.Fatal(err)
	}
	ref.Close()
	if calls != 0 {
		t.Errorf("config read for a local path")
	}
	for range 2 {
		if _, err := r.Open(t.Context(), "m:"); err == nil || err.Error() != "corrupt" {
			t.Errorf("err %v", err)
		}
	}
	if calls != 1 {
		t.Errorf("config read %d times", calls)
	}
}

func TestReconnect(t *testing.T) {
	text := "[m]\ntype = mega\nuser = alice\npass = " + obscured(t, "s3cret") + "\n[mem]\ntype = memory\n"
	r, fs, _ := testResolver(t, text)
	if err := r.Reconnect(t.Context(), "m"); err != nil {
		t.Fatal(err)
	}
	if len(fs.recon) != 1 || fs.recon[0]["pass"] != "s3cret" {
		t.Errorf("reconnect cfg %v", fs.recon)
	}
	if err := r.Reconnect(t.Context(), "mem"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("memory reconnect: %v", err)
	}
	if err := r.Reconnect(t.Context(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
}

// TestConcurrentOpen opens one remote from many goroutines: it is built
// once.
func TestConcurrentOpen(t *testing.T) {
	text := "[m]\ntype = mega\nuser = alice\npass = " + obscured(t, "s3cret") + "\n"
	r, fs, _ := testResolver(t, text)
	var wg sync.WaitGroup
	refs := make([]*Ref, 8)
	for i := range refs {
		wg.Go(func() {
			ref, err := r.Open(t.Context(), "m:x")
			if err != nil {
				t.Error(err)
				return
			}
			refs[i] = ref
		})
	}
	wg.Wait()
	if len(fs.built) != 1 {
		t.Errorf("built %d times", len(fs.built))
	}
	for _, ref := range refs {
		if ref != nil {
			ref.Close()
		}
	}
	if fs.built[0].closed != 1 {
		t.Errorf("closed %d times", fs.built[0].closed)
	}
}

var (
	_ = io.EOF
	_ = time.Second
)
