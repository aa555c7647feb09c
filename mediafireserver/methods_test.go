package mediafireserver_test

import (
	"bytes"
	"fmt"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"

	mfst "ferry/mediafireserver/mediafireservertest"
)

func TestFolders(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)

	rep := s.Call(t, "folder/get_info")
	wantOK(t, "root info", rep)
	if rep.Str("folder_info.folderkey") != "myfiles" || rep.Get("folder_info.parent_folderkey") != nil {
		t.Errorf("root: %v", rep)
	}
	a := mkdir(t, s, "", "a")
	if again := mkdir(t, s, "myfiles", "a"); again != a {
		t.Errorf("create with skip made a second folder %s beside %s", again, a)
	}
	wantError(t, "create without skip", s.Call(t, "folder/create", "foldername", "a"), 144, 400)
	wantError(t, "create without a name", s.Call(t, "folder/create"), 117, 400)
	wantError(t, "create in an unknown parent", s.Call(t, "folder/create", "foldername", "x", "parent_key", "zzzzzzzzzzzzz"), 112, 404)
	b := mkdir(t, s, a, "b")

	rep = s.Call(t, "folder/get_info", "folder_key", a)
	wantOK(t, "a info", rep)
	if rep.Str("folder_info.name") != "a" || rep.Get("folder_info.parent_folderkey") != nil || rep.Str("folder_info.folder_count") != "1" {
		t.Errorf("child of the root: %v", rep)
	}
	rep = s.Call(t, "folder/get_info", "folder_key", b)
	if rep.Str("folder_info.parent_folderkey") != a {
		t.Errorf("b's parent_folderkey: %v", rep)
	}
	wantError(t, "unknown folder", s.Call(t, "folder/get_info", "folder_key", "zzzzzzzzzzzzz"), 112, 404)

	rep = s.Call(t, "folder/update", "folder_key", b, "foldername", "b2", "privacy", "public")
	wantOK(t, "update", rep)
	if rep.Str("asynchronous") != "no" || rep.Str("new_device_revision") == "" {
		t.Errorf("update: %v", rep)
	}
	rep = s.Call(t, "folder/get_info", "folder_key", b)
	if rep.Str("folder_info.name") != "b2" || rep.Str("folder_info.privacy") != "public" {
		t.Errorf("after update: %v", rep)
	}

	// Paging: 7 files in chunks of 3, in a stable order.
	var want []string
	for i := range 7 {
		n := fmt.Sprintf("f%d", 6-i)
		put(t, s, a, n, []byte(n))
		want = append(want, n)
	}
	slices.Sort(want)
	if got := names(t, s, a, "files", 3); !slices.Equal(got, want) {
		t.Errorf("files in chunks of 3: %v, want %v", got, want)
	}
	if got := names(t, s, a, "files", 0); !slices.Equal(got, want) {
		t.Errorf("files in default chunks: %v", got)
	}
	if got := names(t, s, a, "folders", 0); !slices.Equal(got, []string{"b2"}) {
		t.Errorf("folders: %v", got)
	}
	rep = s.Call(t, "folder/get_content", "folder_key", a, "content_type", "files", "chunk", "3", "chunk_size", "3")
	if rep.Str("folder_content.more_chunks") != "no" || rep.Str("folder_content.chunk_number") != "3" || rep.Str("folder_content.chunk_size") != "3" {
		t.Errorf("last chunk: %v", rep)
	}
	rep = s.Call(t, "folder/get_content", "folder_key", a, "content_type", "files", "chunk", "9")
	if items, ok := rep.Get("folder_content.files").([]any); !ok || len(items) != 0 {
		t.Errorf("chunk past the end: %v", rep)
	}
	rep = s.Call(t, "folder/get_content", "folder_key", a, "content_type", "files", "chunk", "0", "chunk_size", "3")
	if rep.Str("folder_content.chunk_number") != "1" || len(rep.Get("folder_content.files").([]any)) != 3 {
		t.Errorf("chunk 0 (NPMSDK's default) is not the first chunk: %v", rep)
	}
	wantError(t, "chunk_size over 1000", s.Call(t, "folder/get_content", "content_type", "files", "chunk_size", "1001"), 129, 400)

	// Delete hides a folder and what it holds; purge removes it.
	wantOK(t, "delete", s.Call(t, "folder/delete", "folder_key", b))
	if got := names(t, s, a, "folders", 0); len(got) != 0 {
		t.Errorf("trashed folder listed: %v", got)
	}
	wantError(t, "trashed folder info", s.Call(t, "folder/get_info", "folder_key", b), 112, 404)
	wantOK(t, "purge", s.Call(t, "folder/purge", "folder_key", a))
	wantError(t, "purged folder", s.Call(t, "folder/get_info", "folder_key", a), 112, 404)
	if got := names(t, s, "", "folders", 0); len(got) != 0 {
		t.Errorf("root after purge: %v", got)
	}
	rep = s.Call(t, "user/get_info")
	if rep.Str("user_info.used_storage_size") != "0" {
		t.Errorf("storage after purge: %v", rep)
	}
}

