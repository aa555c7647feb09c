package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"ferry/mediafireserver"
	"ferry/mega/megacrypto"
	"ferry/megaserver"
)

func newServeCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:         "serve",
		Short:       "Serve a storage protocol locally",
		Args:        groupArgs("protocol"),
		RunE:        groupRun,
		Annotations: map[string]string{annotationDaemon: "true", annotationGroup: ""},
	}
	cmd.AddCommand(newServeMegaCommand(g))
	cmd.AddCommand(newServeMediaFireCommand(g))
	return cmd
}

// serveMegaOptions are the flags of "ferry serve mega".
type serveMegaOptions struct {
	listen     string
	data       string
	faults     string
	hashcash   int
	baseURL    string
	maxRequest int64
	limits     megaserver.Limits
}

// defaultServerDir is where "serve mega" keeps its data without --data:
// $XDG_DATA_HOME/ferry/megaserver or ~/.local/share/ferry/megaserver.
func defaultServerDir() string { return serverDataDir("megaserver") }

// serverDataDir is $XDG_DATA_HOME/ferry/<name>, or
// ~/.local/share/ferry/<name>.
func serverDataDir(name string) string {
	base := os.Getenv("XDG_DATA_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "ferry-" + name
		}
		base = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(base, "ferry", name)
}

