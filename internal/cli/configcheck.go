package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"ferry/internal/backend"
	"ferry/internal/config"
	"ferry/internal/remote"
	"ferry/internal/retry"
)

// checkRemote opens r, a remote of type t not yet saved in f, once: the
// type's Reconnect (a fresh login, whose session is cached for the next
// command) or else New and Close. Each retry prints "retrying..." to
// stderr, so a slow or absent server is not 30 silent seconds. On
// failure nothing stays behind (the cache directory the check made goes)
// and the error says how to save the remote anyway.
func (g *globals) checkRemote(ctx context.Context, f *config.File, r *config.Remote, t backend.Type) error {
	cfg, err := r.Values(t.Options)
	if err != nil {
		return err
	}
	env, err := g.resolver().EnvFor(r.Name)
	if err != nil {
		return err
	}
	env.Prompt = g.backendPrompt(true)
	ctx = retry.WithObserver(ctx, printRetries(g.stdio.Err))
	if t.Reconnect != nil {
		err = t.Reconnect(ctx, r.Name, cfg, env)
	} else {
		var b backend.Backend
		if b, err = t.New(ctx, r.Name, cfg, "", env); err == nil {
			if c, ok := b.(backend.Closer); ok {
				err = c.Close()
			}
		}
	}
	if err == nil {
		return nil
	}
	if env.CacheDir != "" && f.Remote(r.Name) == nil {
		_ = os.RemoveAll(env.CacheDir)
	}
	if ctx.Err() != nil {
		return err
	}
	err = withServerHint(err, r.Name, t.Name, cfg[optionURL], false)
	return fmt.Errorf("remote %q not saved: %w (--no-check saves it without checking)", r.Name, err)
}

// printRetries is a retry.Observer for interactive steps: one line per
// retry, so that waiting is never silent.
func printRetries(w io.Writer) retry.Observer {
	return func(_ string, attempt int, err error, delay time.Duration) {
		why := "temporary failure"
		if unreachable(err) {
			why = "no answer from the server"
		}
		fmt.Fprintf(w, "retrying... (attempt %d failed: %s; next in %v)\n", attempt, why, delay.Round(time.Millisecond))
	}
}

// optionURL is the option by which a backend names its server (MEGA's
// and MediaFire's "url"); the hints below name it.
const optionURL = "url"

// unreachable reports whether err says that nothing answered: the
// connection was refused, the host is unknown or the dial timed out.
func unreachable(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// withServerHint adds to an error saying nothing answered a hint naming
// the remote's url: most often the local server is not running, or the
// url is mistyped. Other errors pass unchanged.
func withServerHint(err error, remote, typ, serverURL string, saved bool) error {
	if err == nil || serverURL == "" || !unreachable(err) {
		return err
	}
	change := ""
	if saved {
		change = fmt.Sprintf("; \"ferry config update %s url=...\" changes the url", remote)
	}
	return fmt.Errorf("%w; nothing answers at %s, the url of remote %q: is the server running? (\"ferry serve %s\" starts a local one%s)",
		err, serverURL, remote, typ, change)
}

// serverHint is withServerHint for an error opening arg, a remote:path
// argument of a command.
func (g *globals) serverHint(ctx context.Context, arg string, err error) error {
	if !unreachable(err) {
		return err
	}
	name, _, perr := remote.Parse(arg)
	if perr != nil || name == "" {
		return err
	}
	t, cfg, oerr := g.resolver().Options(ctx, name)
	if oerr != nil {
		return err
	}
	if strings.HasPrefix(name, ":") {
		name = ":" + t.Name // no options (secrets) in messages
	}
	return withServerHint(err, name, t.Name, cfg[optionURL], !strings.HasPrefix(name, ":"))
}

// probeServer checks that something accepts connections at rawURL's host
// and port, within a few seconds. Tests replace it.
var probeServer = func(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL", rawURL)
	}
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return err
	}
	return c.Close()
}