func TestFiles(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	data := randomData(100_000, 1)
	qk := put(t, s, "", "one.bin", data)

	rep := s.Call(t, "file/get_info", "quick_key", qk)
	wantOK(t, "get_info", rep)
	if rep.Str("file_info.quickkey") != qk || rep.Str("file_info.filename") != "one.bin" ||
		rep.Str("file_info.size") != "100000" || rep.Str("file_info.hash") != sha(data) || rep.Get("file_info.parent_folderkey") != nil {
		t.Errorf("file/get_info: %v", rep)
	}
	wantError(t, "no quick_key", s.Call(t, "file/get_info"), 111, 400)
	wantError(t, "unknown quick_key", s.Call(t, "file/get_info", "quick_key", "zzzzzzzzzzzzzzz"), 110, 404)

	l := link(t, s, qk)
	c := ts.Client()
	if st, b := fetch(t, c, l); st != 200 || !bytes.Equal(b, data) {
		t.Fatalf("download: %d, %d bytes", st, len(b))
	}
	if st, b := fetch(t, c, l, "Range", "bytes=10-19"); st != http.StatusPartialContent || !bytes.Equal(b, data[10:20]) {
		t.Errorf("ranged download: %d %q", st, b)
	}
	if st, _ := fetch(t, c, l+"x"); st != 200 {
		t.Errorf("the name part of a link is free: %d", st)
	}
	if st, _ := fetch(t, c, ts.URL+"/download/00000000000000000000000000000000/"+qk+"/one.bin"); st != 404 {
		t.Errorf("forged link: %d, want 404", st)
	}

	// Move into a folder, rename: parent_folderkey appears.
	dir := mkdir(t, s, "", "d")
	wantOK(t, "move", s.Call(t, "file/move", "quick_key", qk, "folder_key", dir))
	wantOK(t, "rename", s.Call(t, "file/update", "quick_key", qk, "filename", "two.bin"))
	rep = s.Call(t, "file/get_info", "quick_key", qk)
	if rep.Str("file_info.parent_folderkey") != dir || rep.Str("file_info.filename") != "two.bin" {
		t.Errorf("after move and rename: %v", rep)
	}
	if got := names(t, s, dir, "files", 0); !slices.Equal(got, []string{"two.bin"}) {
		t.Errorf("listing after move: %v", got)
	}
	if got := names(t, s, "", "files", 0); len(got) != 0 {
		t.Errorf("root after move: %v", got)
	}
	if st, _ := fetch(t, c, link(t, s, qk)); st != 200 {
		t.Errorf("download after move: %d", st)
	}

	// Delete to the trash: hidden, 110, link 404. Purge then works on it.
	wantOK(t, "delete", s.Call(t, "file/delete", "quick_key", qk))
	if st, _ := fetch(t, c, l); st != 404 {
		t.Errorf("download of a trashed file: %d", st)
	}
	wantError(t, "trashed file", s.Call(t, "file/get_info", "quick_key", qk), 110, 404)
	wantError(t, "delete again", s.Call(t, "file/delete", "quick_key", qk), 110, 404)
	if got := names(t, s, dir, "files", 0); len(got) != 0 {
		t.Errorf("trashed file listed: %v", got)
	}
	wantOK(t, "purge", s.Call(t, "file/purge", "quick_key", qk))
	wantError(t, "purge again", s.Call(t, "file/purge", "quick_key", qk), 110, 404)
	if st, _ := fetch(t, c, l); st != 404 {
		t.Errorf("download of a purged file: %d", st)
	}
}

