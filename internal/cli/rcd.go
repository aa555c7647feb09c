package cli

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"ferry/internal/backend"
	"ferry/internal/rc"
	"ferry/internal/remote"
	"ferry/internal/transfer"
)

// rcOptions are the flags shared by rcd and rc.
type rcOptions struct {
	addr, user, pass string
	noAuthFile       bool
}

// rcCredentials is what rcd writes (mode 0600) so that "ferry rc" finds the
// daemon and its password without flags.
type rcCredentials struct {
	URL  string `json:"url"`
	User string `json:"user"`
	Pass string `json:"pass"`
}

// rcCredentialsPath is $XDG_CACHE_HOME/ferry/rcd.json (or ~/.cache/...).
func rcCredentialsPath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "ferry", "rcd.json"), nil
}

func addRCFlags(cmd *cobra.Command, o *rcOptions) {
	f := cmd.Flags()
	f.StringVar(&o.addr, "rc-addr", "127.0.0.1:5572", "address of the remote-control daemon (loopback)")
	f.StringVar(&o.user, "rc-user", "", "user for the daemon's basic auth (default: from rcd.json, else \"ferry\")")
	f.StringVar(&o.pass, "rc-pass", "", "password for the daemon's basic auth (default: generated and kept in rcd.json); env FERRY_RC_PASS")
}

