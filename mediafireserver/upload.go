package mediafireserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Upload failures answered in doupload.result (§6.4).
const (
	uploadOK         = "0"
	uploadIncomplete = "-43"
	uploadBadSize    = "-48"
	uploadNoName     = "-49"
	uploadBadHash    = "-90"
	pollUnknownKey   = "-80"
)

// File errors of a finished upload, in poll_upload's fileerror (§6.6).
const (
	fileErrorMismatch = "7"
	fileErrorExists   = "13"
	fileErrorStorage  = "15"
)

// UnitSize is the unit size of a resumable upload of a file of size
// bytes (§6.3): 4 MiB below 4 MiB, then 1 MiB doubling each time the
// size reaches the next power of four times 4 MiB, up to 64 MiB.
func UnitSize(size int64) int64 {
	for i := range 7 {
		if size < 4<<20<<(2*i) {
			if i == 0 {
				return 4 << 20
			}
			return 1 << 20 << (i - 1)
		}
	}
	return 64 << 20
}

// unitCount is the number of units of a file of size bytes.
func unitCount(size, unit int64) int {
	n := int((size + unit - 1) / unit)
	return max(n, 1)
}

// uploadTarget reads the folder, size and hash of an upload/check or
// upload/instant.
func (c *call) uploadTarget() (name, hash string, size int64, err error) {
	name, hash = c.get("filename"), strings.ToLower(c.get("hash"))
	if name == "" {
		return "", "", 0, apiErrf(codeMissingParam, "filename is missing")
	}
	if !validName(name) {
		return "", "", 0, apiErrf(codeFileName, "File name %q is invalid", name)
	}
	size, err = strconv.ParseInt(c.get("size"), 10, 64)
	if err != nil || size < 0 {
		return "", "", 0, apiErrf(codeInvalidParam, "size %q: want a byte count", c.get("size"))
	}
	if !validHash(hash) {
		return "", "", 0, apiErrf(codeInvalidParam, "hash %q: want 64 hex digits (SHA-256)", c.get("hash"))
	}
	return name, hash, size, nil
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}

// uploadCheck is upload/check (§6.2).
func (c *call) uploadCheck() (fields, error) {
	name, hash, size, err := c.uploadTarget()
	if err != nil {
		return nil, err
	}
	resumable := c.get("resumable") == "yes"
	out := fields{}
	run := c.s.view
	if resumable { // opens or renames the resumable session
		run = func(fn func(tx *bolt.Tx) error) error {
			return c.s.update(func(tx *bolt.Tx, _ func(string)) error { return fn(tx) })
		}
	}
	err = run(func(tx *bolt.Tx) error {
		folder, err := getFolder(tx, c.user, c.get("folder_key"), false)
		if err != nil {
			return err
		}
		u, err := getUser(tx, c.user)
		if err != nil {
			return err
		}
		if folder.Key != rootKey {
			out["folder_key"] = folder.Key
		}
		exists := blobRefs(tx, hash) > 0
		out["hash_exists"] = yesNo(exists)
		if exists {
			files, err := liveFiles(tx, c.user, folder.Key)
			if err != nil {
				return err
			}
			inFolder := false
			for _, f := range files {
				inFolder = inFolder || f.Hash == hash
			}
			out["in_folder"] = yesNo(inFolder)
			out["in_account"] = yesNo(inFolder || ownsHash(tx, c.user, hash))
		}
		out["file_exists"] = "no"
		same, err := fileNamed(tx, c.user, folder.Key, name)
		if err != nil {
			return err
		}
		if same != nil {
			out["file_exists"] = "yes"
			out["different_hash"] = yesNo(same.Hash != hash)
			out["duplicate_quickkey"] = same.Key
		}
		out["storage_limit"] = itoa(u.Limit)
		out["used_storage_size"] = itoa(u.Used)
		out["available_space"] = itoa(max(u.Limit-u.Used, 0))
		out["storage_limit_exceeded"] = yesNo(u.Used+size > u.Limit)
		if !resumable {
			return nil
		}
		r, err := c.s.openResumable(tx, c.user, folder.Key, hash, size, name)
		if err != nil {
			return err
		}
		out["resumable_upload"] = resumableFields(r, true)
		return nil
	})
	return out, err
}