func TestUploadCheckAndInstant(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	data := []byte("content known to the server")
	h := sha(data)
	check := func(folder, name string) *mfst.Reply {
		t.Helper()
		rep := s.Call(t, "upload/check", "filename", name, "hash", h, "size", strconv.Itoa(len(data)), "folder_key", folder, "resumable", "no")
		wantOK(t, "check", rep)
		return rep
	}
	rep := check("myfiles", "x.txt")
	if rep.Str("hash_exists") != "no" || rep.Str("file_exists") != "no" || rep.Get("in_folder") != nil || rep.Get("resumable_upload") != nil {
		t.Errorf("check before upload: %v", rep)
	}
	for _, f := range []string{"storage_limit", "used_storage_size", "available_space", "storage_limit_exceeded"} {
		if rep.Str(f) == "" {
			t.Errorf("check without %s", f)
		}
	}
	qk := put(t, s, "myfiles", "x.txt", data)
	rep = check("myfiles", "x.txt")
	if rep.Str("hash_exists") != "yes" || rep.Str("in_folder") != "yes" || rep.Str("in_account") != "yes" ||
		rep.Str("file_exists") != "yes" || rep.Str("different_hash") != "no" || rep.Str("duplicate_quickkey") != qk {
		t.Errorf("check of the same file: %v", rep)
	}
	dir := mkdir(t, s, "", "other")
	rep = check(dir, "x.txt")
	if rep.Str("hash_exists") != "yes" || rep.Str("in_folder") != "no" || rep.Str("in_account") != "yes" || rep.Str("file_exists") != "no" {
		t.Errorf("check in another folder: %v", rep)
	}
	// Instant upload: no bytes.
	rep = s.Call(t, "upload/instant", "filename", "copy.txt", "hash", h, "size", strconv.Itoa(len(data)), "folder_key", dir)
	wantOK(t, "instant", rep)
	if len(rep.Str("quickkey")) != 15 || rep.Str("filename") != "copy.txt" || rep.Str("new_device_revision") == "" {
		t.Fatalf("instant: %v", rep)
	}
	if st, b := fetch(t, ts.Client(), link(t, s, rep.Str("quickkey"))); st != 200 || !bytes.Equal(b, data) {
		t.Errorf("download of the instant copy: %d %q", st, b)
	}
	wantError(t, "instant of an unknown hash", s.Call(t, "upload/instant", "filename", "n", "hash", sha([]byte("nope")), "size", "4"), 129, 400)
	wantError(t, "instant over an existing name with skip", s.Call(t, "upload/instant", "filename", "copy.txt", "hash", h, "size", strconv.Itoa(len(data)), "folder_key", dir), 143, 400)
	other := []byte("other content")
	rep = s.Call(t, "upload/check", "filename", "x.txt", "hash", sha(other), "size", strconv.Itoa(len(other)))
	if rep.Str("file_exists") != "yes" || rep.Str("different_hash") != "yes" || rep.Str("hash_exists") != "no" {
		t.Errorf("check of a changed file: %v", rep)
	}
	wantError(t, "bad hash", s.Call(t, "upload/check", "filename", "x", "hash", "abc", "size", "1"), 129, 400)
}

