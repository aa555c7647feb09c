package mediafireserver

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	bolt "go.etcd.io/bbolt"

	"ferry/internal/metadb"
)

// Bucket names. See doc.go "On-disk layout".
var (
	bucketMeta      = []byte("meta")      // "secret" -> HMAC key of download links
	bucketUsers     = []byte("users")     // user id -> userRec JSON
	bucketEmails    = []byte("emails")    // e-mail -> user id
	bucketEKeys     = []byte("ekeys")     // ekey -> user id
	bucketFolders   = []byte("folders")   // folderkey -> folderRec JSON
	bucketFiles     = []byte("files")     // quickkey -> fileRec JSON
	bucketChildren  = []byte("children")  // user/parent/kind/key -> empty (kind 'd' or 'f')
	bucketBlobs     = []byte("blobs")     // SHA-256 hex -> BE64 reference count
	bucketUploads   = []byte("uploads")   // upload key -> uploadRec JSON
	bucketResumable = []byte("resumable") // user/folder/hash/size -> resumableRec JSON
	bucketNames     = []byte("names")     // user/folder/name NUL quickkey -> empty, for files not trashed
)

var allBuckets = [][]byte{
	bucketMeta, bucketUsers, bucketEmails, bucketEKeys, bucketFolders, bucketFiles,
	bucketChildren, bucketBlobs, bucketUploads, bucketResumable, bucketNames,
}

// Identifier lengths (§1.4): PYSDK tells folders from files by length.
const (
	quickKeyLen  = 15
	folderKeyLen = 13
	uploadKeyLen = 11
	userIDLen    = 10
	tokenLen     = 144
)

// rootKey is the moniker of every user's root folder.
const rootKey = "myfiles"

// userRec is an account as stored. The password is kept as given: the
// login signature is a hash over it, so the server needs it in the clear
// (the data directory is private to the server, mode 0700).
type userRec struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Password string `json:"password"`
	EKey     string `json:"ekey"`
	Name     string `json:"name,omitempty"`
	Created  int64  `json:"created"`
	Revision int64  `json:"revision"` // device revision, advanced by every change
	Used     int64  `json:"used"`     // bytes of the user's files, trashed ones included
	Limit    int64  `json:"limit"`    // storage limit in bytes
}

// folderRec is a folder as stored; the root is not stored.
type folderRec struct {
	Key         string `json:"key"`
	Owner       string `json:"owner"`
	Parent      string `json:"parent"` // rootKey for children of the root
	Name        string `json:"name"`
	Description string `json:"desc,omitempty"`
	Privacy     string `json:"privacy"`
	Created     int64  `json:"created"`
	Revision    int64  `json:"revision"`
	Trashed     bool   `json:"trashed,omitempty"`
}

// fileRec is a file as stored; its content is the blob named by Hash.
type fileRec struct {
	Key         string `json:"key"`
	Owner       string `json:"owner"`
	Folder      string `json:"folder"`
	Name        string `json:"name"`
	Hash        string `json:"hash"`
	Size        int64  `json:"size"`
	Description string `json:"desc,omitempty"`
	Privacy     string `json:"privacy"`
	Created     int64  `json:"created"`
	Revision    int64  `json:"revision"`
	Trashed     bool   `json:"trashed,omitempty"`
}

// uploadRec is the result of an upload, kept for upload/poll_upload.
type uploadRec struct {
	Owner     string `json:"owner"`
	FileError string `json:"fileerror,omitempty"` // "" on success
	QuickKey  string `json:"quickkey,omitempty"`
	Filename  string `json:"filename"`
	Hash      string `json:"hash"`
	Size      int64  `json:"size"`
	Created   int64  `json:"created"`
	Revision  int64  `json:"revision"`
	Done      bool   `json:"done"` // false while a resumable upload lacks units
}

// resumableRec is a resumable upload session, keyed by (user, folder,
// hash, size). Units are files under units/<UploadKey>/.
type resumableRec struct {
	UploadKey string   `json:"key"`
	Filename  string   `json:"filename"`
	Units     int      `json:"units"`
	UnitSize  int64    `json:"unit_size"`
	Have      []uint16 `json:"have"` // the bitmap words
	Done      bool     `json:"done"`
	QuickKey  string   `json:"quickkey,omitempty"` // when Done
}