// ownsHash reports whether user has a file (even trashed) with hash.
func ownsHash(tx *bolt.Tx, user, hash string) bool {
	found := false
	_ = tx.Bucket(bucketFiles).ForEach(func(_, v []byte) error {
		if found || !bytes.Contains(v, []byte(hash)) {
			return nil
		}
		var f fileRec
		if json.Unmarshal(v, &f) == nil && f.Owner == user && f.Hash == hash {
			found = true
		}
		return nil
	})
	return found
}

// openResumable returns the resumable session of (user, folder, hash,
// size), creating it if there is none or if the file a finished one made
// is gone; name, when not empty, becomes the name of the file to be. With
// no session and no name it returns nil.
func (s *Server) openResumable(tx *bolt.Tx, user, folder, hash string, size int64, name string) (*resumableRec, error) {
	key := resumableKey(user, folder, hash, size)
	var r resumableRec
	ok, err := getJSON(tx, bucketResumable, string(key), &r)
	if err != nil {
		return nil, err
	}
	if ok && r.Done {
		if f, err := getFile(tx, user, r.QuickKey); err != nil || f.Hash != hash || f.Folder != folder {
			ok = false
		}
	}
	if ok {
		if name != "" && name != r.Filename && !r.Done {
			r.Filename = name
			if err := putJSON(tx, bucketResumable, string(key), &r); err != nil {
				return nil, err
			}
		}
		return &r, nil
	}
	if name == "" {
		return nil, nil
	}
	unit := UnitSize(size)
	n := unitCount(size, unit)
	r = resumableRec{
		UploadKey: newKey(tx, bucketUploads, uploadKeyLen), Filename: name,
		Units: n, UnitSize: unit, Have: make([]uint16, (n+15)/16),
	}
	up := &uploadRec{Owner: user, Filename: name, Hash: hash, Size: size, Created: s.now().Unix()}
	if err := putJSON(tx, bucketUploads, r.UploadKey, up); err != nil {
		return nil, err
	}
	return &r, putJSON(tx, bucketResumable, string(key), &r)
}

// resumableFields describe r as upload/check and upload/resumable do.
func resumableFields(r *resumableRec, withKey bool) fields {
	words := make([]any, len(r.Have))
	for i, w := range r.Have {
		words[i] = strconv.Itoa(int(w))
	}
	if r.Done {
		for i := range words {
			words[i] = strconv.Itoa(int(fullWord(r.Units, i)))
		}
	}
	out := fields{
		"all_units_ready": yesNo(r.Done || r.complete()),
		"number_of_units": strconv.Itoa(r.Units), "unit_size": itoa(r.UnitSize),
		"bitmap": fields{"count": strconv.Itoa(len(words)), "words": words},
	}
	if withKey {
		out["upload_key"] = r.UploadKey
	}
	return out
}

// fullWord is bitmap word i with every one of n units present.
func fullWord(n, i int) uint16 {
	left := n - 16*i
	if left >= 16 {
		return 0xffff
	}
	return uint16(1)<<left - 1
}

// uploadInstant is upload/instant (§6.5): a file from a blob already
// stored, no bytes sent.
func (c *call) uploadInstant() (fields, error) {
	name, hash, size, err := c.uploadTarget()
	if err != nil {
		return nil, err
	}
	var out fields
	err = c.s.update(func(tx *bolt.Tx, release func(string)) error {
		folder, err := getFolder(tx, c.user, c.get("folder_key"), false)
		if err != nil {
			return err
		}
		if blobRefs(tx, hash) == 0 {
			return apiErrf(codeInvalidParam, "No stored file has hash %s", hash)
		}
		if fi, err := os.Stat(c.s.blobPath(hash)); err != nil || fi.Size() != size {
			return apiErrf(codeInvalidParam, "size %d does not match the stored file of hash %s", size, hash)
		}
		u, err := getUser(tx, c.user)
		if err != nil {
			return err
		}
		f, fileErr, err := c.s.placeFile(tx, u, folder.Key, name, hash, size, c.get("action_on_duplicate"), release)
		if err != nil {
			return err
		}
		switch fileErr {
		case fileErrorExists:
			return apiErr(codeFileExists)
		case fileErrorStorage:
			return apiErr(codeStorageLimit)
		}
		out = fields{"quickkey": f.Key, "filename": f.Name, "new_device_revision": itoa(u.Revision)}
		return putUser(tx, u)
	})
	return out, err
}

