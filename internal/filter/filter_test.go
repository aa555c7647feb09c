package filter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		glob string
		path string
		want bool
	}{
		{"*.jpg", "a.jpg", true},
		{"*.jpg", "dir/sub/a.jpg", true},
		{"*.jpg", "a.jpg.txt", false},
		{"*.jpg", "dir.jpg/a", false},
		{"/*.jpg", "a.jpg", true},
		{"/*.jpg", "dir/a.jpg", false},
		{"b/c.txt", "a/b/c.txt", true},
		{"b/c.txt", "ab/c.txt", false},
		{"/b/c.txt", "a/b/c.txt", false},
		{"/b/c.txt", "b/c.txt", true},
		{"a/*/c", "a/b/c", true},
		{"a/*/c", "a/b/x/c", false},
		{"a/**/c", "a/b/x/c", true},
		{"/a/**", "a/b/x/c", true},
		{"/a/**", "ab/c", false},
		{"**", "anything/at/all", true},
		{"?.txt", "a.txt", true},
		{"?.txt", "ab.txt", false},
		{"?", "/", false},
		{"[ab].txt", "b.txt", true},
		{"[!ab].txt", "b.txt", false},
		{"[!ab].txt", "c.txt", true},
		{"[]].txt", "].txt", true},
		{"*.{jpg,png}", "x/y.png", true},
		{"*.{jpg,png}", "x/y.gif", false},
		{"{a,b/c}.txt", "x/b/c.txt", true},
		{`\*.txt`, "*.txt", true},
		{`\*.txt`, "a.txt", false},
		{"ünï*.txt", "dir/ünïcødé.txt", true},
		{"a+b (1).txt", "a+b (1).txt", true},
		{"a.b", "axb", false},
	}
	for _, tc := range tests {
		t.Run(tc.glob+" "+tc.path, func(t *testing.T) {
			re, err := globRegexp(tc.glob, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := re.MatchString(tc.path); got != tc.want {
				t.Errorf("%q matches %q = %v, want %v (regexp %s)", tc.glob, tc.path, got, tc.want, re)
			}
		})
	}
}

