package mediafireserver_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	mfst "ferry/mediafireserver/mediafireservertest"
)

// pysdk replays the call sequences of §8.2 of the MediaFire protocol
// spec the way PYSDK 0.6.0 sends them under duplicity: API 1.3, every
// parameter in the POST body sorted by key, signed v2 calls, uploads
// with an action token in the URL query. Each step checks the fields
// PYSDK indexes in the reply (a missing one is a KeyError there).
type pysdk struct {
	t   *testing.T
	ts  *mfst.TestServer
	s   *mfst.Session
	log []string // the actions sent, in order
}

func (p *pysdk) call(method string, params ...string) *mfst.Reply {
	p.t.Helper()
	p.log = append(p.log, method)
	rep := p.s.Call(p.t, method, params...)
	if rep.Code() != 0 || rep.Str("new_key") != "yes" {
		p.t.Fatalf("%s %v: %v", method, params, rep)
	}
	return rep
}

// need fails unless every field is present in rep.
func (p *pysdk) need(rep *mfst.Reply, fields ...string) {
	p.t.Helper()
	for _, f := range fields {
		if rep.Get(f) == nil {
			p.t.Fatalf("%s: reply lacks %s: %v", rep.Str("action"), f, rep)
		}
	}
}

// resource is what get_resource_by_uri found.
type resource struct {
	folderKey string // for a folder
	quickKey  string // for a file
	size      string
	hash      string
}

// resolve is get_resource_by_uri for mf:<fk>/<name> (fk "" for the
// root): folder/get_info, the folders' chunks, the files' chunks until
// the name is found, then file/get_info or folder/get_info of it.
func (p *pysdk) resolve(fk, name string) *resource {
	p.t.Helper()
	var params []string
	if fk != "" {
		params = []string{"folder_key", fk}
	}
	rep := p.call("folder/get_info", params...)
	p.need(rep, "folder_info.folderkey", "folder_info.name")
	fk = rep.Str("folder_info.folderkey")
	if name == "" {
		return &resource{folderKey: fk}
	}
	for _, kind := range []string{"folders", "files"} {
		for chunk := 1; ; chunk++ {
			rep := p.call("folder/get_content", "chunk", strconv.Itoa(chunk), "content_type", kind, "folder_key", fk)
			items, ok := rep.Get("folder_content." + kind).([]any)
			if !ok {
				p.t.Fatalf("get_content: no %s: %v", kind, rep)
			}
			if len(items) == 0 {
				break
			}
			p.need(rep, "folder_content.more_chunks")
			for _, it := range items {
				m := it.(map[string]any)
				if kind == "folders" && m["name"] == name {
					r := p.call("folder/get_info", "folder_key", m["folderkey"].(string))
					p.need(r, "folder_info.folderkey", "folder_info.name")
					return &resource{folderKey: r.Str("folder_info.folderkey")}
				}
				if kind == "files" && m["filename"] == name {
					r := p.call("file/get_info", "quick_key", m["quickkey"].(string))
					p.need(r, "file_info.quickkey", "file_info.filename", "file_info.size", "file_info.hash")
					if fk != "myfiles" {
						p.need(r, "file_info.parent_folderkey")
					}
					return &resource{quickKey: r.Str("file_info.quickkey"), size: r.Str("file_info.size"), hash: r.Str("file_info.hash")}
				}
			}
			if rep.Str("folder_content.more_chunks") == "no" {
				break
			}
		}
	}
	return nil
}

// resolvePath resolves mf:///a/b/... from the root, or returns nil.
func (p *pysdk) resolvePath(path []string) *resource {
	p.t.Helper()
	r := p.resolve("", "")
	for _, name := range path {
		if r = p.resolve(r.folderKey, name); r == nil || r.folderKey == "" {
			return nil
		}
	}
	return r
}

// init is the backend init of §8.2: login, resolve, create what is
// missing level by level, folder/update privacy=private after
// resolving again.
func (p *pysdk) init(path []string) string {
	p.t.Helper()
	p.log = append(p.log, "user/get_session_token")
	p.s = p.ts.Login(p.t, mfst.User, mfst.Password, false)
	if p.resolvePath(path) == nil {
		for i := range path {
			if p.resolvePath(path[:i+1]) != nil {
				continue
			}
			parent := p.resolvePath(path[:i])
			rep := p.call("folder/create", "action_on_duplicate", "skip", "foldername", path[i], "parent_key", parent.folderKey)
			p.need(rep, "folder_key", "name")
			r := p.call("folder/get_info", "folder_key", rep.Str("folder_key"))
			p.need(r, "folder_info.folderkey")
		}
	}
	r := p.resolvePath(path)
	p.call("folder/update", "folder_key", r.folderKey, "privacy", "private")
	return r.folderKey
}

