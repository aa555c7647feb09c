package cli

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestListFormats runs the built binary's listings against the local MEGA
// server as scripts read them: lsf's --format letters, -s, --csv,
// --dir-slash and --hash; lsjson's one object a line with MimeType,
// --stat, --no-modtime and --hash (MEGA's fingerprint); the filter flags
// on the listings; tree's └── and flags; size --json on one line; about
// in binary units only.
func TestListFormats(t *testing.T) {
	_, remote := megaCLI(t)
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"a.txt": "alpha", "b, c.jpg": "bravo!", "sub/d.txt": "delta", "sub/deep/e.log": "echo"})
	run := func(args ...string) string {
		t.Helper()
		code, out, errOut := runBinStdin(t, nil, "", append(args, remote...)...)
		if code != 0 {
			t.Fatalf("ferry %v: exit %d\n%s", args, code, errOut)
		}
		return out
	}
	run("copy", src, ":mega:l")

	// lsf.
	if out := run("lsf", ":mega:l"); out != "a.txt\nb, c.jpg\nsub/\n" {
		t.Errorf("lsf: %q", out)
	}
	if out := run("lsf", "--dir-slash=false", "--dirs-only", ":mega:l"); out != "sub\n" {
		t.Errorf("lsf --dir-slash=false --dirs-only: %q", out)
	}
	out := run("lsf", "--format", "psthim", "-s", "|", "--files-only", "-R", ":mega:l")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	fields := strings.Split(lines[0], "|")
	stamp := xferTime.Local().Format("2006-01-02 15:04:05")
	if len(lines) != 4 || len(fields) != 6 || fields[0] != "a.txt" || fields[1] != "5" || fields[2] != stamp ||
		len(fields[3]) < 20 || fields[4] == "" || fields[5] != "text/plain; charset=utf-8" {
		t.Errorf("lsf --format psthim -s '|' (time want %s):\n%s", stamp, out)
	}
	out = run("lsf", "--csv", "--format", "ps", ":mega:l")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 3 || recs[1][0] != "b, c.jpg" || recs[1][1] != "6" || recs[2][1] != "-1" || !strings.Contains(out, `"b, c.jpg",6`) {
		t.Errorf("lsf --csv --format ps: %q (%v)", out, err)
	}
	if out := run("lsf", "--format", "h", "--hash", "fingerprint", ":mega:l/a.txt"); len(strings.TrimSpace(out)) < 20 {
		t.Errorf("lsf --format h --hash fingerprint: %q", out)
	}
	if code, _, errOut := runBinStdin(t, nil, "", append([]string{"lsf", "--format", "px", ":mega:l"}, remote...)...); code != exitUsage || !strings.Contains(errOut, "'x'") {
		t.Errorf("lsf --format px: exit %d %q", code, errOut)
	}

	// lsjson: "[", one object a line, "]"; rclone's fields.
	out = run("lsjson", "--hash", ":mega:l")
	lines = strings.Split(out, "\n")
	if len(lines) != 6 || lines[0] != "[" || lines[4] != "]" || !strings.HasSuffix(lines[1], "},") || strings.HasSuffix(lines[3], ",") {
		t.Fatalf("lsjson layout:\n%s", out)
	}
	var objs []map[string]any
	if err := json.Unmarshal([]byte(out), &objs); err != nil || len(objs) != 3 {
		t.Fatalf("lsjson: %v\n%s", err, out)
	}
	a, sub := objs[0], objs[2]
	if a["Path"] != "a.txt" || a["MimeType"] != "text/plain; charset=utf-8" || a["Size"] != 5.0 || a["IsDir"] != false || a["ModTime"] == nil {
		t.Errorf("lsjson a.txt: %v", a)
	}
	if h, _ := a["Hashes"].(map[string]any); h == nil || len(h["mega"].(string)) < 20 {
		t.Errorf("lsjson --hash: %v", a)
	}
	if sub["MimeType"] != "inode/directory" || sub["Size"] != -1.0 || sub["IsDir"] != true {
		t.Errorf("lsjson sub: %v", sub)
	}
	if !regexp.MustCompile(`^\{"Path":"a.txt","Name":"a.txt","Size":5,"MimeType":"text/plain; charset=utf-8","ModTime":"[^"]+","IsDir":false,`).MatchString(lines[1]) {
		t.Errorf("lsjson field order: %s", lines[1])
	}
	out = run("lsjson", "--stat", "--no-modtime", ":mega:l/sub/d.txt")
	var one map[string]any
	if err := json.Unmarshal([]byte(out), &one); err != nil || one["Name"] != "d.txt" || one["ModTime"] != nil || strings.Count(out, "\n") != 1 {
		t.Errorf("lsjson --stat --no-modtime: %q (%v)", out, err)
	}
	if out := run("lsjson", "--files-only", ":mega:l/sub", "--include", "*.zip"); out != "[\n]\n" {
		t.Errorf("an empty lsjson: %q", out)
	}

	// Filters on the listings.
	if out := run("lsf", "-R", "--include", "*.txt", ":mega:l"); out != "a.txt\nsub/\nsub/d.txt\nsub/deep/\n" {
		t.Errorf("lsf -R --include *.txt: %q", out)
	}
	if out := run("ls", "--exclude", "sub/**", ":mega:l"); strings.Contains(out, "sub/") || !strings.Contains(out, "a.txt") {
		t.Errorf("ls --exclude sub/**: %q", out)
	}
	if out := run("size", "--json", "--min-size", "6B", ":mega:l"); out != `{"count":1,"bytes":6,"sizeless":0}`+"\n" {
		t.Errorf("size --json --min-size 6B: %q", out)
	}
	if out := run("size", "--json", ":mega:l"); out != `{"count":4,"bytes":20,"sizeless":0}`+"\n" {
		t.Errorf("size --json: %q", out)
	}

	// tree.
	want := "/\n├── a.txt\n├── b, c.jpg\n└── sub\n    ├── d.txt\n    └── deep\n        └── e.log\n\n2 directories, 4 files\n"
	if out := run("tree", ":mega:l"); out != want {
		t.Errorf("tree:\n%s\nwant:\n%s", out, want)
	}
	if out := run("tree", "-d", "--noreport", ":mega:l"); out != "/\n└── sub\n    └── deep\n" {
		t.Errorf("tree -d --noreport:\n%s", out)
	}
	if out := run("tree", "-L", "1", "-s", "--noreport", ":mega:l"); out != "/\n├── [          5]  a.txt\n├── [          6]  b, c.jpg\n└── [          0]  sub\n" {
		t.Errorf("tree -L 1 -s:\n%s", out)
	}
	if out := run("tree", "--exclude", "*.log", "--noreport", ":mega:l/sub"); out != "/\n├── d.txt\n└── deep\n" {
		t.Errorf("tree --exclude *.log:\n%s", out)
	}

	// about: binary units only (rclone's), never "GB" beside "GiB".
	out = run("about", ":mega:")
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !regexp.MustCompile(`^[A-Z][a-z]+: +\d+(\.\d+)? (B|[KMGTPE]iB)$`).MatchString(l) {
			t.Errorf("about line %q is not in binary units", l)
		}
	}
}