func (r *resumableRec) has(u int) bool { return r.Have[u/16]&(1<<(u%16)) != 0 }
func (r *resumableRec) set(u int)      { r.Have[u/16] |= 1 << (u % 16) }

func (r *resumableRec) complete() bool {
	for u := range r.Units {
		if !r.has(u) {
			return false
		}
	}
	return true
}

func resumableKey(user, folder, hash string, size int64) []byte {
	return fmt.Appendf(nil, "%s/%s/%s/%d", user, folder, hash, size)
}

func (s *Server) initStore() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		rebuild := tx.Bucket(bucketNames) == nil && tx.Bucket(bucketFiles) != nil
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("mediafireserver: create bucket %s: %w", b, err)
			}
		}
		if rebuild { // a store from before the name index
			err := tx.Bucket(bucketFiles).ForEach(func(_, v []byte) error {
				var f fileRec
				if err := json.Unmarshal(v, &f); err != nil {
					return err
				}
				if f.Trashed {
					return nil
				}
				return tx.Bucket(bucketNames).Put(nameKey(f.Owner, f.Folder, f.Name, f.Key), nil)
			})
			if err != nil {
				return fmt.Errorf("mediafireserver: index file names: %w", err)
			}
		}
		var err error
		s.secret, err = metadb.Secret(tx.Bucket(bucketMeta))
		return err
	})
}

// recoverFiles removes temporary files, blobs that no file references
// (left by a crash between writing a blob and committing its file) and
// unit directories of resumable uploads that no longer exist.
func (s *Server) recoverFiles() error {
	if err := os.RemoveAll(s.tmpDir); err != nil {
		return fmt.Errorf("mediafireserver: %w", err)
	}
	if err := os.MkdirAll(s.tmpDir, 0o700); err != nil {
		return fmt.Errorf("mediafireserver: %w", err)
	}
	blobs, err := os.ReadDir(s.blobDir)
	if err != nil {
		return fmt.Errorf("mediafireserver: %w", err)
	}
	units, err := os.ReadDir(s.unitDir)
	if err != nil {
		return fmt.Errorf("mediafireserver: %w", err)
	}
	var orphans []string
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBlobs)
		for _, e := range blobs {
			if b.Get([]byte(e.Name())) == nil {
				orphans = append(orphans, filepath.Join(s.blobDir, e.Name()))
			}
		}
		live := map[string]bool{}
		err := tx.Bucket(bucketResumable).ForEach(func(_, v []byte) error {
			var r resumableRec
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			if !r.Done {
				live[r.UploadKey] = true
			}
			return nil
		})
		for _, e := range units {
			if !live[e.Name()] {
				orphans = append(orphans, filepath.Join(s.unitDir, e.Name()))
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("mediafireserver: scan blobs: %w", err)
	}
	for _, p := range orphans {
		if err := os.RemoveAll(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("mediafireserver: remove orphan: %w", err)
		}
	}
	if len(orphans) > 0 {
		s.log.Info("removed orphan blobs and unit directories", logKeyCount, len(orphans))
	}
	return nil
}

func (s *Server) blobPath(hash string) string { return filepath.Join(s.blobDir, hash) }

// ---- keys ----

const keyAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// randomKey returns n characters of [a-z0-9] from crypto/rand.
func randomKey(n int) string {
	b := randomBytes(n)
	for i := range b {
		b[i] = keyAlphabet[int(b[i])%len(keyAlphabet)] // 256 % 36 bias is irrelevant for ids
	}
	return string(b)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("mediafireserver: crypto/rand: %v", err)) // never fails on supported systems
	}
	return b
}

// newKey draws a key of length n not yet used in bucket.
func newKey(tx *bolt.Tx, bucket []byte, n int) string {
	b := tx.Bucket(bucket)
	for {
		k := randomKey(n)
		if b.Get([]byte(k)) == nil {
			return k
		}
	}
}

// ---- records ----

func getJSON(tx *bolt.Tx, bucket []byte, key string, v any) (bool, error) {
	b := tx.Bucket(bucket).Get([]byte(key))
	if b == nil {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decode %s %s: %w", bucket, key, err)
	}
	return true, nil
}

func putJSON(tx *bolt.Tx, bucket []byte, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put([]byte(key), b)
}

func getUser(tx *bolt.Tx, id string) (*userRec, error) {
	var u userRec
	ok, err := getJSON(tx, bucketUsers, id, &u)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apiErr(codeSessionExpired) // the account is gone: so are its sessions
	}
	return &u, nil
}

