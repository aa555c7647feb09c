package layering

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The repository's documents live in docs/ and must be reachable from a
// plain clone: TestDocReferences fails when a Go file or a Markdown file
// points at a document, a section or a file that the repository does not
// have.

// externalDocs are document names cited in comments that are not part of
// the repository, with the reason each is allowed. Keep this list short.
var externalDocs = map[string]string{}

var (
	// mdRef matches a .md file name or path in a comment or text.
	mdRef = regexp.MustCompile(`[A-Za-z0-9_.\-/]*[A-Za-z0-9_\-]\.md\b`)
	// sectionRef matches "§3", "§3.4" and ranges "§3.4-3.5", "§5-§8".
	sectionRef = regexp.MustCompile(`§(\d+(?:\.\d+)?)(?:-§?(\d+(?:\.\d+)?))?`)
	// numberedHeading matches "## 3. Nodes" and "### 3.4 Key layouts".
	numberedHeading = regexp.MustCompile(`^#{2,4} (\d+(?:\.\d+)?)\.? `)
	// mdLink matches the target of a Markdown link or image.
	mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
)

// repoRoot returns the module root: the directory above this package's
// with go.mod declaring module ferry.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module ferry\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod of module ferry above the test directory")
		}
		dir = parent
	}
}

// docFile is a Markdown document of the repository, parsed for what
// references to it may name.
type docFile struct {
	sections map[string]bool // "3", "3.4"
	anchors  map[string]bool // GitHub heading anchors
}

// loadDoc reads a Markdown file's numbered sections and heading anchors.
func loadDoc(t *testing.T, file string) *docFile {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	d := &docFile{sections: map[string]bool{}, anchors: map[string]bool{}}
	inFence := false
	for line := range strings.Lines(string(b)) {
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
			continue
		}
		if inFence || !strings.HasPrefix(line, "#") {
			continue
		}
		if m := numberedHeading.FindStringSubmatch(line); m != nil {
			d.sections[m[1]] = true
		}
		d.anchors[anchor(strings.TrimLeft(line, "# "))] = true
	}
	return d
}

// anchor is GitHub's anchor for a heading: lower case, punctuation
// dropped, spaces as hyphens.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestDocReferences(t *testing.T) {
	root := repoRoot(t)
	shared := path.Join("shared", "docs") // not spelled out, so this file does not match itself

	docs := map[string]*docFile{} // by path relative to root, e.g. "docs/mega-protocol.md"
	mdFiles, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	mdFiles = append(mdFiles, filepath.Join(root, "README.md"))
	for _, f := range mdFiles {
		rel, _ := filepath.Rel(root, f)
		docs[filepath.ToSlash(rel)] = loadDoc(t, f)
	}
	if docs["docs/mega-protocol.md"] == nil || docs["docs/mega-server.md"] == nil {
		t.Fatalf("docs/mega-protocol.md and docs/mega-server.md must exist; found %v", mdFiles)
	}

	// resolve maps a reference written in file (relative to root) to the
	// document it names, or "" with a reason.
	resolve := func(file, ref string) (string, string) {
		if _, ok := externalDocs[ref]; ok {
			return "", ""
		}
		if strings.Contains(ref, "/") {
			// A path: relative to the citing file's directory, or (as Go
			// comments write it) to the repository root.
			for _, cand := range []string{path.Join(path.Dir(file), ref), path.Clean(strings.TrimLeft(ref, "./"))} {
				if docs[cand] != nil {
					return cand, ""
				}
			}
			return "", "no such document in the repository"
		}
		for _, cand := range []string{"docs/" + ref, ref} {
			if docs[cand] != nil {
				return cand, ""
			}
		}
		return "", "no such document in docs/"
	}

	check := func(file string, lineNo int, line string) {
		if strings.Contains(line, shared) {
			t.Errorf("%s:%d refers to %s, which a clone does not have: %s", file, lineNo, shared, strings.TrimSpace(line))
		}
		refs := mdRef.FindAllString(line, -1)
		var cited string // the one document this line cites, for its § numbers
		for _, ref := range refs {
			if strings.HasPrefix(ref, "http") {
				continue
			}
			doc, why := resolve(file, ref)
			if why != "" {
				t.Errorf("%s:%d refers to %s: %s", file, lineNo, ref, why)
				continue
			}
			if doc != "" && len(refs) == 1 {
				cited = doc
			}
		}
		if cited == "" || strings.HasSuffix(file, ".md") {
			return
		}
		for _, m := range sectionRef.FindAllStringSubmatch(line, -1) {
			for _, sec := range m[1:] {
				if sec != "" && !docs[cited].sections[sec] {
					t.Errorf("%s:%d cites %s §%s, which has no such section", file, lineNo, cited, sec)
				}
			}
		}
	}

	// Go files: every line (comments are where the references are).
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for n := 1; sc.Scan(); n++ {
			check(filepath.ToSlash(rel), n, sc.Text())
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}

	// Markdown files: mentions of documents, and relative links (files,
	// directories and #anchors in the repository's documents).
	for _, f := range mdFiles {
		rel, _ := filepath.Rel(root, f)
		rel = filepath.ToSlash(rel)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for line := range strings.Lines(string(b)) {
			n++
			check(rel, n, line)
			for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				file, frag, _ := strings.Cut(target, "#")
				dest := rel
				if file != "" {
					dest = path.Join(path.Dir(rel), file)
					if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(dest))); err != nil {
						t.Errorf("%s:%d links to %s, which does not exist", rel, n, target)
						continue
					}
				}
				if frag != "" {
					if d := docs[dest]; d == nil || !d.anchors[frag] {
						t.Errorf("%s:%d links to %s: no heading with anchor #%s in %s", rel, n, target, frag, dest)
					}
				}
			}
		}
	}
}

func TestAnchor(t *testing.T) {
	tests := []struct{ heading, want string }{
		{"Idempotence", "idempotence"},
		{"Event channel", "event-channel"},
		{"1. Transport", "1-transport"},
		{"3.4 Key layouts", "34-key-layouts"},
		{"The `c` fingerprint and the modification time", "the-c-fingerprint-and-the-modification-time"},
	}
	for _, tt := range tests {
		if got := anchor(tt.heading); got != tt.want {
			t.Errorf("anchor(%q) = %q, want %q", tt.heading, got, tt.want)
		}
	}
}