// placeFile makes a file of the stored blob hash in folder under the
// duplicate action: replace overwrites a live file of the same name and
// keeps its quickkey, keep takes a free name, skip (the default) leaves
// the file and reports fileerror 13. It takes a blob reference and
// advances u's revision; the caller stores u.
func (s *Server) placeFile(tx *bolt.Tx, u *userRec, folder, name, hash string, size int64, action string, release func(string)) (*fileRec, string, error) {
	existing, err := fileNamed(tx, u.ID, folder, name)
	if err != nil {
		return nil, "", err
	}
	grow := size
	if existing != nil && action == "replace" {
		grow -= existing.Size
	}
	if grow > 0 && u.Used+grow > u.Limit {
		return nil, fileErrorStorage, nil
	}
	if existing != nil {
		switch action {
		case "replace":
			if _, err := addBlobRef(tx, existing.Hash, -1); err != nil {
				return nil, "", err
			}
			release(existing.Hash)
			if _, err := addBlobRef(tx, hash, 1); err != nil {
				return nil, "", err
			}
			u.Used += grow
			existing.Hash, existing.Size, existing.Revision = hash, size, bump(u)
			return existing, "", putFile(tx, existing)
		case "keep":
			name = freeName(tx, u.ID, folder, name)
		default:
			return existing, fileErrorExists, nil
		}
	}
	f := &fileRec{
		Key: newKey(tx, bucketFiles, quickKeyLen), Owner: u.ID, Folder: folder, Name: name,
		Hash: hash, Size: size, Privacy: "private", Created: s.now().Unix(), Revision: bump(u),
	}
	if _, err := addBlobRef(tx, hash, 1); err != nil {
		return nil, "", err
	}
	if err := tx.Bucket(bucketChildren).Put(childKey(u.ID, folder, 'f', f.Key), nil); err != nil {
		return nil, "", err
	}
	u.Used += size
	return f, "", putFile(tx, f)
}

// ---- data uploads ----

// uploadBody is the file data of an upload request: the raw body, or the
// file part of a multipart body, with the part's file name.
func uploadBody(r *http.Request) (io.Reader, string, error) {
	mt, p, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !strings.HasPrefix(mt, "multipart/") {
		return r.Body, "", nil
	}
	mr := multipart.NewReader(r.Body, p["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, "", fmt.Errorf("multipart body without a file part: %w", err)
		}
		if part.FormName() == "file" || part.FileName() != "" {
			return part, part.FileName(), nil
		}
	}
}

// errBodyCut marks a request body that ended in an error (the client
// went away), as opposed to a failure of the server's own disk.
var errBodyCut = errors.New("request body cut")

// bodyReader marks the read errors of r with errBodyCut.
type bodyReader struct{ r io.Reader }

func (b bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF { //nolint:errorlint // io.EOF is returned unwrapped by Read
		err = fmt.Errorf("%w: %w", errBodyCut, err)
	}
	return n, err
}

// receive streams up to limit+1 bytes of body into a new temporary file,
// synced, and returns its path, length and SHA-256. A body that breaks
// off is an error wrapping errBodyCut; nothing is kept.
func (s *Server) receive(body io.Reader, limit int64) (string, int64, string, error) {
	f, err := os.CreateTemp(s.tmpDir, "up-")
	if err != nil {
		return "", 0, "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(bodyReader{body}, limit+1))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", 0, "", err
	}
	return f.Name(), n, hex.EncodeToString(h.Sum(nil)), nil
}

// placeBlob moves the temporary file tmp to the blob of hash (or drops it
// when that blob exists). Call it inside update.
func (s *Server) placeBlob(tmp, hash string) error {
	if _, err := os.Stat(s.blobPath(hash)); err == nil {
		return os.Remove(tmp)
	}
	return os.Rename(tmp, s.blobPath(hash))
}

