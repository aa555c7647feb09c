package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// countLineRE matches the file count line of the stats block.
var countLineRE = regexp.MustCompile(`Transferred:\s+(\d+) / (\d+), (\S+)\x1b`)

// TestProgressCountsAhead copies 1,500 small files with -P on a terminal,
// slowed by --bwlimit, and reads the frames the built binary draws: the
// listing runs ahead of the transfers, so a frame shows the total of
// 1,500 files while fewer than half are done, and the first frame (nothing
// known yet) does not say 100%.
func TestProgressCountsAhead(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	src, dst := t.TempDir(), t.TempDir()
	const n = 1500
	for i := range n {
		dir := filepath.Join(src, fmt.Sprintf("d%02d", i%30))
		if i < 30 {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d", i)), bytes.Repeat([]byte{'x'}, 1024), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := newConsole(t)
	// 1,500 KiB at 400 KiB/s: about 4 s, eight frames or so.
	cmd := exec.Command(ferryBinary(t), "copy", "-P", "--bwlimit", "400K", src, dst)
	c.run(t, cmd)
	c.expect("Transferred:  1500 / 1500, 100%") // the summary
	frames := countLineRE.FindAllStringSubmatch(c.out.String(), -1)
	if len(frames) < 3 {
		t.Fatalf("%d progress frames, want several:\n%q", len(frames), c.out.String())
	}
	if first := frames[0]; first[3] == "100%" {
		t.Errorf("the first frame says %q", first[0])
	}
	early := ""
	for _, f := range frames {
		done, _ := strconv.Atoi(f[1])
		total, _ := strconv.Atoi(f[2])
		if total == n && done < n/2 {
			early = f[0]
			break
		}
	}
	if early == "" {
		var seen []string
		for _, f := range frames {
			seen = append(seen, f[1]+"/"+f[2])
		}
		t.Errorf("no frame showed the total of %d files before half were done; frames: %s", n, strings.Join(seen, " "))
	}
	if got := len(readFiles(t, dst)); got != n {
		t.Errorf("%d files copied, want %d", got, n)
	}
}

// TestBwlimitRate uploads and downloads 16 MiB through the local MEGA
// server under --bwlimit: the rate the built binary reports stays within
// 5% of the limit (the bucket starts empty: a full one let a few-second
// run average 20% and more over it), an UP:DOWN pair limits each
// direction by its own rate, and a timetable is accepted.
func TestBwlimitRate(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 8 s")
	}
	_, remote := megaCLI(t)
	src, back := t.TempDir(), t.TempDir()
	data := make([]byte, 16<<20)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(src, "big.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	measure := func(limit float64, args ...string) {
		t.Helper()
		code, out, errOut := runBinStdin(t, nil, "", append(append(args, "--json"), remote...)...)
		if code != 0 {
			t.Fatalf("ferry %v: exit %d\n%s", args, code, errOut)
		}
		var st struct {
			Bytes       int64   `json:"bytes"`
			ElapsedTime float64 `json:"elapsedTime"`
		}
		if err := json.Unmarshal([]byte(out), &st); err != nil || st.Bytes != 16<<20 {
			t.Fatalf("ferry %v: stats %q (%v)", args, out, err)
		}
		rate := float64(st.Bytes) / st.ElapsedTime
		t.Logf("ferry %s: %.2f MiB/s over %.2f s (limit %.0f MiB/s)", strings.Join(args, " "), rate/(1<<20), st.ElapsedTime, limit/(1<<20))
		// The lower bound is generous: a loaded machine may not reach
		// the limit; the upper one is what --bwlimit promises.
		if rate > limit*1.05 || rate < limit*0.8 {
			t.Errorf("ferry %v: %.2f MiB/s, want within 5%% of %.0f MiB/s", args, rate/(1<<20), limit/(1<<20))
		}
	}
	measure(6<<20, "copy", "--bwlimit", "00:00,6M:2M 12:00,6M:2M", src, ":mega:bw")
	measure(4<<20, "copy", "--bwlimit", "6M:4M", ":mega:bw", back)
	if got, err := os.ReadFile(filepath.Join(back, "big.bin")); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the round trip changed the file (%v)", err)
	}
	code, _, errOut := runBinStdin(t, nil, "", "copy", "--bwlimit", "Mon-25:00,1M", src, t.TempDir())
	if code != exitUsage || !strings.Contains(errOut, "Mon-25:00,1M") {
		t.Errorf("a bad timetable: exit %d, %q", code, errOut)
	}
}

// TestParseBwlimit covers rclone's --bwlimit forms.
func TestParseBwlimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // the slots, as %v prints them
	}{
		{"10M", "[{-1 0 {10485760 10485760}}]"},
		{"512", "[{-1 0 {524288 524288}}]"},
		{"off", "[{-1 0 {0 0}}]"},
		{"10M:100M", "[{-1 0 {10485760 104857600}}]"},
		{"off:1M", "[{-1 0 {0 1048576}}]"},
		{"08:00,512k 12:00,off", "[{-1 480 {524288 524288}} {-1 720 {0 0}}]"},
		{"08:00,512k;12:00,10M:1M", "[{-1 480 {524288 524288}} {-1 720 {10485760 1048576}}]"},
		{"Mon-10:00,1M Sun-20:00,off", "[{1 600 {1048576 1048576}} {0 1200 {0 0}}]"},
		{"Saturday-0830,1M", "[{6 510 {1048576 1048576}}]"},
	} {
		got, err := parseBwlimit(tc.in)
		if err != nil || fmt.Sprint(got) != tc.want {
			t.Errorf("parseBwlimit(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "10X", "24:00,1M", "08:60,1M", "Xyz-08:00,1M", "08:00,fast", "1M:2M:3M"} {
		if _, err := parseBwlimit(bad); err == nil {
			t.Errorf("parseBwlimit(%q) accepted", bad)
		}
	}
}

// run runs cmd (a copy) with c as its terminal and waits for it to
// succeed, two minutes at the most.
func (c *console) run(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.tty, c.tty, c.tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("copy: %v\n%s", err, c.out.String())
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("copy still runs after 2 minutes:\n%s", c.out.String())
	}
}
