package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"ferry/internal/backend"
	"ferry/internal/config"
	"ferry/internal/remote"
)

// openRemote resolves a "remote:path" argument (or a plain local path)
// through the config file and the backend registry. The backend is rooted
// at the remote's root (for local paths, the filesystem's root) and shared
// by every remote.Ref of the same remote in this run; close each one.
func (g *globals) openRemote(ctx context.Context, arg string) (*remote.Ref, error) {
	ref, err := g.resolver().Open(ctx, arg)
	if err != nil {
		return nil, remoteError(g.serverHint(ctx, arg, err))
	}
	return ref, nil
}

// openWritable is openRemote for an argument the command writes to: a
// public link is a usage error saying links are read-only.
func (g *globals) openWritable(ctx context.Context, arg string) (*remote.Ref, error) {
	ref, err := g.resolver().OpenWritable(ctx, arg)
	if err != nil {
		return nil, remoteError(g.serverHint(ctx, arg, err))
	}
	return ref, nil
}

// refuseLink is the read-only error for a public link given where the
// command writes (a move's source), or nil.
func (g *globals) refuseLink(arg string) error {
	if g.resolver().IsLink(arg) {
		_, err := g.resolver().OpenWritable(context.Background(), arg)
		return remoteError(err)
	}
	return nil
}

// remoteError makes mistakes in arguments, flags or the remote's options
// usage errors (exit 1); other errors (an unreadable config, a wrong
// configuration password, a failed login) pass through.
func remoteError(err error) error {
	for _, target := range []error{remote.ErrSyntax, remote.ErrNotFound, remote.ErrReadOnly, config.ErrUnknownOption, config.ErrRequired, config.ErrNotBool} {
		if errors.Is(err, target) {
			return usageError{err}
		}
	}
	return err
}

// remoteState is what globals hold for remotes: the config file's
// location, backend option flags, and the resolver built on first use.
type remoteState struct {
	configPath string            // --config
	cacheDir   string            // --cache-dir
	overrides  map[string]string // --<type>-<option> flags that were set, by remote.FlagName
	types      []backend.Type    // the registry; nil means remote.Registry() (tests set fakes)

	once     sync.Once
	resolver *remote.Resolver

	promptOnce sync.Once
	prompt     *prompter
}

// registry returns the backend types.
func (g *globals) registry() []backend.Type {
	if g.rem.types == nil {
		g.rem.types = remote.Registry()
	}
	return g.rem.types
}

// configPath is the config file: --config, $FERRY_CONFIG or the default.
func (g *globals) configPath() string {
	if g.rem.configPath != "" {
		return g.rem.configPath
	}
	return config.DefaultPath()
}

// cacheRoot is --cache-dir, $FERRY_CACHE_DIR or the default
// ($XDG_CACHE_HOME/ferry): one subdirectory per remote holds its session.
func (g *globals) cacheRoot() string {
	if g.rem.cacheDir != "" {
		return g.rem.cacheDir
	}
	if d := os.Getenv("FERRY_CACHE_DIR"); d != "" {
		return d
	}
	return remote.DefaultCacheRoot()
}

// resolver returns the run's resolver, built on first use.
func (g *globals) resolver() *remote.Resolver {
	g.rem.once.Do(func() {
		g.rem.resolver = &remote.Resolver{
			Types:     g.registry(),
			Config:    g.loadConfig,
			Overrides: g.rem.overrides,
			CacheRoot: g.cacheRoot(),
			Links:     remote.Links(),
			Env: backend.Env{
				Logger:  g.logger(),
				Verbose: g.log.verbosity(),
				Prompt:  g.backendPrompt(false),
				// rclone's --low-level-retries, --timeout, --contimeout.
				LowLevelRetries: g.net.lowLevelRetries,
				Dial:            g.net.dial(),
			},
		}
	})
	return g.rem.resolver
}

// loadConfig reads the config file, asking for its password if it is
// encrypted: from $FERRY_CONFIG_PASS, else on the terminal (three tries).
func (g *globals) loadConfig(ctx context.Context) (*config.File, error) {
	path := g.configPath()
	if pw := os.Getenv(config.EnvConfigPass); pw != "" {
		return config.Load(path, func() (string, error) { return pw, nil })
	}
	p := g.prompter()
	if !p.terminal() {
		return config.Load(path, nil)
	}
	for try := 1; ; try++ {
		f, err := config.Load(path, func() (string, error) {
			return p.ask(ctx, g.stdio.Err, "Enter configuration password:\npassword: ", true)
		})
		if !errors.Is(err, config.ErrWrongPassword) || try == 3 {
			return f, err
		}
		fmt.Fprintln(g.stdio.Err, "Wrong password, try again.")
	}
}

// addRemoteFlags adds --config and a flag for every option of every backend
// type (--mega-user, --mega-hard-delete, ...), each naming its FERRY_*
// variable.
func addRemoteFlags(fs *pflag.FlagSet, g *globals) {
	fs.StringVar(&g.rem.configPath, "config", "",
		"config file (default $XDG_CONFIG_HOME/ferry/ferry.conf or ~/.config/ferry/ferry.conf; env "+config.EnvConfig+
			"; the password of an encrypted one from env "+config.EnvConfigPass+")")
	fs.StringVar(&g.rem.cacheDir, "cache-dir", "",
		"directory for sessions and tree caches, one subdirectory per remote (default $XDG_CACHE_HOME/ferry; env FERRY_CACHE_DIR)")
	g.rem.overrides = map[string]string{}
	for _, t := range g.registry() {
		for _, o := range t.Options {
			name := remote.FlagName(t.Name, o)
			help, _, _ := strings.Cut(o.Help, "\n")
			help = strings.TrimSuffix(help, ".")
			if o.Secret {
				help += ", in plain text (visible to other users; prefer the config file)"
			}
			help += " (env " + remote.EnvName(t.Name, o) + ")"
			v := &optionFlag{name: name, set: g.rem.overrides, bool: o.Bool}
			f := fs.VarPF(v, name, "", help)
			if o.Bool {
				f.NoOptDefVal = "true"
			}
		}
	}
}

// optionFlag is a backend option's flag: setting it records an override.
type optionFlag struct {
	name string
	set  map[string]string
	bool bool
}

func (f *optionFlag) String() string { return f.set[f.name] }

func (f *optionFlag) Set(v string) error {
	if f.bool {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("want true or false")
		}
		v = strconv.FormatBool(b)
	}
	f.set[f.name] = v
	return nil
}

func (f *optionFlag) Type() string {
	if f.bool {
		return "bool"
	}
	return "string"
}