func TestUploadSimpleDuplicates(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	c := ts.Client()
	qk := put(t, s, "", "f.txt", []byte("v1"))

	// replace keeps the quickkey and serves the new bytes.
	fe, qk2 := poll(t, s, uploadSimple(t, s, "", "f.txt", []byte("v2!"), "replace"))
	if fe != "" || qk2 != qk {
		t.Fatalf("replace: fileerror %q quickkey %q, want %q", fe, qk2, qk)
	}
	if _, b := fetch(t, c, link(t, s, qk)); string(b) != "v2!" {
		t.Errorf("after replace: %q", b)
	}
	// keep renames.
	fe, qk3 := poll(t, s, uploadSimple(t, s, "", "f.txt", []byte("v3"), "keep"))
	if fe != "" || qk3 == qk {
		t.Fatalf("keep: %q %q", fe, qk3)
	}
	rep := s.Call(t, "file/get_info", "quick_key", qk3)
	if rep.Str("file_info.filename") != "f(1).txt" {
		t.Errorf("keep named the file %q", rep.Str("file_info.filename"))
	}
	// skip (also the default) is fileerror 13.
	for _, action := range []string{"skip", ""} {
		if fe, _ := poll(t, s, uploadSimple(t, s, "", "f.txt", []byte("v4"), action)); fe != "13" {
			t.Errorf("action %q on an existing name: fileerror %q, want 13", action, fe)
		}
	}
	if got := names(t, s, "", "files", 0); !slices.Equal(got, []string{"f(1).txt", "f.txt"}) {
		t.Errorf("files: %v", got)
	}
}

func TestUploadSimpleMismatch(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	data := []byte("the real bytes")
	for _, c := range []struct{ name, size, hash string }{
		{"bad hash", strconv.Itoa(len(data)), sha([]byte("other"))},
		{"short body", strconv.Itoa(len(data) + 5), sha(data)},
		{"long body", strconv.Itoa(len(data) - 1), sha(data)},
	} {
		rep := s.Upload(t, "upload/simple", s.Query("upload/simple"), map[string]string{
			"X-Filename": c.name, "X-Filesize": c.size, "X-Filehash": c.hash}, bytes.NewReader(data))
		s.Follow(rep)
		wantOK(t, c.name, rep)
		if fe, qk := poll(t, s, rep.Str("doupload.key")); fe != "7" || qk != "" {
			t.Errorf("%s: fileerror %q quickkey %q, want 7 and none", c.name, fe, qk)
		}
	}
	if got := names(t, s, "", "files", 0); len(got) != 0 {
		t.Errorf("failed uploads made files: %v", got)
	}
	rep := s.Upload(t, "upload/simple", s.Query("upload/simple"), map[string]string{"X-Filesize": "3"}, bytes.NewReader([]byte("abc")))
	s.Follow(rep)
	if rep.Str("doupload.result") != "-49" {
		t.Errorf("upload without a name: %v", rep)
	}
	rep = s.Call(t, "upload/poll_upload", "key", "zzzzzzzzzzz")
	if rep.Str("doupload.result") != "-80" {
		t.Errorf("poll of an unknown key: %v", rep)
	}
}

func TestUploadSimpleMultipart(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	data := []byte("multipart file data")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "from-part.txt")
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+s.Path("upload/simple")+"?"+s.Query("upload/simple"), &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Filesize", strconv.Itoa(len(data)))
	req.Header.Set("X-Filehash", sha(data))
	rep := s.Do(t, req)
	s.Follow(rep)
	wantOK(t, "multipart upload", rep)
	fe, qk := poll(t, s, rep.Str("doupload.key"))
	if fe != "" {
		t.Fatalf("fileerror %q", fe)
	}
	if r := s.Call(t, "file/get_info", "quick_key", qk); r.Str("file_info.filename") != "from-part.txt" {
		t.Errorf("name from the part: %v", r)
	}
}