func TestGlobErrors(t *testing.T) {
	for _, g := range []string{"a[b", "a{b", "a}b", `a\`} {
		if _, err := globRegexp(g, false); err == nil {
			t.Errorf("glob %q compiled, want an error", g)
		}
	}
}

// file and dir are the two kinds of path a test case asks about.
type query struct {
	path string
	dir  bool
	size int64
	want bool
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		rules   string // --filter-from content
		queries []query
	}{
		{
			name: "no rules",
			queries: []query{
				{path: "a", want: true}, {path: "d", dir: true, want: true},
			},
		},
		{
			name: "exclude",
			opts: Options{Exclude: []string{"*.tmp", "cache/"}},
			queries: []query{
				{path: "a.txt", want: true},
				{path: "x/a.tmp", want: false},
				{path: "cache", dir: true, want: false},
				{path: "x/cache", dir: true, want: false},
				{path: "x/cache/f", want: false},
				{path: "cache", want: true}, // a file named cache
				{path: "x", dir: true, want: true},
			},
		},
		{
			name: "include implies exclude the rest",
			opts: Options{Include: []string{"*.jpg"}},
			queries: []query{
				{path: "a.jpg", want: true},
				{path: "d/e/a.jpg", want: true},
				{path: "a.png", want: false},
				{path: "d", dir: true, want: true}, // may hold jpgs
			},
		},
		{
			name: "anchored include prunes other directories",
			opts: Options{Include: []string{"/photos/2024/*.jpg"}},
			queries: []query{
				{path: "photos/2024/a.jpg", want: true},
				{path: "photos/2023/a.jpg", want: false},
				{path: "photos", dir: true, want: true},
				{path: "photos/2024", dir: true, want: true},
				{path: "photos/2023", dir: true, want: false},
				{path: "music", dir: true, want: false},
				{path: "photos/2024/sub", dir: true, want: false},
			},
		},
		{
			name: "include a tree",
			opts: Options{Include: []string{"/docs/**"}},
			queries: []query{
				{path: "docs/a/b/c.txt", want: true},
				{path: "docs/a", dir: true, want: true},
				{path: "docs", dir: true, want: true},
				{path: "src", dir: true, want: false},
				{path: "top.txt", want: false},
			},
		},
		{
			name: "include dir glob with ** in the middle",
			opts: Options{Include: []string{"/a/**/x.txt"}},
			queries: []query{
				{path: "a/b/c/x.txt", want: true},
				{path: "a/b/c", dir: true, want: true},
				{path: "b", dir: true, want: false},
			},
		},
		{
			name: "filter file order: first match wins",
			rules: `# keep secrets out, but not this one
; semicolon comment

+ secret/keep.txt
- secret/**
- *.bak
+ **
`,
			queries: []query{
				{path: "secret/keep.txt", want: true},
				{path: "secret/other.txt", want: false},
				{path: "secret", dir: true, want: true}, // keep.txt lives there
				{path: "a/b.bak", want: false},
				{path: "a/b.txt", want: true},
			},
		},
		{
			name:  "exclude dir in filter file prunes",
			rules: "- /node_modules/\n",
			queries: []query{
				{path: "node_modules", dir: true, want: false},
				{path: "node_modules/x.js", want: false},
				{path: "src/node_modules", dir: true, want: true},
			},
		},
		{
			name:  "include dir only rule",
			rules: "+ keep/\n- /*/\n",
			queries: []query{
				{path: "keep", dir: true, want: true},
				{path: "other", dir: true, want: false},
				{path: "other/f", want: false}, // excluding a dir excludes its files
			},
		},
		{
			name:  "bang clears",
			opts:  Options{Exclude: []string{"*.txt"}},
			rules: "!\n- *.jpg\n",
			queries: []query{
				{path: "a.txt", want: true},
				{path: "a.jpg", want: false},
			},
		},
		{
			name: "sizes",
			opts: Options{MinSize: 10, MaxSize: 100},
			queries: []query{
				{path: "a", size: 9, want: false},
				{path: "a", size: 10, want: true},
				{path: "a", size: 100, want: true},
				{path: "a", size: 101, want: false},
				{path: "d", dir: true, want: true},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if tc.rules != "" {
				name := filepath.Join(t.TempDir(), "rules")
				if err := os.WriteFile(name, []byte(tc.rules), 0o644); err != nil {
					t.Fatal(err)
				}
				opts.FilterFrom = []string{name}
			}
			f, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range tc.queries {
				var got bool
				if q.dir {
					got = f.IncludeDir(q.path)
				} else {
					got = f.IncludeFile(q.path, q.size)
				}
				if got != q.want {
					t.Errorf("include(%q, dir=%v, size=%d) = %v, want %v\nrules:\n%s", q.path, q.dir, q.size, got, q.want, f)
				}
			}
		})
	}
}

func TestNilFilter(t *testing.T) {
	var f *Filter
	if !f.IncludeFile("a", 1) || !f.IncludeDir("d") || f.Active() || f.String() != "" {
		t.Errorf("nil filter excludes something")
	}
	g, err := New(Options{})
	if err != nil || g.Active() {
		t.Errorf("New(Options{}) = %v, active %v", err, g.Active())
	}
}

func TestFilterFromErrors(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"no action", "*.jpg\n", "rules:1"},
		{"no space", "+*.jpg\n", "rules:1"},
		{"bad glob", "# ok\n- a[b\n", "rules:2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "rules")
			if err := os.WriteFile(name, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := New(Options{FilterFrom: []string{name}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := New(Options{FilterFrom: []string{filepath.Join(t.TempDir(), "missing")}}); err == nil {
		t.Errorf("missing filter file: no error")
	}
}

func TestString(t *testing.T) {
	f, err := New(Options{Include: []string{"/a/*.txt"}, Exclude: []string{"b/"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "+ /a/*.txt\n- b/**\n- /**\n"
	if got := f.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func BenchmarkIncludeFile(b *testing.B) {
	f, err := New(Options{Exclude: []string{"*.tmp", "/cache/**", "*.{bak,old}"}, Include: []string{"*.jpg"}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		f.IncludeFile("photos/2024/summer/IMG_0001.jpg", 1234)
	}
}
