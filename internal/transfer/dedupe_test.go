package transfer

import (
	"context"
	"io"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
)

// dupState lists path, content and mtime hour of every file, sorted.
func dupState(t *testing.T, b backend.Backend) []string {
	t.Helper()
	var out []string
	err := backend.Walk(t.Context(), b, "", 0, func(e backend.Entry) error {
		if e.IsDir {
			out = append(out, e.Path+"/")
			return nil
		}
		data, err := readEntry(t.Context(), b, e)
		if err != nil {
			return err
		}
		out = append(out, e.Path+"="+data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// readEntry returns the content of the object e names.
func readEntry(ctx context.Context, b backend.Backend, e backend.Entry) (string, error) {
	rc, err := backend.OpenEntry(ctx, b, e, 0, -1)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	return string(data), err
}

// addDup stores another file named p in f, beside those there.
func addDup(t *testing.T, f *megaLike, p, data string, mtime time.Time) {
	t.Helper()
	if _, err := f.PutDuplicate(t.Context(), p, strings.NewReader(data), int64(len(data)), mtime); err != nil {
		t.Fatal(err)
	}
}

// dupFixture makes a backend with duplicates:
//
//	same.txt: three identical copies, and a fourth with other content
//	photo.jpg: "old" (t0), "newest!" (t0+2h), "md" (t0+1h)
//	dir/x: two different copies; unique: one file
func dupFixture(t *testing.T) *megaLike {
	f := newMegaLike("mega")
	addDup(t, f, "same.txt", "identical", t0)
	addDup(t, f, "same.txt", "identical", t0)
	addDup(t, f, "same.txt", "different", t0)
	addDup(t, f, "same.txt", "identical", t0)
	addDup(t, f, "photo.jpg", "old", t0)
	addDup(t, f, "photo.jpg", "newest!", t0.Add(2*time.Hour))
	addDup(t, f, "photo.jpg", "md", t0.Add(time.Hour))
	addDup(t, f, "dir/x", "x1", t0)
	addDup(t, f, "dir/x", "x2-longer", t0)
	addDup(t, f, "unique", "u", t0)
	return f
}

func TestDedupe(t *testing.T) {
	tests := []struct {
		mode DedupeMode
		want []string
	}{
		{DedupeList, []string{"dir/", "dir/x=x1", "dir/x=x2-longer", "photo.jpg=md", "photo.jpg=newest!", "photo.jpg=old",
			"same.txt=different", "same.txt=identical", "same.txt=identical", "same.txt=identical", "unique=u"}},
		{DedupeSkip, []string{"dir/", "dir/x=x1", "dir/x=x2-longer", "photo.jpg=md", "photo.jpg=newest!", "photo.jpg=old",
			"same.txt=different", "same.txt=identical", "unique=u"}},
		{DedupeFirst, []string{"dir/", "dir/x=x1", "photo.jpg=old", "same.txt=identical", "unique=u"}},
		{DedupeNewest, []string{"dir/", "dir/x=x1", "photo.jpg=newest!", "same.txt=identical", "unique=u"}},
		{DedupeOldest, []string{"dir/", "dir/x=x1", "photo.jpg=old", "same.txt=identical", "unique=u"}},
		{DedupeLargest, []string{"dir/", "dir/x=x2-longer", "photo.jpg=newest!", "same.txt=identical", "unique=u"}},
		{DedupeSmallest, []string{"dir/", "dir/x=x1", "photo.jpg=md", "same.txt=identical", "unique=u"}},
		{DedupeRename, []string{"dir/", "dir/x-1=x1", "dir/x-2=x2-longer", "photo-1.jpg=old", "photo-2.jpg=newest!", "photo-3.jpg=md",
			"same-1.txt=identical", "same-2.txt=different", "unique=u"}},
	}
	for _, tc := range tests {
		t.Run(tc.mode.String(), func(t *testing.T) {
			f := dupFixture(t)
			rec := &recorder{}
			err := Dedupe(t.Context(), Location{f, ""}, DedupeOptions{Mode: tc.mode, Report: rec.report})
			if err != nil {
				t.Fatal(err)
			}
			if got := dupState(t, f); !slices.Equal(got, tc.want) {
				t.Errorf("after dedupe %s:\n got %q\nwant %q", tc.mode, got, tc.want)
			}
			if got := rec.paths(Duplicate); !slices.Equal(got, []string{"dir/x", "photo.jpg", "same.txt"}) {
				t.Errorf("duplicates reported %v", got)
			}
		})
	}
}

func TestDedupeDryRun(t *testing.T) {
	f := dupFixture(t)
	before := dupState(t, f)
	rec := &recorder{}
	stats := new(Stats)
	for _, m := range []DedupeMode{DedupeNewest, DedupeRename} {
		if err := Dedupe(t.Context(), Location{f, ""}, DedupeOptions{Mode: m, DryRun: true, Report: rec.report, Stats: stats}); err != nil {
			t.Fatal(err)
		}
	}
	if got := dupState(t, f); !slices.Equal(got, before) {
		t.Errorf("dry run changed:\n%q\n%q", got, before)
	}
	if s := stats.Snapshot(); s.Deletes == 0 || s.Renames == 0 {
		t.Errorf("dry run counted nothing: %+v", s)
	}
}

func TestDedupeInteractive(t *testing.T) {
	f := dupFixture(t)
	var asked []string
	choose := func(_ context.Context, rel string, dups []backend.Entry) (DedupeChoice, error) {
		asked = append(asked, rel)
		switch rel {
		case "photo.jpg":
			return DedupeChoice{Action: DedupeFirst, Keep: 2}, nil // "md"
		case "same.txt":
			return DedupeChoice{Action: DedupeRename}, nil
		}
		return DedupeChoice{Action: DedupeSkip}, nil
	}
	if err := Dedupe(t.Context(), Location{f, ""}, DedupeOptions{Choose: choose}); err != nil {
		t.Fatal(err)
	}
	want := []string{"dir/", "dir/x=x1", "dir/x=x2-longer", "photo.jpg=md", "same-1.txt=identical", "same-2.txt=different", "unique=u"}
	if got := dupState(t, f); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if !slices.Equal(asked, []string{"photo.jpg", "same.txt", "dir/x"}) {
		t.Errorf("asked about %v", asked)
	}
	if err := Dedupe(t.Context(), Location{dupFixture(t), ""}, DedupeOptions{}); err == nil || !strings.Contains(err.Error(), "interactive") {
		t.Errorf("interactive without Choose: %v", err)
	}
}

func TestDedupeDirectories(t *testing.T) {
	f := newMegaLike("mega")
	for range 2 {
		if _, err := f.MkdirDuplicate(t.Context(), "pics"); err != nil {
			t.Fatal(err)
		}
	}
	addDup(t, f, "pics-1", "taken name", t0)
	rec := &recorder{}
	if err := Dedupe(t.Context(), Location{f, ""}, DedupeOptions{Mode: DedupeFirst, Report: rec.report}); err != nil {
		t.Fatal(err)
	}
	if got := rec.paths(Duplicate); !slices.Equal(got, []string{"pics/"}) {
		t.Errorf("duplicates %v", got)
	}
	if err := Dedupe(t.Context(), Location{f, ""}, DedupeOptions{Mode: DedupeRename, Report: rec.report}); err != nil {
		t.Fatal(err)
	}
	want := []string{"pics-1=taken name", "pics-2/", "pics-3/"}
	if got := dupState(t, f); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// A backend without duplicates: nothing to do.
	if err := Dedupe(t.Context(), Location{&counting{Backend: f}, ""}, DedupeOptions{}); err != nil {
		t.Errorf("dedupe without DuplicateNamer: %v", err)
	}
	if m, err := ParseDedupeMode("Newest"); err != nil || m != DedupeNewest {
		t.Errorf("ParseDedupeMode: %v %v", m, err)
	}
	if _, err := ParseDedupeMode("bogus"); err == nil {
		t.Errorf("ParseDedupeMode(bogus) succeeded")
	}
}