// unitHeaders are the headers of unit u of a resumable upload.
func unitHeaders(name string, data []byte, unitSize, u int) (map[string]string, []byte) {
	end := min((u+1)*unitSize, len(data))
	unit := data[u*unitSize : end]
	h := map[string]string{
		"X-Filesize": strconv.Itoa(len(data)), "X-Filehash": sha(data),
		"X-Unit-Id": strconv.Itoa(u), "X-Unit-Hash": sha(unit), "X-Unit-Size": strconv.Itoa(len(unit)),
	}
	if name != "" {
		h["X-Filename"] = name
	}
	return h, unit
}

func TestUploadResumable(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	data := randomData(9437307, 2) // 10 units of 1 MiB, the last short (§6.3)
	const unit = 1 << 20
	check := func() *mfst.Reply {
		t.Helper()
		rep := s.Call(t, "upload/check", "filename", "big.bin", "hash", sha(data), "size", strconv.Itoa(len(data)), "resumable", "yes")
		wantOK(t, "check", rep)
		return rep
	}
	rep := check()
	if rep.Str("resumable_upload.number_of_units") != "10" || rep.Str("resumable_upload.unit_size") != "1048576" ||
		rep.Str("resumable_upload.all_units_ready") != "no" || rep.Str("resumable_upload.bitmap.count") != "1" ||
		len(rep.Str("resumable_upload.upload_key")) != 11 {
		t.Fatalf("check: %v", rep)
	}
	send := func(u int, mutate func(h map[string]string, b []byte) []byte) *mfst.Reply {
		t.Helper()
		h, b := unitHeaders("", data, unit, u)
		if mutate != nil {
			b = mutate(h, b)
		}
		// PYSDK sends units with the session token signed, as multipart,
		// without X-Filename.
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", "chunk")
		fw.Write(b)
		mw.Close()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost,
			ts.URL+s.Path("upload/resumable")+"?"+s.Query("upload/resumable", "action_on_duplicate", "replace"), &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		for k, v := range h {
			req.Header.Set(k, v)
		}
		rep := s.Do(t, req)
		s.Follow(rep)
		wantOK(t, "unit "+strconv.Itoa(u), rep)
		return rep
	}
	var key string
	for _, u := range []int{0, 1, 2, 7} {
		rep := send(u, nil)
		if rep.Str("doupload.result") != "0" {
			t.Fatalf("unit %d: %v", u, rep)
		}
		if key == "" {
			key = rep.Str("doupload.key")
		} else if rep.Str("doupload.key") != key {
			t.Errorf("unit %d: key %q, want the same %q", u, rep.Str("doupload.key"), key)
		}
	}
	if key != check().Str("resumable_upload.upload_key") {
		t.Errorf("units' key %s differs from check's", key)
	}
	rep = check()
	if w := rep.Get("resumable_upload.bitmap.words").([]any); len(w) != 1 || w[0] != "135" { // units 0,1,2,7
		t.Errorf("bitmap after units 0,1,2,7: %v", rep)
	}
	rep = send(3, func(h map[string]string, b []byte) []byte { h["X-Unit-Hash"] = sha([]byte("x")); return b })
	if rep.Str("doupload.result") != "-90" {
		t.Errorf("wrong unit hash: %v", rep)
	}
	rep = send(3, func(h map[string]string, b []byte) []byte { h["X-Unit-Size"] = "5"; return b[:5] })
	if rep.Str("doupload.result") != "-43" {
		t.Errorf("wrong unit size: %v", rep)
	}
	rep = send(3, func(h map[string]string, b []byte) []byte { h["X-Unit-Id"] = "10"; return b })
	if rep.Str("doupload.result") != "-43" {
		t.Errorf("unit id out of range: %v", rep)
	}
	if rep := s.Call(t, "upload/poll_upload", "key", key); rep.Str("doupload.status") == "99" {
		t.Errorf("poll of an incomplete upload: %v", rep)
	}
	before := ts.Server.Stats().Units
	for _, u := range []int{3, 4, 5, 6, 8, 9} {
		rep = send(u, nil)
	}
	if n := ts.Server.Stats().Units - before; n != 6 {
		t.Errorf("the server received %d units, want 6", n)
	}
	if rep.Str("resumable_upload.all_units_ready") != "yes" {
		t.Fatalf("last unit: %v", rep)
	}
	rep = check()
	if rep.Str("resumable_upload.all_units_ready") != "yes" || rep.Str("file_exists") != "yes" || rep.Str("different_hash") != "no" {
		t.Errorf("check after the last unit: %v", rep)
	}
	fe, qk := poll(t, s, key)
	if fe != "" || qk == "" {
		t.Fatalf("poll: %q %q", fe, qk)
	}
	info := s.Call(t, "file/get_info", "quick_key", qk)
	if info.Str("file_info.filename") != "big.bin" || info.Str("file_info.size") != "9437307" {
		t.Errorf("the name comes from upload/check: %v", info)
	}
	if _, b := fetch(t, ts.Client(), link(t, s, qk)); !bytes.Equal(b, data) {
		t.Error("download differs from the upload")
	}
	// Raw units (CPPSDK, JSSDK) with X-Filename; one unit for a small file.
	small := randomData(5000, 3)
	h, _ := unitHeaders("small.bin", small, 4<<20, 0)
	rep = s.Upload(t, "upload/resumable", s.Query("upload/resumable"), h, bytes.NewReader(small))
	s.Follow(rep)
	if rep.Str("resumable_upload.all_units_ready") != "yes" || rep.Str("resumable_upload.number_of_units") != "1" {
		t.Fatalf("one-unit upload: %v", rep)
	}
	if fe, qk := poll(t, s, rep.Str("doupload.key")); fe != "" || qk == "" {
		t.Fatalf("poll: %q %q", fe, qk)
	}
}