// put is the put of §8.2 with PYSDK's upload decision (resumable above
// 4 MiB) and returns which branch it took.
func (p *pysdk) put(fk, name string, data []byte) string {
	p.t.Helper()
	rep := p.call("user/get_action_token", "lifespan", "1440", "type", "upload")
	at := rep.Str("action_token")
	if p.resolve(fk, name) == nil {
		p.call("folder/get_info", "folder_key", fk)
	}
	size, hash := strconv.Itoa(len(data)), sha(data)
	resumable := "no"
	if len(data) > 4<<20 {
		resumable = "yes"
	}
	check := func() *mfst.Reply {
		rep := p.call("upload/check", "filename", name, "folder_key", fk, "hash", hash, "resumable", resumable, "size", size)
		p.need(rep, "hash_exists", "file_exists")
		if rep.Str("hash_exists") == "yes" {
			p.need(rep, "in_folder", "in_account")
		}
		if rep.Str("file_exists") == "yes" {
			p.need(rep, "different_hash", "duplicate_quickkey")
		}
		return rep
	}
	rep = check()
	branch := ""
	switch {
	case rep.Str("hash_exists") == "yes" && rep.Str("in_folder") == "yes" && rep.Str("file_exists") == "yes" && rep.Str("different_hash") == "no":
		branch = "nothing"
	case rep.Str("hash_exists") == "yes":
		branch = "instant"
		r := p.call("upload/instant", "action_on_duplicate", "replace", "filename", name, "folder_key", fk, "hash", hash, "size", size)
		p.need(r, "quickkey", "filename", "new_device_revision")
	case resumable == "no":
		branch = "simple"
		q := url.Values{"action_on_duplicate": {"replace"}, "folder_key": {fk}, "response_format": {"json"}, "session_token": {at}}.Encode()
		r := p.upload("upload/simple", q, map[string]string{"X-Filename": name, "X-Filesize": size, "X-Filehash": hash}, data, false)
		p.poll(r.Str("doupload.key"))
	default:
		branch = "resumable"
		p.need(rep, "resumable_upload.unit_size", "resumable_upload.number_of_units", "resumable_upload.all_units_ready", "resumable_upload.bitmap.words")
		unit, _ := strconv.Atoi(rep.Str("resumable_upload.unit_size"))
		n, _ := strconv.Atoi(rep.Str("resumable_upload.number_of_units"))
		if unit%8192 != 0 || n != (len(data)+unit-1)/unit {
			p.t.Fatalf("unit size %d for %d units of %d bytes", unit, n, len(data))
		}
		q := url.Values{"action_on_duplicate": {"replace"}, "folder_key": {fk}, "response_format": {"json"}, "session_token": {at}}.Encode()
		var key string
		for u := range n {
			h, b := unitHeaders("", data, unit, u) // PYSDK sends no X-Filename with units
			r := p.upload("upload/resumable", q, h, b, true)
			if key == "" {
				key = r.Str("doupload.key")
			}
		}
		if r := check(); r.Str("resumable_upload.all_units_ready") != "yes" {
			p.t.Fatalf("check after the units: %v", r)
		}
		p.poll(key)
	}
	p.call("user/destroy_action_token", "action_token", at)
	// duplicity's query of the size.
	if r := p.resolve(fk, name); r == nil || r.size != size {
		p.t.Fatalf("query %s after put: %+v", name, r)
	}
	return branch
}

// upload posts an upload/simple or upload/resumable with an action token:
// unsigned, so the reply must not say new_key.
func (p *pysdk) upload(method, query string, headers map[string]string, data []byte, multi bool) *mfst.Reply {
	p.t.Helper()
	p.log = append(p.log, method)
	body, ctype := bytes.NewBuffer(data), "application/octet-stream"
	if multi {
		body = &bytes.Buffer{}
		mw := multipart.NewWriter(body)
		fw, _ := mw.CreateFormFile("file", "chunk")
		fw.Write(data)
		mw.Close()
		ctype = mw.FormDataContentType()
	}
	req, _ := http.NewRequestWithContext(p.t.Context(), http.MethodPost, p.ts.URL+"/api/1.3/"+method+".php?"+query, body)
	req.Header.Set("Content-Type", ctype)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rep := p.s.Do(p.t, req)
	if rep.Code() != 0 || rep.Str("doupload.result") != "0" || len(rep.Str("doupload.key")) != 11 || rep.Str("new_key") != "" {
		p.t.Fatalf("%s: %v", method, rep)
	}
	return rep
}