// TestCheckReports runs the built binary's check: "0 differences found"
// when all match, and the --combined, --differ, --missing-on-src,
// --missing-on-dst, --match and --error files, as rclone writes them.
func TestCheckReports(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	src, dst, rep := t.TempDir(), t.TempDir(), t.TempDir()
	writeFiles(t, src, map[string]string{"same.txt": "s", "differ.txt": "one", "only-src.txt": "x"})
	writeFiles(t, dst, map[string]string{"same.txt": "s", "differ.txt": "two!", "only-dst.txt": "y"})

	code, _, errOut := runBinStdin(t, nil, "", "check", src, src)
	if code != 0 || !strings.Contains(errOut, ": 0 differences found") || !strings.Contains(errOut, "3 matching files") {
		t.Errorf("check of a tree against itself: exit %d\n%s", code, errOut)
	}
	file := func(name string) string { return filepath.Join(rep, name) }
	code, out, errOut := runBinStdin(t, nil, "", "check", src, dst, "--combined", "-", "--differ", file("differ"),
		"--missing-on-src", file("mos"), "--missing-on-dst", file("mod"), "--match", file("match"), "--error", file("error"))
	if code != exitUsage || !strings.Contains(errOut, "3 differences found") {
		t.Errorf("check: exit %d\n%s", code, errOut)
	}
	combined := strings.Split(strings.TrimSpace(out), "\n")
	slices.Sort(combined)
	if want := []string{"* differ.txt", "+ only-dst.txt", "- only-src.txt", "= same.txt"}; !slices.Equal(combined, want) {
		t.Errorf("--combined -: %q, want %q", combined, want)
	}
	for name, want := range map[string]string{"differ": "differ.txt\n", "mos": "only-dst.txt\n", "mod": "only-src.txt\n", "match": "same.txt\n", "error": ""} {
		if got, err := os.ReadFile(file(name)); err != nil || string(got) != want {
			t.Errorf("report %s: %q (%v), want %q", name, got, err, want)
		}
	}
	if code, _, errOut := runBinStdin(t, nil, "", "check", src, dst, "--differ", filepath.Join(rep, "no", "such", "dir")); code != exitUsage || !strings.Contains(errOut, "report file") {
		t.Errorf("check with an unwritable report: exit %d %q", code, errOut)
	}
}