func newServeMegaCommand(g *globals) *cobra.Command {
	var o serveMegaOptions
	cmd := &cobra.Command{
		Use:   "mega",
		Short: "Run a MEGA-compatible API server on a local data directory",
		Long: `Run a persistent, multi-user, MEGA-compatible API server.

Any MEGA client that can be pointed at another API URL works against it:
ferry itself (url = http://127.0.0.1:4430 in a remote), go-mega and rclone
(X_MEGA_API_URL=http://127.0.0.1:4430). Create accounts with
"ferry serve mega adduser".

Limits keep slow, silent or greedy clients from costing more than a bounded
share: connections per address and in total (at the total a newcomer evicts
the oldest connection of the address holding the most), header, body, write
and idle timeouts (body and write deadlines move with the data, so large
transfers at any ordinary speed are not cut), commands per batch, whole-tree
walks (f, uq) per request and user, and idle upload slots. A negative value
turns a limit off.

Faults (off by default) make it misbehave for client tests, e.g.
  --faults 'eagain=0.05,http500=0.02,drop=0.01,slow=0.01,slowdelay=2s,logins=20/min'
eagain, http500, drop and slow hit every endpoint; prefixed with cs., ul. or
dl. they hit only the API (/cs), chunk uploads (/ul/, errors answered as a
negative number in the body, as MEGA does) or downloads (/dl/), e.g.
  --faults 'cs.eagain=0.05,ul.http500=0.01,dl.drop=0.02'`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServeMega(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:4430", "address to listen on")
	f.StringVar(&o.data, "data", defaultServerDir(), "data directory (metadata and encrypted blobs)")
	f.StringVar(&o.faults, "faults", "", "inject faults: eagain=P,http500=P,drop=P,slow=P (each also as cs.KEY, ul.KEY or dl.KEY for one endpoint),slowdelay=D,logins=N/min")
	f.IntVar(&o.hashcash, "hashcash", 0, "require a hashcash proof of this easiness (1-255) on every login; 0 = off")
	f.StringVar(&o.baseURL, "base-url", "", "scheme://host used in upload and download URLs (default: from each request's Host)")
	d := megaserver.DefaultLimits
	l := &o.limits
	f.IntVar(&l.MaxConns, "max-conns", d.MaxConns, "connections open at once (at most 3/4 of the open-file limit)")
	f.IntVar(&l.MaxConnsPerIP, "max-conns-per-ip", d.MaxConnsPerIP, "connections open at once from one IP address")
	f.DurationVar(&l.ReadHeaderTimeout, "read-header-timeout", d.ReadHeaderTimeout, "time to read a request's headers")
	f.DurationVar(&l.IdleTimeout, "idle-timeout", d.IdleTimeout, "close keep-alive connections idle this long")
	f.DurationVar(&l.BodyTimeout, "body-timeout", d.BodyTimeout, "longest pause in a request body")
	f.Int64Var(&l.MinBodyRate, "min-body-rate", d.MinBodyRate, "bytes per second a request body must average after its first --body-timeout")
	f.DurationVar(&l.WriteTimeout, "write-timeout", d.WriteTimeout, "longest stall of a reply the client does not read")
	f.Int64Var(&o.maxRequest, "max-request-bytes", 16<<20, "largest command (/cs) request body")
	f.IntVar(&l.MaxBatchCommands, "max-batch", d.MaxBatchCommands, "commands in one request")
	f.IntVar(&l.MaxTreeWalksPerUser, "max-tree-walks", d.MaxTreeWalksPerUser, "whole-tree walks (f, uq) running at once per user; one per request")
	f.DurationVar(&l.UploadIdleTTL, "upload-idle-ttl", d.UploadIdleTTL, "drop upload slots without data for this long")
	f.IntVar(&l.MaxUploadsPerUser, "max-uploads-per-user", d.MaxUploadsPerUser, "upload slots per account (the longest-idle one is recycled at the limit)")
	cmd.AddCommand(newAddUserCommand(g))
	return cmd
}

func runServeMega(ctx context.Context, g *globals, o serveMegaOptions) error {
	faults, err := megaserver.ParseFaults(o.faults)
	if err != nil {
		return usagef("--faults: %w", err)
	}
	if o.hashcash < 0 || o.hashcash > 255 {
		return usagef("--hashcash %d: want 0 (off) to 255", o.hashcash)
	}
	if err := os.MkdirAll(o.data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	log := g.logger()
	srv, err := megaserver.Open(megaserver.Options{
		Dir: o.data, Logger: log, Faults: faults, HashcashEasiness: o.hashcash, BaseURL: o.baseURL,
		MaxRequestBytes: o.maxRequest, Limits: o.limits,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(g.stdio.Out, "ferry: MEGA API on http://%s (data %s)\n", ln.Addr(), o.data)
	if o.faults != "" {
		fmt.Fprintf(g.stdio.Out, "ferry: injecting faults: %v\n", faults)
	}
	return serveAPI(ctx, log, srv, ln)
}

// apiServer is what "serve mega" and "serve mediafire" run: a server
// with its own Serve, graceful Shutdown and Close.
type apiServer interface {
	Serve(ln net.Listener) error
	Shutdown(ctx context.Context) error
	Close() error
}

// serveAPI serves srv on ln until ctx ends, then shuts it down, giving
// requests in progress 5s, and closes it (which also ends requests still
// blocked, such as MEGA's wait requests).
func serveAPI(ctx context.Context, log *slog.Logger, srv apiServer, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		// Clients still in the middle of a request (or of sending one)
		// after the grace period are cut; that is not the server failing.
		log.Warn("shutdown: closing the connections still busy after 5s")
		err = nil
	}
	srv.Close()
	<-errc
	return err
}

// serveUntilDone serves h on ln until ctx ends, then shuts down gracefully.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler) error {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(shutdownCtx)
	<-errc
	return err
}

// addUserOptions are the flags of "ferry serve mega adduser".
type addUserOptions struct {
	data   string
	v1     bool
	noKeys bool
	mfa    bool
	name   string
}

func newAddUserCommand(g *globals) *cobra.Command {
	var o addUserOptions
	cmd := &cobra.Command{
		Use:   "adduser EMAIL",
		Short: "Create an account on the local MEGA server's data directory",
		Long: `Create an account. The password comes from $FERRY_PASSWORD or a prompt.

The client-side signup crypto runs here, as in a real signup: the server's
store only ever holds the salt, a hash of the derived auth key, the master
key wrapped under the password key and the wrapped RSA key pair. Run it while
the server is stopped (the data directory is locked while it runs).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAddUser(cmd.Context(), g, o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.data, "data", defaultServerDir(), "data directory of the server")
	f.BoolVar(&o.v1, "v1", false, "create a legacy v1 account (only ASCII passwords interoperate)")
	f.BoolVar(&o.noKeys, "no-keys", false, "create the account without an RSA key pair (as before a first browser login)")
	f.BoolVar(&o.mfa, "mfa", false, "enable two-factor authentication and print the TOTP secret")
	f.StringVar(&o.name, "name", "", "display name")
	return cmd
}

// envPassword names the variable that supplies passwords non-interactively.
const envPassword = "FERRY_PASSWORD"

func runAddUser(ctx context.Context, g *globals, o addUserOptions, email string) error {
	password, err := newUserPassword(g, email)
	if err != nil {
		return err
	}
	acct, err := megacrypto.NewAccount(email, []byte(password), megacrypto.AccountOptions{V1: o.v1, NoKeys: o.noKeys}, rand.Reader)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	srv, err := megaserver.Open(megaserver.Options{Dir: o.data, Logger: g.logger()})
	if err != nil {
		return err
	}
	defer srv.Close()
	uo := megaserver.UserOptions{Name: o.name}
	if o.mfa {
		uo.MFASecret = make([]byte, 20)
		if _, err := rand.Read(uo.MFASecret); err != nil {
			return err
		}
	}
	handle, err := srv.AddUser(ctx, acct, uo)
	if err != nil {
		return err
	}
	kind := "v2"
	if o.v1 {
		kind = "v1"
	}
	fmt.Fprintf(g.stdio.Out, "created %s account %s (user handle %s) in %s\n", kind, acct.Email, handle, o.data)
	if o.mfa {
		secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(uo.MFASecret)
		fmt.Fprintf(g.stdio.Out, "two-factor secret: %s\notpauth://totp/ferry:%s?secret=%s&issuer=ferry\n",
			secret, url.PathEscape(acct.Email), secret)
	}
	return nil
}

// newUserPassword checks the e-mail address of an adduser command and
// reads the new account's password (see readNewPassword).
func newUserPassword(g *globals, email string) (string, error) {
	if !strings.Contains(email, "@") {
		return "", usagef("adduser: %q is not an e-mail address", email)
	}
	return readNewPassword(g)
}

// readNewPassword takes the password from $FERRY_PASSWORD, or asks twice on
// a terminal, or reads one line from a non-terminal stdin.
func readNewPassword(g *globals) (string, error) {
	if p, ok := os.LookupEnv(envPassword); ok {
		if p == "" {
			return "", usagef("$%s is set but empty", envPassword)
		}
		return p, nil
	}
	if f, ok := g.stdio.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(g.stdio.Err, "password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(g.stdio.Err)
		if err != nil {
			return "", err
		}
		fmt.Fprint(g.stdio.Err, "password again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(g.stdio.Err)
		if err != nil {
			return "", err
		}
		if string(p1) != string(p2) {
			return "", errors.New("passwords do not match")
		}
		if len(p1) == 0 {
			return "", errors.New("empty password")
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(g.stdio.In).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		if err != nil {
			return "", fmt.Errorf("no password on stdin and $%s unset: %w", envPassword, err)
		}
		return "", errors.New("empty password")
	}
	return line, nil
}

// serveMediaFireOptions are the flags of "ferry serve mediafire".
type serveMediaFireOptions struct {
	listen string
	data   string
	faults string
	tls    bool
	apps   []string
}

func newServeMediaFireCommand(g *globals) *cobra.Command {
	var o serveMediaFireOptions
	cmd := &cobra.Command{
		Use:   "mediafire",
		Short: "Run a MediaFire Core API stand-in on a local data directory",
		Long: `Run a persistent, multi-user stand-in for MediaFire's Core API (1.3-1.5).

Clients that can be pointed at another base URL work against it: ferry's
mediafire backend, MediaFire's npm SDK (v1 tokens), the Python SDK under
duplicity (with --tls: it rewrites download links to https). Create
accounts with "ferry serve mediafire adduser". Sessions live in memory, so
after a restart clients log in again (105).

--tls serves HTTPS with a test CA made once in the data directory; its
path is printed so that clients can trust it (REQUESTS_CA_BUNDLE for
Python). Plain HTTP is the default.

Faults (off by default) make it misbehave for client tests, in the syntax
of "ferry serve mega --faults" with API methods (and dl for downloads) as
prefixes and counts ("1x": the next request) as well as probabilities:
  --faults 'http500=0.02,lost=0.01,upload/poll_upload.status17=1x,dl.truncate=1x'
Faults: lost (run the call, rotate the key, answer an HTML 502), drop,
http500, error100, expire (105), ratelimit (163), slow (slowdelay=D),
truncate and corrupt (downloads), status17 (upload/poll_upload),
fileerror7 (upload/simple, upload/resumable); seed=N repeats a run.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServeMediaFire(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:4431", "address to listen on")
	f.StringVar(&o.data, "data", serverDataDir("mediafireserver"), "data directory (metadata, blobs and the test CA)")
	f.StringVar(&o.faults, "faults", "", "inject faults: KIND=P or KIND=Nx, each optionally prefixed METHOD. (e.g. upload/poll_upload.status17=1x), slowdelay=D, seed=N")
	f.BoolVar(&o.tls, "tls", false, "serve HTTPS with a test CA kept in the data directory")
	f.StringArrayVar(&o.apps, "app", nil, "application id logins may use, as ID or ID:APIKEY (repeatable; default 45593, duplicity's, without a key)")
	cmd.AddCommand(newMediaFireAddUserCommand(g))
	return cmd
}

// parseApps turns --app values into Options.Apps; none means the
// server's default.
func parseApps(values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	apps := make(map[string]string, len(values))
	for _, v := range values {
		id, key, _ := strings.Cut(v, ":")
		if id == "" || strings.Trim(id, "0123456789") != "" {
			return nil, fmt.Errorf("--app %q: want a numeric application id, optionally :APIKEY", v)
		}
		apps[id] = key
	}
	return apps, nil
}

func runServeMediaFire(ctx context.Context, g *globals, o serveMediaFireOptions) error {
	faults, err := mediafireserver.ParseFaults(o.faults)
	if err != nil {
		return usagef("--faults: %w", err)
	}
	apps, err := parseApps(o.apps)
	if err != nil {
		return usagef("%w", err)
	}
	if err := os.MkdirAll(o.data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	log := g.logger()
	srv, err := mediafireserver.Open(mediafireserver.Options{Dir: o.data, Logger: log, Faults: faults, Apps: apps})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	scheme := "http"
	if o.tls {
		ca, err := mediafireserver.LoadOrCreateTestCA(o.data)
		if err != nil {
			ln.Close()
			return err
		}
		host, _, _ := net.SplitHostPort(o.listen)
		cfg, err := ca.ServerConfig(host)
		if err != nil {
			ln.Close()
			return err
		}
		ln = tls.NewListener(ln, cfg)
		scheme = "https"
		fmt.Fprintf(g.stdio.Out, "ferry: test CA certificate %s (trust it: REQUESTS_CA_BUNDLE=%s)\n", ca.CertPath, ca.CertPath)
	}
	fmt.Fprintf(g.stdio.Out, "ferry: MediaFire API on %s://%s (data %s)\n", scheme, ln.Addr(), o.data)
	if o.faults != "" {
		fmt.Fprintf(g.stdio.Out, "ferry: injecting faults: %v\n", faults)
	}
	return serveAPI(ctx, log, srv, ln)
}

// mediaFireAddUserOptions are the flags of "ferry serve mediafire adduser".
type mediaFireAddUserOptions struct {
	data string
	name string
}

func newMediaFireAddUserCommand(g *globals) *cobra.Command {
	var o mediaFireAddUserOptions
	cmd := &cobra.Command{
		Use:   "adduser EMAIL",
		Short: "Create an account on the local MediaFire stand-in's data directory",
		Long: `Create an account. The password comes from $FERRY_PASSWORD or a prompt and
must be ASCII (clients sign logins over its bytes). The stand-in keeps it
in its data directory: MediaFire's login signature is a hash over the
password, so the server must know it. Run it while the server is stopped
(the data directory is locked while it runs).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMediaFireAddUser(cmd.Context(), g, o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.data, "data", serverDataDir("mediafireserver"), "data directory of the server")
	f.StringVar(&o.name, "name", "", "display name")
	return cmd
}

func runMediaFireAddUser(ctx context.Context, g *globals, o mediaFireAddUserOptions, email string) error {
	password, err := newUserPassword(g, email)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	srv, err := mediafireserver.Open(mediafireserver.Options{Dir: o.data, Logger: g.logger()})
	if err != nil {
		return err
	}
	defer srv.Close()
	id, err := srv.AddUser(ctx, email, password, mediafireserver.UserOptions{Name: o.name})
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdio.Out, "created account %s (user id %s) in %s\n", email, id, o.data)
	return nil
}
