package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"ferry/internal/ui"
	"ferry/mediafireserver"
	"ferry/mega/megacrypto"
	"ferry/megaserver"
)

// quickstartOptions are the flags of "ferry quickstart".
type quickstartOptions struct {
	source  string // folder to upload; empty = generate a demo folder
	keep    bool   // keep the temporary directories
	backend string // "mega" or "mediafire": the embedded server to run
}

func newQuickstartCommand(g *globals) *cobra.Command {
	var o quickstartOptions
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Run the whole round trip on an embedded local MEGA or MediaFire server (no account, no network)",
		Long: `Start a MEGA-compatible server on a temporary directory, create an account,
upload a folder with MEGA's client-side encryption, list it, download it
again and verify every byte and every modification time.

With --backend mediafire the same commands run against the embedded
MediaFire stand-in ("ferry serve mediafire") and a mediafire remote.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runQuickstart(cmd.Context(), g, o)
		},
	}
	cmd.Flags().StringVar(&o.source, "source", "", "folder to upload (default: a generated demo folder)")
	cmd.Flags().BoolVar(&o.keep, "keep", false, "keep the temporary server and download directories")
	cmd.Flags().StringVar(&o.backend, "backend", "mega", "embedded server to run: mega or mediafire")
	return cmd
}

// quickstartServer is the embedded server a quickstart runs on.
type quickstartServer struct {
	handler http.Handler
	close   func() error
	// remote returns the "config create" arguments after the remote name.
	remote func(apiURL string) []string
	logins func() int64 // logins the server answered
	// what the server saw, for the closing line
	saw string
}

// startQuickstartServer opens the server of backend on dataDir and
// creates the demo account email with password.
func startQuickstartServer(ctx context.Context, g *globals, step func(string, ...any), backend, dataDir, email, password string) (*quickstartServer, error) {
	switch backend {
	case "mega":
		step("starting the MEGA server (ferry serve mega) on 127.0.0.1, data in %s", dataDir)
		srv, err := megaserver.Open(megaserver.Options{Dir: dataDir, Logger: g.logger()})
		if err != nil {
			return nil, err
		}
		step("creating the account %s (ferry serve mega adduser; the signup crypto runs client-side)", email)
		acct, err := megacrypto.NewAccount(email, []byte(password), megacrypto.AccountOptions{}, rand.Reader)
		if err == nil {
			_, err = srv.AddUser(ctx, acct, megaserver.UserOptions{Name: "ferry demo"})
		}
		if err != nil {
			srv.Close()
			return nil, err
		}
		return &quickstartServer{
			handler: srv, close: srv.Close,
			remote: func(apiURL string) []string {
				return []string{"mega", "user=" + email, "pass=" + password, "url=" + apiURL}
			},
			logins: func() int64 { return int64(srv.Logins(email)) },
			saw:    "the server never saw a key",
		}, nil
	case "mediafire":
		step("starting the MediaFire stand-in (ferry serve mediafire) on 127.0.0.1, data in %s", dataDir)
		srv, err := mediafireserver.Open(mediafireserver.Options{Dir: dataDir, Logger: g.logger()})
		if err != nil {
			return nil, err
		}
		step("creating the account %s (ferry serve mediafire adduser)", email)
		if _, err := srv.AddUser(ctx, email, password, mediafireserver.UserOptions{Name: "ferry demo"}); err != nil {
			srv.Close()
			return nil, err
		}
		return &quickstartServer{
			handler: srv, close: srv.Close,
			remote: func(apiURL string) []string {
				return []string{"mediafire", "user=" + email, "pass=" + password, "url=" + apiURL}
			},
			logins: func() int64 { return srv.Stats().Calls["user/get_session_token"] },
			saw:    "every call was signed and every download SHA-256 verified",
		}, nil
	}
	return nil, usageError{fmt.Errorf("--backend %q: want mega or mediafire", backend)}
}

func runQuickstart(ctx context.Context, g *globals, o quickstartOptions) error {
	if o.backend != "mega" && o.backend != "mediafire" {
		return usageError{fmt.Errorf("--backend %q: want mega or mediafire", o.backend)}
	}
	out := g.stdio.Out
	step := func(format string, args ...any) { fmt.Fprintf(out, "\n==> "+format+"\n", args...) }

	work, err := os.MkdirTemp("", "ferry-quickstart-")
	if err != nil {
		return err
	}
	if o.keep {
		defer fmt.Fprintf(out, "kept %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}

	src := o.source
	if src == "" {
		src = filepath.Join(work, "demo")
		step("making a demo folder %s", src)
		if err := makeDemoFolder(src); err != nil {
			return err
		}
	}

	const email = "demo@ferry.local"
	password := rand.Text()
	srv, err := startQuickstartServer(ctx, g, step, o.backend, filepath.Join(work, "server"), email, password)
	if err != nil {
		return err
	}
	defer srv.close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srvCtx, stopServer := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- serveUntilDone(srvCtx, ln, srv.handler) }()
	defer func() { stopServer(); <-served }()
	apiURL := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "    API %s\n", apiURL)

	// Every step below is an ordinary ferry command, run in-process with a
	// private config file and cache directory.
	base := []string{"--config", filepath.Join(work, "ferry.conf"), "--cache-dir", filepath.Join(work, "cache")}
	ferry := func(args ...string) error {
		shown := make([]string, len(args))
		for i, a := range args {
			shown[i] = a
			if strings.HasPrefix(a, "pass=") {
				shown[i] = "pass=***"
			}
			if strings.ContainsAny(shown[i], " <>&?") {
				shown[i] = fmt.Sprintf("%q", shown[i])
			}
		}
		fmt.Fprintf(out, "\n$ ferry %s\n", strings.Join(shown, " "))
		if code := Run(ctx, append(append([]string{}, base...), args...), Stdio{In: g.stdio.In, Out: out, Err: out}); code != exitOK {
			return fmt.Errorf("ferry %s: exit code %d", args[0], code)
		}
		return nil
	}
	back := filepath.Join(work, "download")
	steps := [][]string{
		append([]string{"config", "create", "--obscure", "demo"}, srv.remote(apiURL)...),
		{"copy", "-v", src, "demo:quickstart"},
		{"lsl", "demo:quickstart"},
		{"check", src, "demo:quickstart"},
		{"link", "demo:quickstart/README.txt"},
		{"copy", "-v", "demo:quickstart", back},
		{"check", "demo:quickstart", back},
		{"sync", "-v", src, "demo:quickstart"},
		{"about", "demo:"},
	}
	switch {
	case o.source != "" && o.backend == "mediafire":
		steps = slices.Delete(steps, 4, 5) // MediaFire links files, not folders
	case o.source != "":
		steps[4] = []string{"link", "demo:quickstart"}
	}
	for _, args := range steps {
		if err := ferry(args...); err != nil {
			return err
		}
	}

	step("verifying the copy back byte by byte and its modification times against %s", src)
	n, err := compareTrees(src, back)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "    %d files identical, mtimes preserved\n", n)
	fmt.Fprintf(out, "\n==> done: %d commands, %d login(s) on the server; %s.\n", len(steps), srv.logins(), srv.saw)
	return nil
}

// makeDemoFolder writes a small tree with sizes around MEGA's chunk
// boundaries, an empty file, odd names and a duplicate-free subfolder.
func makeDemoFolder(dir string) error {
	rng := mrand.New(mrand.NewPCG(1, 2))
	files := []struct {
		name string
		size int
	}{
		{"README.txt", 0},
		{"empty.bin", 0},
		{"notes/hello world.txt", 0},
		{"notes/ünïcødé & <odd>?.txt", 0},
		{"photos/small.jpg", 131071},
		{"photos/boundary.jpg", 131072},
		{"photos/big.raw", 5<<20 + 3},
		{"archive/2024/data.tar", 3 << 20},
	}
	mtime := time.Date(2024, 5, 17, 12, 34, 56, 0, time.UTC)
	for _, f := range files {
		name, size := f.name, f.size
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		var data []byte
		switch {
		case name == "README.txt":
			data = []byte("Uploaded by ferry quickstart with MEGA client-side encryption.\n")
		case name == "notes/hello world.txt" || name == "notes/ünïcødé & <odd>?.txt":
			data = []byte("hello from " + name + "\n")
		default:
			data = make([]byte, size)
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			return err
		}
		mtime = mtime.Add(time.Hour)
	}
	return nil
}

// compareTrees checks that every regular file under a has an identical copy
// with the same mtime (to the second) under b.
func compareTrees(a, b string) (int, error) {
	n := 0
	err := filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(a, p)
		q := filepath.Join(b, rel)
		ha, ia, err := hashFile(p)
		if err != nil {
			return err
		}
		hb, ib, err := hashFile(q)
		if err != nil {
			return fmt.Errorf("verify %s: %w", rel, err)
		}
		if !bytes.Equal(ha, hb) {
			return fmt.Errorf("verify %s: contents differ", rel)
		}
		if ia.ModTime().Unix() != ib.ModTime().Unix() {
			return fmt.Errorf("verify %s: mtime %v, want %v", rel, ib.ModTime(), ia.ModTime())
		}
		n++
		return nil
	})
	if err == nil && n == 0 {
		err = errors.New("verify: no files compared")
	}
	return n, err
}

func hashFile(p string) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	return h.Sum(nil), fi, err
}

func formatRate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return ui.FormatRate(float64(n) / d.Seconds())
}
