package mediafireserver_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"ferry/mediafireserver"
	mfst "ferry/mediafireserver/mediafireservertest"
)

// TestPersistRestart: accounts, folders, files and a half-done resumable
// upload survive a restart; sessions do not (105), and the upload resumes
// with the units the bitmap lacks.
func TestPersistRestart(t *testing.T) {
	dir := t.TempDir()
	ts := mfst.Start(t, mfst.WithDir(dir))
	s := ts.Login(t, mfst.User, mfst.Password, false)
	folder := mkdir(t, s, "", "kept")
	small := randomData(70_000, 20)
	qk := put(t, s, folder, "small.bin", small)
	big := randomData(6<<20, 21) // 6 units of 1 MiB
	for _, u := range []int{0, 2, 5} {
		h, unit := unitHeaders("big.bin", big, 1<<20, u)
		rep := s.Upload(t, "upload/resumable", s.Query("upload/resumable", "folder_key", folder), h, bytes.NewReader(unit))
		s.Follow(rep)
		wantOK(t, "unit", rep)
	}
	ts.Close()

	ts = mfst.Start(t, mfst.WithDir(dir))
	s.URL = ts.URL
	wantError(t, "old session after restart", s.Call(t, "user/get_info"), 105, 403)
	s = ts.Login(t, mfst.User, mfst.Password, false)
	checkPersisted(t, ts, s, folder, qk, small)
	rep := s.Call(t, "upload/check", "filename", "big.bin", "hash", sha(big), "size", strconv.Itoa(len(big)), "folder_key", folder, "resumable", "yes")
	if w := rep.Get("resumable_upload.bitmap.words").([]any); len(w) != 1 || w[0] != "37" { // units 0, 2, 5
		t.Fatalf("bitmap after restart: %v", rep)
	}
	for _, u := range []int{1, 3, 4} {
		h, unit := unitHeaders("", big, 1<<20, u)
		rep = s.Upload(t, "upload/resumable", s.Query("upload/resumable", "folder_key", folder), h, bytes.NewReader(unit))
		s.Follow(rep)
	}
	if rep.Str("resumable_upload.all_units_ready") != "yes" {
		t.Fatalf("after the missing units: %v", rep)
	}
	fe, bigQK := poll(t, s, rep.Str("doupload.key"))
	if fe != "" {
		t.Fatalf("fileerror %q", fe)
	}
	if _, b := fetch(t, ts.Client(), link(t, s, bigQK)); !bytes.Equal(b, big) {
		t.Error("resumed upload differs")
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "units")); len(entries) != 0 {
		t.Errorf("unit files left after completion: %v", entries)
	}
}

// checkPersisted checks that the account still holds folder with
// small.bin (quickkey qk, content small).
func checkPersisted(t *testing.T, ts *mfst.TestServer, s *mfst.Session, folder, qk string, small []byte) {
	t.Helper()
	if got := names(t, s, "", "folders", 0); len(got) != 1 || got[0] != "kept" {
		t.Fatalf("folders after restart: %v", got)
	}
	rep := s.Call(t, "file/get_info", "quick_key", qk)
	if rep.Str("file_info.parent_folderkey") != folder || rep.Str("file_info.hash") != sha(small) {
		t.Fatalf("file after restart: %v", rep)
	}
	if st, b := fetch(t, ts.Client(), link(t, s, qk)); st != 200 || !bytes.Equal(b, small) {
		t.Fatalf("download after restart: %d, %d bytes", st, len(b))
	}
}

// The subprocess of TestPersistKill9: serves MFSERVER_DIR until killed.
func TestHelperServe(t *testing.T) {
	dir := os.Getenv("MFSERVER_DIR")
	if dir == "" {
		t.Skip("subprocess of TestPersistKill9")
	}
	srv, err := mediafireserver.Open(mediafireserver.Options{Dir: dir, Apps: map[string]string{mfst.AppID: ""}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddUser(context.Background(), mfst.User, mfst.Password, mediafireserver.UserOptions{}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	_ = srv.Serve(ln) // until SIGKILL
}

// TestPersistKill9 kills a server process with SIGKILL, once after its
// uploads completed and once in the middle of a large upload, and opens
// the directory again: what completed is there, the cut upload left no
// file, and no stray temporary file remains.
func TestPersistKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperServe$", "-test.v")
	cmd.Env = append(os.Environ(), "MFSERVER_DIR="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "LISTEN "); ok {
				addr <- a
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("the server subprocess did not start")
	}
	// A TestServer value pointing at the subprocess, for the signer.
	remote := &mfst.TestServer{URL: base}
	s := remote.Login(t, mfst.User, mfst.Password, false)
	folder := mkdir(t, s, "", "kept")
	small := randomData(70_000, 30)
	qk := put(t, s, folder, "small.bin", small)

	// A large simple upload cut by SIGKILL halfway.
	pr, pw := io.Pipe()
	const size = 8 << 20
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+s.Path("upload/simple")+"?"+s.Query("upload/simple", "folder_key", folder), pr)
	req.Header.Set("X-Filename", "cut.bin")
	req.Header.Set("X-Filesize", strconv.Itoa(size))
	req.ContentLength = size
	go func() {
		pw.Write(randomData(size/2, 31))
		if err := cmd.Process.Kill(); err != nil {
			t.Error(err)
		}
		pw.Close()
	}()
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Error("the cut upload succeeded")
	}
	_ = cmd.Wait()

	ts := mfst.Start(t, mfst.WithDir(dir))
	s = ts.Login(t, mfst.User, mfst.Password, false)
	checkPersisted(t, ts, s, folder, qk, small)
	if got := names(t, s, folder, "files", 0); len(got) != 1 {
		t.Errorf("files after the cut upload: %v", got)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "blobs")); len(entries) != 1 {
		t.Errorf("blobs: %d, want 1", len(entries))
	}
}

// TestNameIndexRebuilt: a store without the file name index (as written
// before it existed) gets it rebuilt at Open.
func TestNameIndexRebuilt(t *testing.T) {
	dir := t.TempDir()
	ts := mfst.Start(t, mfst.WithDir(dir))
	s := ts.Login(t, mfst.User, mfst.Password, false)
	put(t, s, "", "kept.txt", []byte("kept"))
	gone := put(t, s, "", "trashed.txt", []byte("trashed"))
	wantOK(t, "delete", s.Call(t, "file/delete", "quick_key", gone))
	ts.Close()
	db, err := bolt.Open(filepath.Join(dir, "meta.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte("names")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ts = mfst.Start(t, mfst.WithDir(dir))
	s = ts.Login(t, mfst.User, mfst.Password, false)
	if got := names(t, s, "", "files", 0); len(got) != 1 || got[0] != "kept.txt" {
		t.Errorf("files after the rebuild: %v", got)
	}
}
