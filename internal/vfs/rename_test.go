package vfs_test

import (
	"fmt"
	"testing"

	"ferry/internal/vfs"
	"ferry/internal/vfs/vfstest"
	"ferry/megaserver/megaservertest"
)

// TestRenameReplaceRepeatedMega runs vfstest's RenameReplace many times
// in process over MEGA. A rename over a file moves the new node in before
// the old one goes, and a listing the refresher took in between (the
// uploads' action packets start one) used to be applied after the rename:
// the directory showed "b" twice, or "b" and "b (2)", in about one run of
// ten.
func TestRenameReplaceRepeatedMega(t *testing.T) {
	only := map[string]string{}
	for _, n := range vfstest.Names() {
		if n != "RenameReplace" {
			only[n] = "this test repeats RenameReplace only"
		}
	}
	ts := megaservertest.Start(t)
	for i := range 20 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			vfstest.Run(t, vfstest.Config{Unsupported: only, New: func(t *testing.T) vfstest.Env {
				dir := fmt.Sprintf("run%d", i)
				b := newMegaAt(t, ts.URL)
				if err := b.Mkdir(t.Context(), dir); err != nil {
					t.Fatal(err)
				}
				v, err := vfs.New(t.Context(), b, vfs.Options{Root: dir, CacheDir: t.TempDir()})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { v.Close() })
				return vfstest.Env{FS: vfstest.InProcess(v), Backend: b}
			}})
		})
	}
}
