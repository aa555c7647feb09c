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
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"ferry/mega"
	"ferry/mega/megacrypto"
	"ferry/megaserver"
)

// quickstartOptions are the flags of "ferry quickstart".
type quickstartOptions struct {
	source string // folder to upload; empty = generate a demo folder
	keep   bool   // keep the temporary directories
}

func newQuickstartCommand(g *globals) *cobra.Command {
	var o quickstartOptions
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Run the whole MEGA round trip on an embedded local server (no account, no network)",
		Long: `Start a MEGA-compatible server on a temporary directory, create an account,
upload a folder with MEGA's client-side encryption, list it, download it
again and verify every byte and every modification time.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runQuickstart(cmd.Context(), g, o)
		},
	}
	cmd.Flags().StringVar(&o.source, "source", "", "folder to upload (default: a generated demo folder)")
	cmd.Flags().BoolVar(&o.keep, "keep", false, "keep the temporary server and download directories")
	return cmd
}

func runQuickstart(ctx context.Context, g *globals, o quickstartOptions) error {
	out := g.stdio.Out
	step := func(format string, args ...any) { fmt.Fprintf(out, "==> "+format+"\n", args...) }

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

	dataDir := filepath.Join(work, "server")
	step("starting the MEGA server on 127.0.0.1 (data %s)", dataDir)
	srv, err := megaserver.Open(megaserver.Options{Dir: dataDir, Logger: g.logger()})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srvCtx, stopServer := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- serveUntilDone(srvCtx, ln, srv) }()
	defer func() { stopServer(); <-served }()
	apiURL := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "    API %s\n", apiURL)

	const email = "demo@ferry.local"
	password := rand.Text()
	step("creating account %s (v2, PBKDF2; signup crypto runs client-side)", email)
	acct, err := megacrypto.NewAccount(email, []byte(password), megacrypto.AccountOptions{}, rand.Reader)
	if err != nil {
		return err
	}
	if _, err := srv.AddUser(ctx, acct, megaserver.UserOptions{Name: "ferry demo"}); err != nil {
		return err
	}

	step("logging in")
	c := mega.New(mega.Options{APIURL: apiURL, Logger: g.logger()})
	if err := c.Login(ctx, email, password, mega.LoginOptions{}); err != nil {
		return err
	}
	if err := c.FetchTree(ctx); err != nil {
		return err
	}

	step("uploading %s to /quickstart", src)
	start := time.Now()
	top, err := c.Mkdir(ctx, c.Root(), "quickstart")
	if err != nil {
		return err
	}
	files, bytesUp, err := uploadTree(ctx, c, top, src)
	if err != nil {
		return err
	}
	up := time.Since(start)
	fmt.Fprintf(out, "    %d files, %s in %v (%s)\n", files, formatBytes(bytesUp), up.Round(time.Millisecond), formatRate(bytesUp, up))

	step("listing /quickstart")
	listTree(out, c, top, "    ")

	dst := filepath.Join(work, "download")
	step("downloading /quickstart to %s (meta-MAC verified)", dst)
	start = time.Now()
	bytesDown, err := downloadTree(ctx, c, top, dst)
	if err != nil {
		return err
	}
	down := time.Since(start)
	fmt.Fprintf(out, "    %s in %v (%s)\n", formatBytes(bytesDown), down.Round(time.Millisecond), formatRate(bytesDown, down))

	step("verifying contents and modification times against %s", src)
	n, err := compareTrees(src, dst)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "    %d files identical, mtimes preserved\n", n)

	q, err := c.Quota(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "==> done: %s stored encrypted on the server; the server never saw a key.\n", formatBytes(q.Used))
	return c.Logout(ctx)
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

// uploadTree uploads the contents of dir into parent.
func uploadTree(ctx context.Context, c *mega.Client, parent *mega.Node, dir string) (files int, size int64, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir():
			sub, err := c.Mkdir(ctx, parent, e.Name())
			if err != nil {
				return files, size, err
			}
			n, s, err := uploadTree(ctx, c, sub, p)
			files, size = files+n, size+s
			if err != nil {
				return files, size, err
			}
		case e.Type().IsRegular():
			n, err := c.UploadFile(ctx, parent, e.Name(), p)
			if err != nil {
				return files, size, err
			}
			files, size = files+1, size+n.Size
		}
	}
	return files, size, nil
}

// listTree prints the tree under n like "ls -R" with sizes and mtimes.
func listTree(w io.Writer, c *mega.Client, n *mega.Node, indent string) {
	kids := c.Children(n)
	sort.Slice(kids, func(i, j int) bool { return kids[i].Name < kids[j].Name })
	for _, k := range kids {
		if k.IsDir() {
			fmt.Fprintf(w, "%s%12s  %s  %s/\n", indent, "-", k.ModTime.Local().Format("2006-01-02 15:04:05"), k.Name)
			listTree(w, c, k, indent+"    ")
			continue
		}
		fmt.Fprintf(w, "%s%12d  %s  %s\n", indent, k.Size, k.ModTime.Local().Format("2006-01-02 15:04:05"), k.Name)
	}
}

// downloadTree downloads the tree under n into dir, restoring mtimes.
func downloadTree(ctx context.Context, c *mega.Client, n *mega.Node, dir string) (int64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	var total int64
	for _, k := range c.Children(n) {
		p := filepath.Join(dir, k.Name)
		if k.IsDir() {
			s, err := downloadTree(ctx, c, k, p)
			total += s
			if err != nil {
				return total, err
			}
			continue
		}
		f, err := os.Create(p)
		if err != nil {
			return total, err
		}
		err = c.Download(ctx, k, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(p)
			return total, fmt.Errorf("download %s: %w", c.Path(k), err)
		}
		if err := os.Chtimes(p, k.ModTime, k.ModTime); err != nil {
			return total, err
		}
		total += k.Size
	}
	return total, nil
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

func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func formatRate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return formatBytes(int64(float64(n)/d.Seconds())) + "/s"
}
