package mediafireserver_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"

	mfst "ferry/mediafireserver/mediafireservertest"
)

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// randomData is n bytes of deterministic noise.
func randomData(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// wantOK fails the test unless rep is a success.
func wantOK(t *testing.T, what string, rep *mfst.Reply) {
	t.Helper()
	if rep.Code() != 0 || rep.Status != http.StatusOK {
		t.Fatalf("%s: %v", what, rep)
	}
}

// wantError fails the test unless rep is error code with HTTP status.
func wantError(t *testing.T, what string, rep *mfst.Reply, code, status int) {
	t.Helper()
	if rep.Code() != code || rep.Status != status || rep.Str("result") != "Error" {
		t.Fatalf("%s: %v, want error %d with HTTP %d", what, rep, code, status)
	}
	if rep.Str("new_key") != "" {
		t.Fatalf("%s: error reply carries new_key: %v", what, rep)
	}
}

// uploadSimple uploads data as name into folder with the session token
// (signed) and returns the upload key.
func uploadSimple(t *testing.T, s *mfst.Session, folder, name string, data []byte, action string) string {
	t.Helper()
	params := []string{"folder_key", folder}
	if action != "" {
		params = append(params, "action_on_duplicate", action)
	}
	rep := s.Upload(t, "upload/simple", s.Query("upload/simple", params...), map[string]string{
		"X-Filename": name, "X-Filesize": strconv.Itoa(len(data)), "X-Filehash": sha(data),
	}, bytes.NewReader(data))
	s.Follow(rep)
	wantOK(t, "upload/simple "+name, rep)
	if rep.Str("doupload.result") != "0" || len(rep.Str("doupload.key")) != 11 {
		t.Fatalf("upload/simple %s: %v", name, rep)
	}
	return rep.Str("doupload.key")
}

// poll polls an upload key once and returns the doupload object's
// fileerror and quickkey, failing unless the status is 99.
func poll(t *testing.T, s *mfst.Session, key string) (fileErr, quickKey string) {
	t.Helper()
	rep := s.Call(t, "upload/poll_upload", "key", key)
	wantOK(t, "poll_upload", rep)
	if rep.Str("doupload.status") != "99" || rep.Str("doupload.result") != "0" {
		t.Fatalf("poll_upload %s: %v", key, rep)
	}
	return rep.Str("doupload.fileerror"), rep.Str("doupload.quickkey")
}

// put uploads and polls, returning the quickkey.
func put(t *testing.T, s *mfst.Session, folder, name string, data []byte) string {
	t.Helper()
	fe, qk := poll(t, s, uploadSimple(t, s, folder, name, data, "replace"))
	if fe != "" || len(qk) != 15 {
		t.Fatalf("upload of %s: fileerror %q quickkey %q", name, fe, qk)
	}
	return qk
}

// link returns the direct download link of quickKey.
func link(t *testing.T, s *mfst.Session, quickKey string) string {
	t.Helper()
	rep := s.Call(t, "file/get_links", "quick_key", quickKey, "link_type", "direct_download")
	wantOK(t, "get_links", rep)
	links, _ := rep.Get("links").([]any)
	if len(links) != 1 {
		t.Fatalf("get_links: %v", rep)
	}
	l, _ := links[0].(map[string]any)["direct_download"].(string)
	if l == "" {
		t.Fatalf("get_links: no direct_download: %v", rep)
	}
	return l
}

// fetch GETs url and returns the status and body.
func fetch(t *testing.T, c *http.Client, url string, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// mkdir creates a folder and returns its key.
func mkdir(t *testing.T, s *mfst.Session, parent, name string) string {
	t.Helper()
	params := []string{"foldername", name, "action_on_duplicate", "skip"}
	if parent != "" {
		params = append(params, "parent_key", parent)
	}
	rep := s.Call(t, "folder/create", params...)
	wantOK(t, "folder/create "+name, rep)
	k := rep.Str("folder_key")
	if len(k) != 13 {
		t.Fatalf("folder/create: key %q", k)
	}
	return k
}

// names lists the names of a folder's files (or folders) through
// get_content, chunk by chunk.
func names(t *testing.T, s *mfst.Session, folder, kind string, chunkSize int) []string {
	t.Helper()
	var out []string
	for chunk := 1; ; chunk++ {
		params := []string{"folder_key", folder, "content_type", kind, "chunk", strconv.Itoa(chunk)}
		if chunkSize > 0 {
			params = append(params, "chunk_size", strconv.Itoa(chunkSize))
		}
		rep := s.Call(t, "folder/get_content", params...)
		wantOK(t, "get_content", rep)
		items, ok := rep.Get("folder_content." + kind).([]any)
		if !ok {
			t.Fatalf("get_content: no %s array: %v", kind, rep)
		}
		for _, it := range items {
			m := it.(map[string]any)
			if kind == "files" {
				out = append(out, m["filename"].(string))
			} else {
				out = append(out, m["name"].(string))
			}
		}
		if rep.Str("folder_content.more_chunks") == "no" {
			return out
		}
		if chunk > 1000 {
			t.Fatal("get_content never ends")
		}
	}
}

// nextKey is the key after one rotation.
func nextKey(k uint64) uint64 { return k * 16807 % 2147483647 }