func putUser(tx *bolt.Tx, u *userRec) error { return putJSON(tx, bucketUsers, u.ID, u) }

// bump advances the user's device revision and returns it.
func bump(u *userRec) int64 {
	u.Revision++
	return u.Revision
}

func childKey(user, parent string, kind byte, key string) []byte {
	return fmt.Appendf(nil, "%s/%s/%c/%s", user, parent, kind, key)
}

// children returns the keys of parent's children of kind ('d' or 'f').
func children(tx *bolt.Tx, user, parent string, kind byte) []string {
	prefix := fmt.Appendf(nil, "%s/%s/%c/", user, parent, kind)
	var out []string
	c := tx.Bucket(bucketChildren).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out
}

// getFolder loads user's folder key; the root, another user's folder and
// a folder in the trash (or below one) are *apiError 112, except that
// trashed folders are returned when withTrash is set.
func getFolder(tx *bolt.Tx, user, key string, withTrash bool) (*folderRec, error) {
	if key == "" || key == rootKey {
		root := &folderRec{Key: rootKey, Owner: user, Name: "My files", Privacy: "private"}
		if u, err := getUser(tx, user); err == nil {
			root.Created, root.Revision = u.Created, u.Revision
		}
		return root, nil
	}
	var f folderRec
	ok, err := getJSON(tx, bucketFolders, key, &f)
	if err != nil {
		return nil, err
	}
	if !ok || f.Owner != user {
		return nil, apiErr(codeFolderKey)
	}
	if !withTrash && !folderLive(tx, &f) {
		return nil, apiErr(codeFolderKey)
	}
	return &f, nil
}

// folderLive reports whether f and its ancestors are out of the trash.
func folderLive(tx *bolt.Tx, f *folderRec) bool {
	for depth := 0; f.Key != rootKey && depth < 1000; depth++ {
		if f.Trashed {
			return false
		}
		if f.Parent == rootKey {
			return true
		}
		var p folderRec
		if ok, err := getJSON(tx, bucketFolders, f.Parent, &p); !ok || err != nil {
			return false
		}
		f = &p
	}
	return true
}

func putFolder(tx *bolt.Tx, f *folderRec) error { return putJSON(tx, bucketFolders, f.Key, f) }

// getFile loads user's live file quickKey; anything else is *apiError 110.
func getFile(tx *bolt.Tx, user, quickKey string) (*fileRec, error) {
	f, err := getFileAny(tx, user, quickKey)
	if err != nil {
		return nil, err
	}
	if !fileLive(tx, f) {
		return nil, apiErr(codeQuickKey)
	}
	return f, nil
}

// getFileAny is getFile that also returns trashed files.
func getFileAny(tx *bolt.Tx, user, quickKey string) (*fileRec, error) {
	var f fileRec
	ok, err := getJSON(tx, bucketFiles, quickKey, &f)
	if err != nil {
		return nil, err
	}
	if !ok || f.Owner != user {
		return nil, apiErr(codeQuickKey)
	}
	return &f, nil
}

func fileLive(tx *bolt.Tx, f *fileRec) bool {
	if f.Trashed {
		return false
	}
	if f.Folder == rootKey {
		return true
	}
	var p folderRec
	if ok, err := getJSON(tx, bucketFolders, f.Folder, &p); !ok || err != nil {
		return false
	}
	return folderLive(tx, &p)
}

// nameKey is the name index key of a file: sorted by folder, then name,
// then quickkey, which is the listing order. Names hold no NUL.
func nameKey(user, folder, name, quickKey string) []byte {
	return fmt.Appendf(nil, "%s/%s/%s\x00%s", user, folder, name, quickKey)
}

// putFile stores f and keeps the name index (of files not trashed) in
// step with it.
func putFile(tx *bolt.Tx, f *fileRec) error {
	names := tx.Bucket(bucketNames)
	var old fileRec
	if ok, err := getJSON(tx, bucketFiles, f.Key, &old); err != nil {
		return err
	} else if ok && !old.Trashed {
		if err := names.Delete(nameKey(old.Owner, old.Folder, old.Name, old.Key)); err != nil {
			return err
		}
	}
	if !f.Trashed {
		if err := names.Put(nameKey(f.Owner, f.Folder, f.Name, f.Key), nil); err != nil {
			return err
		}
	}
	return putJSON(tx, bucketFiles, f.Key, f)
}