func TestDownloadLinkScheme(t *testing.T) {
	ts := mfst.Start(t, mfst.WithTLS())
	s := ts.Login(t, mfst.User, mfst.Password, false)
	qk := put(t, s, "", "tls.txt", []byte("over TLS"))
	l := link(t, s, qk)
	u, err := url.Parse(l)
	if err != nil || u.Scheme != "https" || "https://"+u.Host != ts.URL {
		t.Fatalf("link %q on %s", l, ts.URL)
	}
	if _, b := fetch(t, ts.Client(), l); string(b) != "over TLS" {
		t.Errorf("download over TLS: %q", b)
	}
}

// TestResumableName: a resumable upload takes its name from the latest
// upload/check (PYSDK sends no X-Filename), or from X-Filename when a
// unit carries one.
func TestResumableName(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	for _, c := range []struct{ xName, want string }{{"", "second.bin"}, {"header.bin", "header.bin"}} {
		data := randomData(5<<20, uint64(len(c.xName))+50)
		check := func(name string) {
			wantOK(t, "check", s.Call(t, "upload/check", "filename", name, "hash", sha(data), "size", strconv.Itoa(len(data)), "resumable", "yes"))
		}
		check("first.bin")
		send := func(u int) *mfst.Reply {
			h, unit := unitHeaders(c.xName, data, 1<<20, u)
			rep := s.Upload(t, "upload/resumable", s.Query("upload/resumable"), h, bytes.NewReader(unit))
			s.Follow(rep)
			wantOK(t, "unit", rep)
			return rep
		}
		send(0)
		check("second.bin")
		var rep *mfst.Reply
		for u := 1; u < 5; u++ {
			rep = send(u)
		}
		_, qk := poll(t, s, rep.Str("doupload.key"))
		if got := s.Call(t, "file/get_info", "quick_key", qk).Str("file_info.filename"); got != c.want {
			t.Errorf("X-Filename %q: file named %q, want %q", c.xName, got, c.want)
		}
	}
}

