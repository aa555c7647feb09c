package mediafireserver_test

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"

	mfst "ferry/mediafireserver/mediafireservertest"
)

// TestIsolation: no session sees or touches another account's folders,
// files or uploads; shared content (the SHA-256 dedupe store) reveals
// only that the content exists.
func TestIsolation(t *testing.T) {
	ts := mfst.Start(t)
	alice := ts.Login(t, mfst.User, mfst.Password, false)
	bob := ts.Login(t, mfst.User2, mfst.Password2, false)

	dir := mkdir(t, alice, "", "private")
	data := []byte("alice's secret volume")
	qk := put(t, alice, dir, "vol.bin", data)
	upKey := uploadSimple(t, alice, dir, "other.bin", []byte("x"), "replace")

	if got := names(t, bob, "", "folders", 0); len(got) != 0 {
		t.Errorf("bob sees folders %v", got)
	}
	wantError(t, "folder/get_info", bob.Call(t, "folder/get_info", "folder_key", dir), 112, 404)
	wantError(t, "folder/get_content", bob.Call(t, "folder/get_content", "folder_key", dir, "content_type", "files"), 112, 404)
	wantError(t, "folder/create inside", bob.Call(t, "folder/create", "foldername", "x", "parent_key", dir), 112, 404)
	wantError(t, "folder/update", bob.Call(t, "folder/update", "folder_key", dir, "foldername", "mine"), 112, 404)
	wantError(t, "folder/delete", bob.Call(t, "folder/delete", "folder_key", dir), 112, 404)
	wantError(t, "folder/purge", bob.Call(t, "folder/purge", "folder_key", dir), 112, 404)
	for _, m := range []string{"file/get_info", "file/get_links", "file/delete", "file/purge", "file/update"} {
		wantError(t, m, bob.Call(t, m, "quick_key", qk, "filename", "stolen"), 110, 404)
	}
	wantError(t, "file/move", bob.Call(t, "file/move", "quick_key", qk, "folder_key", "myfiles"), 110, 404)
	wantError(t, "upload/check into alice's folder", bob.Call(t, "upload/check", "filename", "x", "hash", sha(data),
		"size", strconv.Itoa(len(data)), "folder_key", dir), 112, 404)
	rep := bob.Upload(t, "upload/simple", bob.Query("upload/simple", "folder_key", dir), map[string]string{
		"X-Filename": "planted", "X-Filesize": "1"}, bytes.NewReader([]byte("p")))
	bob.Follow(rep)
	wantError(t, "upload/simple into alice's folder", rep, 112, 404)
	if rep := bob.Call(t, "upload/poll_upload", "key", upKey); rep.Str("doupload.result") != "-80" {
		t.Errorf("bob polls alice's upload: %v", rep)
	}

	// The dedupe store: bob learns the content exists, not where.
	rep = bob.Call(t, "upload/check", "filename", "vol.bin", "hash", sha(data), "size", strconv.Itoa(len(data)))
	if rep.Str("hash_exists") != "yes" || rep.Str("in_account") != "no" || rep.Str("in_folder") != "no" || rep.Str("file_exists") != "no" {
		t.Errorf("bob's check of alice's content: %v", rep)
	}
	// An instant upload gives bob his own file; alice purging hers leaves it.
	rep = bob.Call(t, "upload/instant", "filename", "mine.bin", "hash", sha(data), "size", strconv.Itoa(len(data)))
	wantOK(t, "bob's instant upload", rep)
	bobQK := rep.Str("quickkey")
	wantOK(t, "alice purges", alice.Call(t, "file/purge", "quick_key", qk))
	if st, b := fetch(t, ts.Client(), link(t, bob, bobQK)); st != http.StatusOK || !bytes.Equal(b, data) {
		t.Errorf("bob's copy after alice's purge: %d %q", st, b)
	}
	// Alice's view is unchanged by bob.
	if got := names(t, alice, dir, "files", 0); len(got) != 1 || got[0] != "other.bin" {
		t.Errorf("alice's folder: %v", got)
	}
	if got := names(t, alice, "", "files", 0); len(got) != 0 {
		t.Errorf("alice's root: %v", got)
	}
}

// TestGetContentDefaultChunks: PYSDK lists without chunk_size, so a folder
// of more than 100 files comes in chunks of 100 in a stable order.
func TestGetContentDefaultChunks(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	data := []byte("same content")
	put(t, s, "", "seed", data)
	for i := range 150 {
		wantOK(t, "instant", s.Call(t, "upload/instant", "filename", "f"+strconv.Itoa(1000+i), "hash", sha(data), "size", strconv.Itoa(len(data))))
	}
	rep := s.Call(t, "folder/get_content", "content_type", "files", "chunk", "1")
	if items := rep.Get("folder_content.files").([]any); len(items) != 100 || rep.Str("folder_content.more_chunks") != "yes" {
		t.Fatalf("first chunk: %d items, more_chunks %s", len(items), rep.Str("folder_content.more_chunks"))
	}
	got := names(t, s, "", "files", 0)
	if len(got) != 151 {
		t.Fatalf("%d files listed, want 151", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i-1] >= got[i] {
			t.Fatalf("listing not in a stable order at %d: %q, %q", i, got[i-1], got[i])
		}
	}
}