// deleteFile removes f's record and index entries.
func deleteFile(tx *bolt.Tx, f *fileRec) error {
	if err := tx.Bucket(bucketNames).Delete(nameKey(f.Owner, f.Folder, f.Name, f.Key)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketChildren).Delete(childKey(f.Owner, f.Folder, 'f', f.Key)); err != nil {
		return err
	}
	return tx.Bucket(bucketFiles).Delete([]byte(f.Key))
}

// eachName calls fn with the quickkey of every file of folder not in the
// trash whose index key continues with prefix (a name and NUL, or
// nothing), in listing order, until fn returns false.
func eachName(tx *bolt.Tx, user, folder, prefix string, fn func(quickKey string) bool) {
	p := fmt.Appendf(nil, "%s/%s/%s", user, folder, prefix)
	c := tx.Bucket(bucketNames).Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		i := bytes.LastIndexByte(k, 0)
		if i < 0 || !fn(string(k[i+1:])) {
			return
		}
	}
}

// countFiles is the number of files of folder not in the trash.
func countFiles(tx *bolt.Tx, user, folder string) int {
	n := 0
	eachName(tx, user, folder, "", func(string) bool { n++; return true })
	return n
}

// liveFiles returns the files of folder not in the trash, in listing
// order (name, then quickkey), from the skip-th on, at most limit of them
// (limit < 0: all).
func liveFiles(tx *bolt.Tx, user, folder string) ([]*fileRec, error) {
	return filesPage(tx, user, folder, 0, -1)
}

func filesPage(tx *bolt.Tx, user, folder string, skip, limit int) ([]*fileRec, error) {
	var out []*fileRec
	var err error
	eachName(tx, user, folder, "", func(qk string) bool {
		if skip > 0 {
			skip--
			return true
		}
		if limit >= 0 && len(out) >= limit {
			return false
		}
		var f fileRec
		var ok bool
		if ok, err = getJSON(tx, bucketFiles, qk, &f); err != nil {
			return false
		}
		if ok {
			out = append(out, &f)
		}
		return true
	})
	return out, err
}

// liveFolders returns the live child folders of folder, sorted by name.
func liveFolders(tx *bolt.Tx, user, folder string) ([]*folderRec, error) {
	var out []*folderRec
	for _, k := range children(tx, user, folder, 'd') {
		var f folderRec
		ok, err := getJSON(tx, bucketFolders, k, &f)
		if err != nil {
			return nil, err
		}
		if ok && !f.Trashed {
			out = append(out, &f)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

// fileNamed returns the file called name in folder (not in the trash),
// the first in listing order if there are several, or nil.
func fileNamed(tx *bolt.Tx, user, folder, name string) (*fileRec, error) {
	var qk string
	eachName(tx, user, folder, name+"\x00", func(k string) bool { qk = k; return false })
	if qk == "" {
		return nil, nil
	}
	var f fileRec
	ok, err := getJSON(tx, bucketFiles, qk, &f)
	if err != nil || !ok {
		return nil, err
	}
	return &f, nil
}

// nameTaken reports whether a file of folder not in the trash is called
// name.
func nameTaken(tx *bolt.Tx, user, folder, name string) bool {
	taken := false
	eachName(tx, user, folder, name+"\x00", func(string) bool { taken = true; return false })
	return taken
}

// freeName returns name, or name with "(n)" before its extension, so
// that no file of folder (out of the trash) has it: the "keep" action.
func freeName(tx *bolt.Tx, user, folder, name string) string {
	if !nameTaken(tx, user, folder, name) {
		return name
	}
	base, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		base, ext = name[:i], name[i:]
	}
	for n := 1; ; n++ {
		if c := fmt.Sprintf("%s(%d)%s", base, n, ext); !nameTaken(tx, user, folder, c) {
			return c
		}
	}
}

// ---- blob references ----

func blobRefs(tx *bolt.Tx, hash string) uint64 {
	v := tx.Bucket(bucketBlobs).Get([]byte(hash))
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func addBlobRef(tx *bolt.Tx, hash string, delta int) (uint64, error) {
	n := int64(blobRefs(tx, hash)) + int64(delta)
	b := tx.Bucket(bucketBlobs)
	if n <= 0 {
		return 0, b.Delete([]byte(hash))
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(n))
	return uint64(n), b.Put([]byte(hash), v[:])
}