func newRcdCommand(g *globals) *cobra.Command {
	var o rcOptions
	cmd := &cobra.Command{
		Use:         "rcd",
		Short:       "Run the remote-control daemon: keeps sessions open and answers `ferry rc`",
		Annotations: map[string]string{annotationDaemon: "true"},
		Long: `Run a daemon on loopback that holds remotes (and so MEGA sessions) open and
answers JSON calls like rclone's rc:

  ferry rcd &
  ferry rc operations/publiclink fs=mega: remote=file.txt
  ferry rc operations/list fs=mega:dir
  ferry rc sync/copy srcFs=/local/dir dstFs=mega:backup _async=true
  ferry rc job/status jobid=1

Basic auth is always required. Without --rc-pass a random password is
generated and written with the address to rcd.json in ferry's cache
directory (mode 0600), where "ferry rc" finds it.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runRcd(cmd.Context(), g, o) },
	}
	addRCFlags(cmd, &o)
	return cmd
}

// remoteCache opens each remote once and keeps it open for the daemon's
// lifetime.
type remoteCache struct {
	g    *globals
	mu   sync.Mutex             // guards refs
	refs map[string]*remote.Ref // by remote name ("mega")
}

// open resolves fs ("remote:path" or a local path).
func (c *remoteCache) open(ctx context.Context, fs string) (backend.Backend, string, error) {
	name, rest, ok := splitRemote(fs)
	if !ok {
		ref, err := c.g.openRemote(ctx, fs)
		if err != nil {
			return nil, "", err
		}
		// Local paths are cheap to reopen; close at once (nothing cached).
		_ = ref.Close()
		return ref.Backend, ref.Path, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ref, ok := c.refs[name]
	if !ok {
		var err error
		ref, err = c.g.openRemote(ctx, name+":")
		if err != nil {
			return nil, "", err
		}
		c.refs[name] = ref
	}
	p, err := backend.Clean(rest)
	if err != nil {
		return nil, "", err
	}
	return ref.Backend, backend.Join(ref.Path, p), nil
}

func (c *remoteCache) closeAll() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, r := range c.refs {
		errs = append(errs, r.Close())
	}
	c.refs = map[string]*remote.Ref{}
	return errors.Join(errs...)
}

// splitRemote splits "name:path"; ok is false for local paths.
func splitRemote(s string) (name, path string, ok bool) {
	i := strings.IndexByte(s, ':')
	if i <= 0 || strings.ContainsAny(s[:i], `/\`) {
		return "", s, false
	}
	return s[:i], s[i+1:], true
}

func runRcd(ctx context.Context, g *globals, o rcOptions) error {
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return usagef("--rc-addr %q: %v", o.addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return usagef("--rc-addr %q: the daemon only listens on loopback", o.addr)
	}
	user, pass := o.user, o.pass
	if pass == "" {
		pass = os.Getenv("FERRY_RC_PASS")
	}
	if user == "" {
		user = "ferry"
	}
	generated := pass == ""
	if generated {
		pass = rand.Text()
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("rcd: listen: %w", err)
	}
	url := "http://" + ln.Addr().String()
	credPath, err := rcCredentialsPath()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(credPath, mustJSON(rcCredentials{URL: url, User: user, Pass: pass}), 0o600); err != nil {
		return fmt.Errorf("rcd: write %s: %w", credPath, err)
	}
	defer os.Remove(credPath)

	cache := &remoteCache{g: g, refs: map[string]*remote.Ref{}}
	defer cache.closeAll()
	reg := rc.NewRegistry()
	reg.Add(rc.Call{Path: "core/version", Help: "ferry's version", Fn: func(context.Context, rc.Params) (rc.Params, error) {
		return rc.Params{"version": version}, nil
	}})
	rc.AddOperations(reg, cache.open)
	addRCCommands(g, reg, cache.open)
	srv := rc.NewServer(reg, user, pass, g.logger())
	defer srv.Close()
	fmt.Fprintf(g.stdio.Out, "ferry: remote control on %s (credentials in %s)\n", url, credPath)
	return serveUntilDone(ctx, ln, srv)
}

// addRCCommands registers the transfer calls (sync/copy, sync/sync,
// sync/move) and core/stats, whose statistics add up every transfer the
// daemon ran.
func addRCCommands(g *globals, reg *rc.Registry, open rc.Opener) {
	stats := new(transfer.Stats)
	reg.Add(rc.Call{Path: "core/stats", Help: "transfer statistics of the daemon", Fn: func(context.Context, rc.Params) (rc.Params, error) {
		var out rc.Params
		if err := json.Unmarshal(mustJSON(stats.Snapshot()), &out); err != nil {
			return nil, err
		}
		return out, nil
	}})
	for _, c := range []struct {
		path string
		fn   func(context.Context, transfer.Location, transfer.Location, transfer.Options) error
	}{{"sync/copy", transfer.Copy}, {"sync/sync", transfer.Sync}, {"sync/move", transfer.Move}} {
		reg.Add(rc.Call{Path: c.path, Help: "srcFs, dstFs; createEmptySrcDirs, _config, _filter (rclone's option names), dryRun", Async: true, Fn: func(ctx context.Context, in rc.Params) (rc.Params, error) {
			o, err := rcTransferOptions(in)
			if err != nil {
				return nil, err
			}
			flt, err := o.filters.build(g)
			if err != nil {
				return nil, &rc.ParamError{Key: "_filter", Problem: err.Error()}
			}
			var locs [2]transfer.Location
			var remotes [2]bool
			for i, key := range []string{"srcFs", "dstFs"} {
				fs, err := in.String(key)
				if err != nil {
					return nil, err
				}
				b, p, err := open(ctx, fs)
				if err != nil {
					return nil, err
				}
				locs[i] = transfer.Location{Backend: b, Path: p}
				_, _, remotes[i] = splitRemote(fs)
			}
			backupDir, err := rcBackupDir(ctx, open, o.sync.backupDir, in["dstFs"].(string))
			if err != nil {
				return nil, err
			}
			opts := o.engineOptions(flt, remotes[1], remotes[0], backupDir)
			opts.Stats, opts.Logger = stats, g.logger()
			ctx = stats.ObserveRetries(ctx, g.logger(), "")
			return nil, c.fn(ctx, locs[0], locs[1], opts)
		}})
	}
}

// rcBackupDir opens an rc call's BackupDir and returns its path in the
// backend of the destination dstFs, whose remote must hold it.
func rcBackupDir(ctx context.Context, open rc.Opener, fs, dstFs string) (string, error) {
	if fs == "" {
		return "", nil
	}
	_, p, err := open(ctx, fs)
	if err != nil {
		return "", err
	}
	name, _, _ := splitRemote(fs)
	dstName, _, _ := splitRemote(dstFs)
	if name != dstName || p == "" {
		return "", &rc.ParamError{Key: "_config.BackupDir", Problem: fmt.Sprintf("%s must be a directory of the destination's remote, not its root", fs)}
	}
	return p, nil
}

func mustJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

// writeFileAtomic writes data to path via a temporary file and rename.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func newRcCommand(g *globals) *cobra.Command {
	var o rcOptions
	var jsonIn string
	cmd := &cobra.Command{
		Use:   "rc COMMAND [key=value ...]",
		Short: "Run a call on the remote-control daemon (ferry rcd)",
		Long: `Run a call on "ferry rcd", e.g.
  ferry rc operations/publiclink fs=mega: remote=file.txt
  ferry rc operations/list fs=mega:dir opt='{"recurse":true}'
Values that parse as JSON (numbers, true/false, objects) are sent as JSON,
others as strings. --json gives the whole input as one JSON object.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 {
				return usagef("rc needs a command, e.g. \"ferry rc rc/list\"")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			in := rc.Params{}
			if jsonIn != "" {
				if err := json.Unmarshal([]byte(jsonIn), &in); err != nil {
					return usagef("--json: %v", err)
				}
			}
			for _, kv := range args[1:] {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usagef("rc: argument %q is not key=value", kv)
				}
				var j any
				if strings.HasPrefix(v, "{") || strings.HasPrefix(v, "[") || v == "true" || v == "false" || isNumber(v) {
					if json.Unmarshal([]byte(v), &j) == nil {
						in[k] = j
						continue
					}
				}
				in[k] = v
			}
			c, err := rcClient(o)
			if err != nil {
				return err
			}
			out, err := c.Call(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return writeJSON(g.stdio.Out, out)
		},
	}
	addRCFlags(cmd, &o)
	cmd.Flags().StringVar(&jsonIn, "json", "", "input as a JSON object")
	return cmd
}

func isNumber(s string) bool {
	var f float64
	return json.Unmarshal([]byte(s), &f) == nil
}

// rcClient builds a client from flags, $FERRY_RC_PASS and rcd.json.
func rcClient(o rcOptions) (*rc.Client, error) {
	c := &rc.Client{URL: "http://" + o.addr, User: o.user, Pass: o.pass}
	if c.Pass == "" {
		c.Pass = os.Getenv("FERRY_RC_PASS")
	}
	if c.Pass == "" {
		path, err := rcCredentialsPath()
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("rc: no --rc-pass and no daemon credentials (%v); start \"ferry rcd\" first", err)
		}
		var cred rcCredentials
		if err := json.Unmarshal(b, &cred); err != nil {
			return nil, fmt.Errorf("rc: %s: %w", path, err)
		}
		c.URL, c.Pass = cred.URL, cred.Pass
		if c.User == "" {
			c.User = cred.User
		}
	}
	if c.User == "" {
		c.User = "ferry"
	}
	return c, nil
}