// TestDuplicateNames: a rename or move may give two files one name (as
// MediaFire allows); both are listed, in a stable order, and each stays
// reachable. The listing reverses with order_direction=desc.
func TestDuplicateNames(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	a := put(t, s, "", "a", []byte("first"))
	b := put(t, s, "", "b", []byte("second"))
	put(t, s, "", "c", []byte("third"))
	wantOK(t, "rename", s.Call(t, "file/update", "quick_key", b, "filename", "a"))
	if got := names(t, s, "", "files", 0); !slices.Equal(got, []string{"a", "a", "c"}) {
		t.Fatalf("files: %v", got)
	}
	rep := s.Call(t, "folder/get_content", "content_type", "files", "order_direction", "desc", "chunk_size", "2")
	items := rep.Get("folder_content.files").([]any)
	if len(items) != 2 || items[0].(map[string]any)["filename"] != "c" || rep.Str("folder_content.more_chunks") != "yes" {
		t.Errorf("desc listing: %v", rep)
	}
	for _, qk := range []string{a, b} {
		if rep := s.Call(t, "file/get_info", "quick_key", qk); rep.Str("file_info.filename") != "a" {
			t.Errorf("%s: %v", qk, rep)
		}
	}
	rep = s.Call(t, "upload/check", "filename", "a", "hash", sha([]byte("x")), "size", "1")
	if dup := rep.Str("duplicate_quickkey"); rep.Str("file_exists") != "yes" || (dup != a && dup != b) {
		t.Errorf("check of a duplicated name: %v", rep)
	}
	wantOK(t, "delete one", s.Call(t, "file/delete", "quick_key", a))
	if got := names(t, s, "", "files", 0); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("after deleting one: %v", got)
	}
	if rep := s.Call(t, "folder/get_info"); rep.Str("folder_info.file_count") != "2" {
		t.Errorf("file_count: %v", rep)
	}
}

// TestHTTPMethods: API calls are GET or POST; downloads GET or HEAD.
func TestHTTPMethods(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	l := link(t, s, put(t, s, "", "h.txt", []byte("head me")))
	c := ts.Client()
	for _, m := range []struct {
		method, url string
		want        int
	}{
		{http.MethodHead, l, 200},
		{http.MethodPut, l, 405},
		{http.MethodHead, ts.URL + s.Path("user/get_info"), 405},
		{http.MethodDelete, ts.URL + s.Path("file/delete"), 405},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), m.method, m.url, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != m.want {
			t.Errorf("%s %s: %d, want %d", m.method, m.url, resp.StatusCode, m.want)
		}
		if m.method == http.MethodHead && m.want == 200 && resp.ContentLength != 7 {
			t.Errorf("HEAD of the link: Content-Length %d", resp.ContentLength)
		}
	}
}

// TestEmptyFile: a zero-byte file uploads simply and as one empty
// resumable unit, and downloads as nothing.
func TestEmptyFile(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	qk := put(t, s, "", "empty", nil)
	if st, b := fetch(t, ts.Client(), link(t, s, qk)); st != 200 || len(b) != 0 {
		t.Errorf("empty download: %d %q", st, b)
	}
	if rep := s.Call(t, "file/get_info", "quick_key", qk); rep.Str("file_info.size") != "0" || rep.Str("file_info.hash") != sha(nil) {
		t.Errorf("empty file: %v", rep)
	}
	h, unit := unitHeaders("empty2", nil, 4<<20, 0)
	rep := s.Upload(t, "upload/resumable", s.Query("upload/resumable"), h, bytes.NewReader(unit))
	s.Follow(rep)
	if rep.Str("resumable_upload.all_units_ready") != "yes" || rep.Str("resumable_upload.number_of_units") != "1" {
		t.Fatalf("empty resumable: %v", rep)
	}
	if fe, qk := poll(t, s, rep.Str("doupload.key")); fe != "" || qk == "" {
		t.Errorf("empty resumable poll: %q %q", fe, qk)
	}
}

// TestUTF8FileName: PYSDK sends X-Filename as raw UTF-8 bytes.
func TestUTF8FileName(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	const name = "тест ü ✓.bin"
	qk := put(t, s, "", name, []byte("utf-8"))
	if got := s.Call(t, "file/get_info", "quick_key", qk).Str("file_info.filename"); got != name {
		t.Errorf("name %q, want %q", got, name)
	}
	if _, b := fetch(t, ts.Client(), link(t, s, qk)); string(b) != "utf-8" {
		t.Errorf("download: %q", b)
	}
}

