package transfer

import (
	"errors"
	"slices"
	"testing"
	"time"

	"ferry/internal/backend/memory"
	"ferry/internal/filter"
)

func TestCheck(t *testing.T) {
	srcTree := tree{
		"same.txt":       {data: "same"},
		"differ.txt":     {data: "aaaa"},
		"only-src.txt":   {data: "s"},
		"dir/deep.txt":   {data: "deep"},
		"srconly/x.txt":  {data: "x"},
		"mtime-only.txt": {data: "m", mtime: t0.Add(time.Hour)},
		"skip.tmp":       {data: "tmp"},
	}
	dstTree := tree{
		"same.txt":       {data: "same"},
		"differ.txt":     {data: "bbbbb"},
		"only-dst.txt":   {data: "d"},
		"dir/deep.txt":   {data: "deep"},
		"dstonly/y.txt":  {data: "y"},
		"mtime-only.txt": {data: "m"},
	}
	tests := []struct {
		name            string
		opts            CheckOptions
		want            CheckResult
		missingOnSrc    []string
		missingOnDst    []string
		differ          []string
		wantErrDiffers  bool
		excludeTmp      bool
		srcTree, dstTre tree
	}{
		{
			name:         "both ways",
			want:         CheckResult{Matches: 2, Differ: 2, MissingOnDst: 3, MissingOnSrc: 2, Differences: 7},
			missingOnDst: []string{"only-src.txt", "skip.tmp", "srconly/x.txt"},
			missingOnSrc: []string{"dstonly/y.txt", "only-dst.txt"},
			differ:       []string{"differ.txt", "mtime-only.txt"},
		},
		{
			name:         "size only",
			opts:         CheckOptions{SizeOnly: true},
			want:         CheckResult{Matches: 3, Differ: 1, MissingOnDst: 3, MissingOnSrc: 2, Differences: 6},
			missingOnDst: []string{"only-src.txt", "skip.tmp", "srconly/x.txt"},
			missingOnSrc: []string{"dstonly/y.txt", "only-dst.txt"},
			differ:       []string{"differ.txt"},
		},
		{
			name:         "one way, filtered",
			opts:         CheckOptions{OneWay: true},
			excludeTmp:   true,
			want:         CheckResult{Matches: 2, Differ: 2, MissingOnDst: 2, Differences: 4},
			missingOnDst: []string{"only-src.txt", "srconly/x.txt"},
			differ:       []string{"differ.txt", "mtime-only.txt"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := factories()[0]
			src, dst := f.new(t), f.new(t)
			put(t, src, "", srcTree)
			put(t, dst, "", dstTree)
			rec := &recorder{}
			opts := tc.opts
			opts.Report = rec.report
			if tc.excludeTmp {
				flt, err := filter.New(filter.Options{Exclude: []string{"*.tmp"}})
				if err != nil {
					t.Fatal(err)
				}
				opts.Filter = flt
			}
			res, err := Check(t.Context(), Location{src, ""}, Location{dst, ""}, opts)
			if !errors.Is(err, ErrDifferences) {
				t.Errorf("check error %v, want ErrDifferences", err)
			}
			if res != tc.want {
				t.Errorf("result %+v, want %+v", res, tc.want)
			}
			for _, c := range []struct {
				a    Action
				want []string
			}{{MissingOnDst, tc.missingOnDst}, {MissingOnSrc, tc.missingOnSrc}, {Differs, tc.differ}} {
				if got := rec.paths(c.a); !slices.Equal(got, c.want) {
					t.Errorf("%v: %v, want %v", c.a, got, c.want)
				}
			}
		})
	}

	t.Run("identical", func(t *testing.T) {
		f := factories()[0]
		src, dst := f.new(t), f.new(t)
		put(t, src, "", tree{"a": {data: "a"}, "b/c": {data: "c"}})
		put(t, dst, "sub", tree{"a": {data: "a"}, "b/c": {data: "c"}})
		res, err := Check(t.Context(), Location{src, ""}, Location{dst, "sub"}, CheckOptions{})
		if err != nil || res != (CheckResult{Matches: 2}) {
			t.Errorf("check: %+v, %v", res, err)
		}
		if _, err := Check(t.Context(), Location{src, "nope"}, Location{dst, "sub"}, CheckOptions{}); !errors.Is(err, ErrDirNotFound) {
			t.Errorf("missing source: %v", err)
		}
	})
}

// TestCheckFingerprints checks a MEGA-like side against one without
// fingerprints: by default sizes and mtimes count, with --size-only only
// sizes; with --checksum content is compared without opening the MEGA side.
func TestCheckFingerprints(t *testing.T) {
	src := memory.NewWithOptions(memory.Options{Name: "local"})
	mega := newMegaLike("mega")
	put(t, src, "", tree{"a": {data: "same"}, "b": {data: "AAAA"}})
	put(t, mega, "", tree{"a": {data: "same", mtime: t0.Add(time.Hour)}, "b": {data: "BBBB"}})
	dst := newCountingFP(mega)
	res, err := Check(t.Context(), Location{src, ""}, Location{dst, ""}, CheckOptions{SizeOnly: true})
	if err != nil || res.Matches != 2 {
		t.Errorf("size-only check: %+v, %v", res, err)
	}
	res, err = Check(t.Context(), Location{src, ""}, Location{dst, ""}, CheckOptions{})
	if !errors.Is(err, ErrDifferences) || res.Matches != 1 || res.Differ != 1 {
		t.Errorf("default (size + mtime) check: %+v, %v", res, err)
	}
	res, err = Check(t.Context(), Location{src, ""}, Location{dst, ""}, CheckOptions{Checksum: true})
	if !errors.Is(err, ErrDifferences) || res.Matches != 1 || res.Differ != 1 {
		t.Errorf("checksum check: %+v, %v", res, err)
	}
	if len(dst.opens) != 0 {
		t.Errorf("MEGA side opened: %v", dst.opens)
	}
	// Both sides with fingerprints: compared without --checksum.
	mega2 := newMegaLike("mega2")
	put(t, mega2, "", tree{"a": {data: "same"}, "b": {data: "AAAA"}})
	res, err = Check(t.Context(), Location{mega2, ""}, Location{mega, ""}, CheckOptions{})
	if !errors.Is(err, ErrDifferences) || res.Matches != 1 || res.Differ != 1 {
		t.Errorf("MEGA-MEGA check: %+v, %v", res, err)
	}
}