// poll is PYSDK's poll loop for one answer: status 99 at once with every
// success field.
func (p *pysdk) poll(key string) {
	p.t.Helper()
	rep := p.call("upload/poll_upload", "key", key)
	p.need(rep, "doupload.result", "doupload.status", "doupload.fileerror", "doupload.quickkey", "doupload.hash",
		"doupload.filename", "doupload.size", "doupload.created", "doupload.revision")
	if rep.Str("doupload.status") != "99" || rep.Str("doupload.fileerror") != "" {
		p.t.Fatalf("poll: %v", rep)
	}
}

func (p *pysdk) get(fk, name string) []byte {
	p.t.Helper()
	r := p.resolve(fk, name)
	if r == nil {
		p.t.Fatalf("get %s: not found", name)
	}
	rep := p.call("file/get_links", "link_type", "direct_download", "quick_key", r.quickKey)
	l := rep.Get("links").([]any)[0].(map[string]any)["direct_download"].(string)
	l = strings.Replace(l, "http:", "https:", 1) // PYSDK's rewrite: the stand-in serves TLS here
	_, b := fetch(p.t, p.ts.Client(), l)
	if sha(b) != r.hash {
		p.t.Fatalf("get %s: hash mismatch", name)
	}
	return b
}

func (p *pysdk) list(fk string) []string {
	p.t.Helper()
	p.resolve(fk, "")
	var out []string
	for _, kind := range []string{"folders", "files"} {
		for chunk := 1; ; chunk++ {
			rep := p.call("folder/get_content", "chunk", strconv.Itoa(chunk), "content_type", kind, "folder_key", fk)
			items := rep.Get("folder_content." + kind).([]any)
			if len(items) == 0 {
				break
			}
			for _, it := range items {
				if kind == "files" {
					out = append(out, it.(map[string]any)["filename"].(string))
				}
			}
			if rep.Str("folder_content.more_chunks") == "no" {
				break
			}
		}
	}
	return out
}

func (p *pysdk) delete(fk, name string) {
	p.t.Helper()
	r := p.resolve(fk, name)
	if r == nil {
		p.t.Fatalf("delete %s: not found", name)
	}
	p.call("file/delete", "quick_key", r.quickKey)
}

func TestCallSequences(t *testing.T) {
	ts := mfst.Start(t, mfst.WithTLS())
	p := &pysdk{t: t, ts: ts}
	fk := p.init([]string{"backups", "host1"})
	if len(fk) != 13 {
		t.Fatalf("init: folder key %q", fk)
	}
	init := slices.Clone(p.log)
	if init[0] != "user/get_session_token" || init[len(init)-1] != "folder/update" || slices.Index(init, "folder/create") < 0 {
		t.Errorf("init sequence: %v", init)
	}

	small := randomData(100_000, 10)
	big := randomData(9437307, 11) // 10 resumable units
	for _, c := range []struct {
		name   string
		data   []byte
		branch string
	}{
		{"duplicity-full.vol1.difftar.gpg", small, "simple"},
		{"duplicity-full.vol2.difftar.gpg", big, "resumable"},
		{"duplicity-full.vol1.difftar.gpg", small, "nothing"},
		{"copy-of-vol1", small, "instant"},
	} {
		if got := p.put(fk, c.name, c.data); got != c.branch {
			t.Errorf("put %s: %s, want %s", c.name, got, c.branch)
		}
	}
	if got := p.list(fk); !slices.Equal(got, []string{"copy-of-vol1", "duplicity-full.vol1.difftar.gpg", "duplicity-full.vol2.difftar.gpg"}) {
		t.Errorf("list: %v", got)
	}
	if !bytes.Equal(p.get(fk, "duplicity-full.vol2.difftar.gpg"), big) || !bytes.Equal(p.get(fk, "copy-of-vol1"), small) {
		t.Error("get returned other bytes")
	}
	p.delete(fk, "copy-of-vol1")
	if p.resolve(fk, "copy-of-vol1") != nil {
		t.Error("deleted file still resolves")
	}
	// A second init finds the folder without creating it.
	p.log = nil
	if again := p.init([]string{"backups", "host1"}); again != fk {
		t.Errorf("second init: %s, want %s", again, fk)
	}
	if slices.Contains(p.log, "folder/create") {
		t.Errorf("second init created a folder: %v", p.log)
	}
	// The server counted the calls sent (every reply was a success).
	if st := ts.Server.Stats(); st.Calls["upload/resumable"] != 10 || st.Calls["folder/create"] != 2 {
		t.Errorf("server counts: %v", st.Calls)
	}
}