func removeFile(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// doupload is the reply of an upload request.
func doupload(result, key string) fields {
	d := fields{"result": result}
	if key != "" {
		d["key"] = key
	}
	return fields{"doupload": d}
}

// uploadSimple is upload/simple (§6.4): the whole file in one body.
func (c *call) uploadSimple() (fields, error) {
	r := c.r
	body, partName, err := uploadBody(r)
	if err != nil {
		return doupload("-32", ""), nil
	}
	name := r.Header.Get("X-Filename")
	if name == "" {
		name = partName
	}
	if !validName(name) {
		return doupload(uploadNoName, ""), nil
	}
	size, err := strconv.ParseInt(r.Header.Get("X-Filesize"), 10, 64)
	if err != nil || size < 0 {
		if r.ContentLength < 0 || partName != "" {
			return doupload(uploadBadSize, ""), nil
		}
		size = r.ContentLength
	}
	wantHash := strings.ToLower(r.Header.Get("X-Filehash"))
	var folder string
	if err := c.s.view(func(tx *bolt.Tx) error {
		f, err := getFolder(tx, c.user, c.get("folder_key"), false)
		if f != nil {
			folder = f.Key
		}
		return err
	}); err != nil {
		return nil, err
	}
	tmp, n, hash, err := c.s.receive(body, size)
	if errors.Is(err, errBodyCut) {
		c.s.log.Info("upload body cut", logKeyUser, c.user, logKeyErr, err)
		return nil, apiErr(codeUploadFailed) // an error: the key does not rotate for a reply nobody reads
	}
	if err != nil {
		return nil, fmt.Errorf("receive upload: %w", err)
	}
	defer removeFile(tmp)
	c.s.stats.addUpload(n)
	up := &uploadRec{Owner: c.user, Filename: name, Hash: hash, Size: n, Created: c.s.now().Unix(), Done: true}
	if n != size || (wantHash != "" && wantHash != hash) || c.s.faultHit(c.action, FaultFileError7) {
		up.FileError = fileErrorMismatch
	}
	var key string
	err = c.s.update(func(tx *bolt.Tx, release func(string)) error {
		key = newKey(tx, bucketUploads, uploadKeyLen)
		if up.FileError == "" {
			if err := c.s.commitUpload(tx, up, folder, tmp, c.get("action_on_duplicate"), release); err != nil {
				return err
			}
		}
		return putJSON(tx, bucketUploads, key, up)
	})
	if err != nil {
		return nil, err
	}
	return doupload(uploadOK, key), nil
}

// commitUpload turns the received file tmp into the file up describes in
// folder and records the outcome in up.
func (s *Server) commitUpload(tx *bolt.Tx, up *uploadRec, folder, tmp, action string, release func(string)) error {
	u, err := getUser(tx, up.Owner)
	if err != nil {
		return err
	}
	if err := s.placeBlob(tmp, up.Hash); err != nil {
		return err
	}
	f, fileErr, err := s.placeFile(tx, u, folder, up.Filename, up.Hash, up.Size, action, release)
	if err != nil {
		return err
	}
	if fileErr != "" {
		up.FileError = fileErr
		if blobRefs(tx, up.Hash) == 0 {
			release(up.Hash)
		}
		return nil
	}
	up.QuickKey, up.Filename, up.Created, up.Revision = f.Key, f.Name, f.Created, f.Revision
	return putUser(tx, u)
}

// uploadResumable is upload/resumable (§6.4): one unit of a file.
func (c *call) uploadResumable() (fields, error) {
	r := c.r
	h := r.Header
	size, err := strconv.ParseInt(h.Get("X-Filesize"), 10, 64)
	if err != nil || size < 0 {
		return doupload(uploadBadSize, ""), nil
	}
	hash := strings.ToLower(h.Get("X-Filehash"))
	if !validHash(hash) {
		return doupload(uploadBadHash, ""), nil
	}
	var folder string
	var sess *resumableRec
	name := h.Get("X-Filename")
	err = c.s.view(func(tx *bolt.Tx) error { // the common case: a session to add a unit to
		f, err := getFolder(tx, c.user, c.get("folder_key"), false)
		if err != nil {
			return err
		}
		folder = f.Key
		var r resumableRec
		ok, err := getJSON(tx, bucketResumable, string(resumableKey(c.user, folder, hash, size)), &r)
		if ok && !r.Done && (name == "" || name == r.Filename) {
			sess = &r
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if sess == nil {
		err = c.s.update(func(tx *bolt.Tx, _ func(string)) (err error) {
			sess, err = c.s.openResumable(tx, c.user, folder, hash, size, name)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if sess == nil {
		return doupload(uploadNoName, ""), nil
	}
	reply := func(result string, r *resumableRec) fields {
		out := doupload(result, r.UploadKey)
		out["resumable_upload"] = resumableFields(r, false)
		return out
	}
	if sess.Done {
		return reply(uploadOK, sess), nil
	}
	unit, err := strconv.Atoi(h.Get("X-Unit-Id"))
	if err != nil || unit < 0 || unit >= sess.Units {
		return reply(uploadIncomplete, sess), nil
	}
	want := min(sess.UnitSize, size-int64(unit)*sess.UnitSize)
	if us, err := strconv.ParseInt(h.Get("X-Unit-Size"), 10, 64); err != nil || us != want {
		return reply(uploadIncomplete, sess), nil
	}
	body, _, err := uploadBody(r)
	if err != nil {
		return reply("-32", sess), nil
	}
	rkey := string(resumableKey(c.user, folder, hash, size))
	// Writers of one unit are serialised from the write to the bitmap
	// update, so a copy that comes while another is being stored finds the
	// unit stored and does not write over it.
	unlockUnit := sync.OnceFunc(c.s.lockUnit(sess.UploadKey, unit))
	defer unlockUnit()
	n, ok, err := c.s.writeUnit(sess.UploadKey, rkey, unit, int64(unit)*sess.UnitSize, want, strings.ToLower(h.Get("X-Unit-Hash")), body)
	if errors.Is(err, errBodyCut) {
		c.s.log.Info("unit body cut", logKeyUser, c.user, logKeyErr, err)
		return nil, apiErr(codeUploadFailed)
	}
	if err != nil {
		return nil, fmt.Errorf("receive unit: %w", err)
	}
	c.s.stats.addUnit(n)
	switch {
	case n != want:
		return reply(uploadIncomplete, sess), nil
	case !ok:
		return reply(uploadBadHash, sess), nil
	}

	mv, _ := c.s.unitLocks.LoadOrStore(sess.UploadKey, new(sync.Mutex))
	mu := mv.(*sync.Mutex)
	mu.Lock()
	unlockSession := sync.OnceFunc(mu.Unlock)
	defer unlockSession()
	var cur resumableRec
	err = c.s.update(func(tx *bolt.Tx, _ func(string)) error {
		ok, err := getJSON(tx, bucketResumable, rkey, &cur)
		if err != nil {
			return err
		}
		if !ok || cur.UploadKey != sess.UploadKey {
			return apiErr(codeUploadKey)
		}
		if cur.Done {
			return nil
		}
		cur.set(unit)
		return putJSON(tx, bucketResumable, rkey, &cur)
	})
	if err != nil {
		return nil, err
	}
	if cur.Done || !cur.complete() {
		unlockSession()
		unlockUnit()
		if !cur.Done {
			c.s.advanceHashLater(&cur)
		}
		return reply(uploadOK, &cur), nil
	}
	if err := c.assemble(&cur, rkey, folder, hash, size); err != nil {
		return nil, err
	}
	return reply(uploadOK, &cur), nil
}

// unitData is the file the units of a resumable upload are written into,
// each at its offset: when the last arrives it is the file, and becomes
// the blob by a rename.
func (s *Server) unitData(uploadKey string) string {
	return filepath.Join(s.unitDir, uploadKey, "data")
}

// lockUnit takes the lock of one unit of an upload and returns its
// release.
func (s *Server) lockUnit(uploadKey string, unit int) func() {
	lv, _ := s.unitLocks.LoadOrStore(uploadKey+"/"+strconv.Itoa(unit), new(sync.Mutex))
	lock := lv.(*sync.Mutex)
	lock.Lock()
	return lock.Unlock
}

// unitCopyBuffer is the buffer size a unit is received with (io.Copy's
// 32 KiB costs a system call for every 32 KiB read and written).
const unitCopyBuffer = 256 << 10

// writeUnit streams up to want+1 bytes of body into the unit's place in
// the upload's data file, synced, and reports how many bytes came and
// whether they have SHA-256 wantHash. A unit already stored is not
// written again (its bytes are read and hashed only): a bad copy must not
// overwrite a good one. The caller holds the unit's lock (lockUnit) until
// the bitmap says whether the unit is stored, so a failed write can only
// spoil a region no bitmap bit vouches for.
func (s *Server) writeUnit(uploadKey, rkey string, unit int, off, want int64, wantHash string, body io.Reader) (int64, bool, error) {
	var cur resumableRec
	if err := s.view(func(tx *bolt.Tx) error {
		_, err := getJSON(tx, bucketResumable, rkey, &cur)
		return err
	}); err != nil {
		return 0, false, err
	}
	h := sha256.New()
	src := io.LimitReader(bodyReader{body}, want+1)
	if cur.UploadKey == uploadKey && (cur.Done || cur.has(unit)) {
		n, err := io.Copy(h, src)
		return n, hex.EncodeToString(h.Sum(nil)) == wantHash, err
	}
	if err := os.MkdirAll(filepath.Dir(s.unitData(uploadKey)), 0o700); err != nil {
		return 0, false, err
	}
	f, err := os.OpenFile(s.unitData(uploadKey), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	buf := make([]byte, min(unitCopyBuffer, max(want, 1)))
	n, err := io.CopyBuffer(io.MultiWriter(io.NewOffsetWriter(f, off), h), io.LimitReader(src, want), buf) // never past the unit
	if err == nil && n == want {
		var extra [1]byte
		if m, _ := src.Read(extra[:]); m > 0 {
			n++ // a longer body than X-Unit-Size: refused, the region is rewritten by a good copy
		}
	}
	if err != nil {
		return n, false, err
	}
	if err := f.Sync(); err != nil {
		return n, false, err
	}
	return n, hex.EncodeToString(h.Sum(nil)) == wantHash, nil
}

// assemble checks the size and hash of a complete resumable upload's data
// file and creates the file from it; a mismatch is fileerror 7 and ends
// the session.
func (c *call) assemble(r *resumableRec, rkey, folder, hash string, size int64) error {
	data := c.s.unitData(r.UploadKey)
	got, n, err := c.s.fileHash(r)
	if err != nil {
		return fmt.Errorf("assemble upload: %w", err)
	}
	var up uploadRec
	err = c.s.update(func(tx *bolt.Tx, release func(string)) error {
		if _, err := getJSON(tx, bucketUploads, r.UploadKey, &up); err != nil {
			return err
		}
		up.Owner, up.Hash, up.Size, up.Done = c.user, got, n, true
		up.Filename = r.Filename
		if n != size || got != hash || c.s.faultHit(c.action, FaultFileError7) {
			up.FileError = fileErrorMismatch
			if err := tx.Bucket(bucketResumable).Delete([]byte(rkey)); err != nil {
				return err
			}
		} else {
			if err := c.s.commitUpload(tx, &up, folder, data, c.get("action_on_duplicate"), release); err != nil {
				return err
			}
			if up.FileError == "" {
				r.Done, r.QuickKey = true, up.QuickKey
				if err := putJSON(tx, bucketResumable, rkey, r); err != nil {
					return err
				}
			} else if err := tx.Bucket(bucketResumable).Delete([]byte(rkey)); err != nil {
				return err
			}
		}
		return putJSON(tx, bucketUploads, r.UploadKey, &up)
	})
	if err != nil {
		return err
	}
	c.s.unitLocks.Delete(r.UploadKey)
	c.s.fileHashes.Delete(r.UploadKey)
	for u := range r.Units {
		c.s.unitLocks.Delete(r.UploadKey + "/" + strconv.Itoa(u))
	}
	return os.RemoveAll(filepath.Dir(data))
}

// pollUpload is upload/poll_upload (§6.6): finished uploads answer
// status 99 at once.
func (c *call) pollUpload() (fields, error) {
	key := c.get("key")
	var up uploadRec
	var ok bool
	if err := c.s.view(func(tx *bolt.Tx) (err error) {
		ok, err = getJSON(tx, bucketUploads, key, &up)
		return err
	}); err != nil {
		return nil, err
	}
	if !ok || up.Owner != c.user {
		return fields{"doupload": fields{"result": pollUnknownKey, "description": "Upload key not found"}}, nil
	}
	d := fields{"result": "0", "fileerror": ""}
	switch {
	case !up.Done:
		d["status"], d["description"] = "3", "Upload is in progress"
	case c.s.faultHit(c.action, FaultStatus17):
		d["status"], d["description"] = "17", "Upload is in progress"
	default:
		d["status"], d["description"] = "99", "No more requests for this key"
		d["fileerror"] = up.FileError
		d["quickkey"] = up.QuickKey
		d["hash"] = up.Hash
		d["filename"] = up.Filename
		d["size"] = itoa(up.Size)
		d["created"] = formatTime(up.Created)
		d["revision"] = itoa(up.Revision)
	}
	return fields{"doupload": d}, nil
}
