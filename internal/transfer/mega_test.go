package transfer

import (
	"bytes"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/mega"
	"ferry/internal/backend/memory"
	megaclient "ferry/mega"
	"ferry/mega/megacrypto"
	"ferry/megaserver/megaservertest"
)

// TestMegaDedupe makes duplicates with the MEGA client on a loopback
// server, then dedupes them through the MEGA backend.
func TestMegaDedupe(t *testing.T) {
	tests := []struct {
		mode DedupeMode
		want []string // name=content, sorted
	}{
		{DedupeSkip, []string{"a.txt=other", "a.txt=same", "b.txt=newer", "b.txt=older", "solo=x"}},
		{DedupeNewest, []string{"a.txt=other", "b.txt=newer", "solo=x"}},
		{DedupeRename, []string{"a-1.txt=same", "a-2.txt=other", "b-1.txt=older", "b-2.txt=newer", "solo=x"}},
	}
	for _, tc := range tests {
		t.Run(tc.mode.String(), func(t *testing.T) {
			quiet := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			srv := megaservertest.Start(t, megaservertest.WithLogger(quiet))
			c := megaclient.New(megaclient.Options{APIURL: srv.URL})
			if err := c.Login(t.Context(), megaservertest.UserV2, megaservertest.PasswordV2, megaclient.LoginOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := c.FetchTree(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct {
				name, data string
				mtime      time.Time
			}{
				// Two identical copies of a.txt (same size, content and
				// mtime, so the same `c`), and one that differs.
				{"a.txt", "same", t0}, {"a.txt", "same", t0}, {"a.txt", "other", t0.Add(time.Minute)},
				{"b.txt", "older", t0}, {"b.txt", "newer", t0.Add(time.Hour)},
				{"solo", "x", t0},
			} {
				if _, err := c.Upload(t.Context(), c.Root(), f.name, strings.NewReader(f.data), int64(len(f.data)), f.mtime); err != nil {
					t.Fatal(err)
				}
			}
			b, err := mega.Type.New(t.Context(), "test", backend.ConfigMap{
				"user": megaservertest.UserV2, "pass": megaservertest.PasswordV2, "url": srv.URL,
			}, "", backend.Env{CacheDir: t.TempDir(), Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			defer b.(backend.Closer).Close()
			rec := &recorder{}
			if err := Dedupe(t.Context(), Location{b, ""}, DedupeOptions{Mode: tc.mode, Report: rec.report}); err != nil {
				t.Fatal(err)
			}
			if got := rec.paths(Duplicate); !slices.Equal(got, []string{"a.txt", "b.txt"}) {
				t.Errorf("duplicates %v", got)
			}
			entries, err := b.List(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				rc, err := b.Open(t.Context(), e.Path, 0, -1)
				if err != nil {
					// Opening a name with duplicates is ambiguous; read
					// only unique names and trust sizes for the rest.
					got = append(got, e.Name()+"=?")
					continue
				}
				var sb strings.Builder
				buf := make([]byte, 64)
				for {
					n, err := rc.Read(buf)
					sb.Write(buf[:n])
					if err != nil {
						break
					}
				}
				rc.Close()
				got = append(got, e.Name()+"="+sb.String())
			}
			sort.Strings(got)
			if tc.mode == DedupeSkip {
				// Duplicates remain, so names can't say which is which.
				if len(got) != len(tc.want) {
					t.Errorf("after skip: %q, want %d entries", got, len(tc.want))
				}
				return
			}
			if tc.mode == DedupeRename {
				// Which copy gets -1 follows MEGA's listing order.
				got, tc.want = splitSorted(got), splitSorted(tc.want)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("after dedupe %s: %q, want %q", tc.mode, got, tc.want)
			}
		})
	}
}

// TestMegaChecksum copies to MEGA, then touches the source files: with
// --checksum nothing is transferred and nothing is read from MEGA.
func TestMegaChecksum(t *testing.T) {
	local := memory.NewWithOptions(memory.Options{Name: "local"})
	m := newMegaBackend(t)
	big := strings.Repeat("ferry ", 50000) // 300 KB: fingerprint samples windows
	put(t, local, "", tree{"big.bin": {data: big}, "small.txt": {data: "hello"}, "d/e.txt": {data: "e"}})
	opts, _ := testOptions(t)
	if err := Copy(t.Context(), Location{local, ""}, Location{m, "up"}, opts); err != nil {
		t.Fatal(err)
	}
	put(t, local, "", tree{"big.bin": {data: big, mtime: t0.Add(time.Hour)}, "small.txt": {data: "HELLO", mtime: t0.Add(time.Hour)}})
	dst := newCountingFP(m)
	opts, _ = testOptions(t)
	opts.Checksum = true
	opts.DryRun = true
	if err := Copy(t.Context(), Location{local, ""}, Location{dst, "up"}, opts); err != nil {
		t.Fatal(err)
	}
	if s := opts.Stats.Snapshot(); s.Transfers != 1 || s.Checks != 3 {
		t.Errorf("checksum dry run: %+v, want 1 transfer (small.txt), 3 checks", s)
	}
	if len(dst.opens) != 0 {
		t.Errorf("MEGA files opened: %v", dst.opens)
	}
	res, err := Check(t.Context(), Location{local, ""}, Location{dst, "up"}, CheckOptions{Checksum: true})
	if res.Differ != 1 || res.Matches != 2 || err == nil {
		t.Errorf("check: %+v, %v", res, err)
	}
	if len(dst.opens) != 0 {
		t.Errorf("MEGA files opened by check: %v", dst.opens)
	}

	// A byte changed where the fingerprint does not sample it: the
	// fingerprints still agree, and the meta-MAC (the local file MAC'd
	// under the MEGA file's key) finds the difference, still without
	// reading from MEGA.
	changed := []byte(big)
	var at int
	for at = len(changed) / 3; ; at++ {
		c := []byte(big)
		c[at] ^= 0x20
		a, _ := megacrypto.Fingerprint(bytes.NewReader([]byte(big)), int64(len(big)), 0)
		b, _ := megacrypto.Fingerprint(bytes.NewReader(c), int64(len(c)), 0)
		if a == b {
			changed = c
			break
		}
	}
	put(t, local, "", tree{"big.bin": {data: string(changed), mtime: t0.Add(time.Hour)}, "small.txt": {data: "hello"}})
	mdst := newCountingMatcher(m)
	var reasons []string
	res, err = Check(t.Context(), Location{local, ""}, Location{mdst, "up"}, CheckOptions{Checksum: true,
		Report: func(ev Event) {
			if ev.Path == "big.bin" {
				reasons = append(reasons, ev.Action.String()+": "+ev.Reason)
			}
		}})
	if res.Differ != 1 || res.Matches != 2 || err == nil {
		t.Errorf("check after a change at byte %d: %+v, %v", at, res, err)
	}
	if want := []string{"differs: content differs (MEGA meta-MAC)"}; !slices.Equal(reasons, want) {
		t.Errorf("big.bin: %q, want %q", reasons, want)
	}
	if len(mdst.opens) != 0 || mdst.matches != 3 {
		t.Errorf("MEGA files opened: %v; MatchContent calls %d, want 3", mdst.opens, mdst.matches)
	}
}

// splitSorted turns "name=content" items into the sorted names followed by
// the sorted contents.
func splitSorted(items []string) []string {
	var names, datas []string
	for _, it := range items {
		n, d, _ := strings.Cut(it, "=")
		names, datas = append(names, n), append(datas, d)
	}
	sort.Strings(names)
	sort.Strings(datas)
	return append(names, datas...)
}
