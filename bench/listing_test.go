package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	gomega "github.com/t3rm1n4l/go-mega"

	"ferry/megaserver/megaservertest"
)

// TestBenchListing lists a tree of $FERRY_BENCH_NODES nodes (default
// 100,000: folders of 100 entries) three ways against one loopback server,
// each in a process of its own so that its peak RSS can be measured:
//
//   - gomega: go-mega's Login, which logs in and fetches the whole tree;
//     rclone's mega backend does this on every command.
//   - ferry-cold: `ferry lsf -R m:` with an empty --cache-dir: login, full
//     fetch, cache written, listing printed.
//   - ferry-warm: the same with the cache dir of an earlier run: session
//     resumed, tree cache loaded, action packets since its sn applied.
//
// The tree holds folders only (a file node needs an upload each; 100,000
// uploads take too long to build), so ferry runs `lsf -R`, which prints
// folders too, rather than `ls -R`, which prints files only; both walk the
// whole tree. The test checks that ferry printed one line per node and
// go-mega saw every node. It runs only with FERRY_BENCH_CLI=1 and logs
// lines bench/cli.sh turns into a table:
//
//	LISTING tool=ferry-warm run=1 nodes=100000 seconds=0.123 maxrss_kib=45678
func TestBenchListing(t *testing.T) {
	if os.Getenv(cliMode) == "gomega-list" {
		if err := cliGoMegaListChild(os.Getenv(cliURLEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "go-mega child:", err)
			os.Exit(1)
		}
		return
	}
	cliSkip(t)
	nodes := 100_000
	if n, err := strconv.Atoi(os.Getenv("FERRY_BENCH_NODES")); err == nil && n > 0 {
		nodes = n
	}
	ts := cliServer(t)
	start := time.Now()
	if err := megaservertest.FillFolders(t.Context(), ts.URL, megaservertest.UserV2, megaservertest.PasswordV2, nodes, cliFolderName); err != nil {
		t.Fatalf("fill the tree: %v", err)
	}
	t.Logf("built a tree of %d folders in %v", nodes, time.Since(start).Round(time.Millisecond))
	f := newCLIFerry(t, ts.URL)

	warm := t.TempDir()
	if r := f.mustRun(t, warm, "lsf", "-R", "m:"); cliCountLines(r.stdout) != nodes {
		t.Fatalf("ferry lsf -R printed %d lines, want %d", cliCountLines(r.stdout), nodes)
	}
	report := func(tool string, run int, r cliRun) {
		t.Logf("LISTING tool=%s run=%d nodes=%d seconds=%.4f maxrss_kib=%d", tool, run, nodes, r.wall.Seconds(), r.maxRSSKiB)
	}
	for run := 1; run <= cliRuns(t); run++ {
		r, err := cliChildRun("TestBenchListing", "gomega-list", cliURLEnv+"="+ts.URL)
		if err != nil {
			t.Fatalf("go-mega child: %v", err)
		}
		if want := fmt.Sprintf("NODES=%d\n", nodes); !strings.HasPrefix(string(r.stdout), want) {
			t.Fatalf("go-mega child printed %q, want %q first", r.stdout, want)
		}
		report("gomega", run, r)

		for _, c := range []struct{ tool, cache string }{{"ferry-cold", t.TempDir()}, {"ferry-warm", warm}} {
			args := []string{"lsf", "-R", "m:"}
			if dir := os.Getenv("FERRY_BENCH_CPUPROFILE"); dir != "" {
				args = append(args, "--cpuprofile", fmt.Sprintf("%s/%s-%d.prof", dir, c.tool, run))
			}
			r, err := f.run(c.cache, args...)
			if err != nil {
				t.Fatalf("%s: %v", c.tool, err)
			}
			if n := cliCountLines(r.stdout); n != nodes {
				t.Fatalf("%s: ferry lsf -R printed %d lines, want %d", c.tool, n, nodes)
			}
			report(c.tool, run, r)
			if c.tool == "ferry-cold" {
				os.RemoveAll(c.cache)
			}
		}
	}
	logins := ts.Server.Logins(megaservertest.UserV2)
	t.Logf("server saw %d logins", logins)
}

// cliGoMegaListChild is the child's side: go-mega's Login (login + `f`),
// then a walk of the tree, printing the number of nodes under the root.
func cliGoMegaListChild(url string) error {
	m, err := cliGoMega(url)
	if err != nil {
		return err
	}
	var walk func(n *gomega.Node) (int, error)
	walk = func(n *gomega.Node) (int, error) {
		kids, err := m.FS.GetChildren(n)
		if err != nil {
			return 0, err
		}
		total := len(kids)
		for _, k := range kids {
			if k.GetType() == gomega.FOLDER {
				c, err := walk(k)
				if err != nil {
					return 0, err
				}
				total += c
			}
		}
		return total, nil
	}
	n, err := walk(m.FS.GetRoot())
	if err != nil {
		return err
	}
	fmt.Printf("NODES=%d\n", n)
	return nil
}

// cliFolderName names node i of the listing tree.
func cliFolderName(i int) string {
	if i%100 == 0 {
		return fmt.Sprintf("folder-%05d", i/100)
	}
	return fmt.Sprintf("dir-%07d", i)
}