// TestUnitStoredOnce: units are written in place; once a unit is stored
// another copy of it (even a self-consistent different one) does not
// overwrite it, and a body longer than X-Unit-Size is refused.
func TestUnitStoredOnce(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	data := randomData(5<<20, 90)
	send := func(u int, body []byte, h map[string]string) *mfst.Reply {
		t.Helper()
		rep := s.Upload(t, "upload/resumable", s.Query("upload/resumable"), h, bytes.NewReader(body))
		s.Follow(rep)
		wantOK(t, "unit", rep)
		return rep
	}
	h, unit := unitHeaders("once.bin", data, 1<<20, 0)
	send(0, unit, h)
	other := bytes.Clone(unit)
	other[10] ^= 1
	h2 := maps.Clone(h)
	h2["X-Unit-Hash"] = sha(other)
	if rep := send(0, other, h2); rep.Str("doupload.result") != "0" {
		t.Errorf("second copy of a stored unit: %v", rep)
	}
	h, unit = unitHeaders("", data, 1<<20, 1)
	if rep := send(1, append(bytes.Clone(unit), 'x'), h); rep.Str("doupload.result") != "-43" {
		t.Errorf("a unit longer than X-Unit-Size: %v", rep)
	}
	var last *mfst.Reply
	for u := 1; u < 5; u++ {
		h, unit := unitHeaders("", data, 1<<20, u)
		last = send(u, unit, h)
	}
	fe, qk := poll(t, s, last.Str("doupload.key"))
	if fe != "" {
		t.Fatalf("fileerror %q", fe)
	}
	if _, b := fetch(t, ts.Client(), link(t, s, qk)); sha(b) != sha(data) {
		t.Error("the file is not the first copies of its units")
	}
}

// The file hash a resumable upload is checked against is computed as the
// units come, in any order and with repeats: units whose own hashes are
// right but whose file is not the one X-Filehash names end in fileerror
// 7, and units in reverse order with a repeat make the file.
func TestUploadResumableFileHash(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	data := randomData(9437307, 3) // 10 units of 1 MiB
	const unit = 1 << 20
	for _, c := range []struct {
		name     string
		fileHash string
		order    []int
		wantFE   string
	}{
		{"wrong file hash", sha([]byte("other content")), []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, "7"},
		{"reverse with a repeat", sha(data), []int{9, 8, 7, 6, 5, 5, 4, 3, 2, 1, 0}, ""},
		{"middle first", sha(data), []int{4, 5, 6, 0, 1, 7, 8, 9, 2, 3}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			name := fmt.Sprintf("fh-%d-%d.bin", len(c.order), c.order[0])
			rep := s.Call(t, "upload/check", "filename", name, "hash", c.fileHash, "size", strconv.Itoa(len(data)), "resumable", "yes")
			wantOK(t, "check", rep)
			var key string
			for _, u := range c.order {
				h, b := unitHeaders(name, data, unit, u)
				h["X-Filehash"] = c.fileHash
				rep := s.Upload(t, "upload/resumable", s.Query("upload/resumable", "action_on_duplicate", "replace"), h, bytes.NewReader(b))
				s.Follow(rep)
				if rep.Str("doupload.result") != "0" {
					t.Fatalf("unit %d: %v", u, rep)
				}
				key = rep.Str("doupload.key")
			}
			fe, qk := poll(t, s, key)
			if fe != c.wantFE {
				t.Fatalf("fileerror %q, want %q", fe, c.wantFE)
			}
			if fe != "" {
				return
			}
			if _, b := fetch(t, ts.Client(), link(t, s, qk)); !bytes.Equal(b, data) {
				t.Errorf("the stored file differs from the units sent")
			}
		})
	}
}
