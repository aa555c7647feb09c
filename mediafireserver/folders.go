package mediafireserver

import (
	"slices"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"
)

var permissions = fields{"value": "2", "explicit": "0", "read": "1", "write": "1"}

// folderFields are a folder's fields as folder/get_info and
// folder/get_content describe it.
func folderFields(tx *bolt.Tx, f *folderRec) fields {
	out := fields{
		"folderkey": f.Key, "name": f.Name, "description": f.Description,
		"created": formatTime(f.Created), "privacy": f.Privacy, "revision": itoa(f.Revision),
		"flag": "2", "dropbox_enabled": "no", "permissions": permissions,
		"file_count":   strconv.Itoa(countFiles(tx, f.Owner, f.Key)),
		"folder_count": strconv.Itoa(len(liveOnly(tx, f.Owner, f.Key, 'd'))),
	}
	if f.Key != rootKey && f.Parent != rootKey {
		out["parent_folderkey"] = f.Parent
	}
	return out
}

// liveOnly returns the keys of folder's child folders out of the trash.
func liveOnly(tx *bolt.Tx, user, folder string, kind byte) []string {
	var out []string
	for _, k := range children(tx, user, folder, kind) {
		var f folderRec
		if ok, _ := getJSON(tx, bucketFolders, k, &f); ok && !f.Trashed {
			out = append(out, k)
		}
	}
	return out
}

// folderGetInfo is folder/get_info (§3.1).
func (c *call) folderGetInfo() (fields, error) {
	var out fields
	err := c.s.view(func(tx *bolt.Tx) error {
		f, err := getFolder(tx, c.user, c.get("folder_key"), false)
		if err != nil {
			return err
		}
		out = fields{"folder_info": folderFields(tx, f)}
		return nil
	})
	return out, err
}

const (
	defaultChunkSize = 100
	maxChunkSize     = 1000
)

// folderGetContent is folder/get_content (§3.2): one chunk of the
// folders or the files, in name order, so chunks of a folder that does
// not change are stable.
func (c *call) folderGetContent() (fields, error) {
	kind := c.get("content_type")
	if kind == "" {
		kind = "files"
	}
	if kind != "files" && kind != "folders" {
		return nil, apiErrf(codeInvalidParam, "content_type %q: want files or folders", kind)
	}
	chunk, err := intParam(c.get("chunk"), 1, 0, 1<<30, "chunk")
	if err != nil {
		return nil, err
	}
	chunk = max(chunk, 1) // NPMSDK's default chunk is 0

	size, err := intParam(c.get("chunk_size"), defaultChunkSize, 1, maxChunkSize, "chunk_size")
	if err != nil {
		return nil, err
	}
	desc := c.get("order_direction") == "desc"
	var out fields
	err = c.s.view(func(tx *bolt.Tx) error {
		f, err := getFolder(tx, c.user, c.get("folder_key"), false)
		if err != nil {
			return err
		}
		page := []any{}
		var more bool
		if kind == "folders" {
			list, err := liveFolders(tx, c.user, f.Key)
			if err != nil {
				return err
			}
			if desc {
				slices.Reverse(list)
			}
			start := min((chunk-1)*size, len(list))
			end := min(start+size, len(list))
			for _, d := range list[start:end] {
				page = append(page, folderFields(tx, d))
			}
			more = end < len(list)
		} else {
			// Files page through the name index: only the chunk's
			// records are read.
			total := countFiles(tx, c.user, f.Key)
			start := min((chunk-1)*size, total)
			end := min(start+size, total)
			skip := start
			if desc {
				skip = total - end
			}
			list, err := filesPage(tx, c.user, f.Key, skip, end-start)
			if err != nil {
				return err
			}
			if desc {
				slices.Reverse(list)
			}
			for _, fr := range list {
				page = append(page, c.fileFields(fr))
			}
			more = end < total
		}
		out = fields{"folder_content": fields{
			"chunk_size": strconv.Itoa(size), "content_type": kind, "chunk_number": strconv.Itoa(chunk),
			kind: page, "more_chunks": yesNo(more),
		}}
		return nil
	})
	return out, err
}

// intParam parses an optional integer parameter within lo..hi.
func intParam(v string, def, lo, hi int, name string) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, apiErrf(codeInvalidParam, "%s %q: want %d..%d", name, v, lo, hi)
	}
	return n, nil
}

// validName checks a file or folder name.
func validName(name string) bool {
	return name != "" && len(name) <= 255 && !strings.ContainsAny(name, "/\\\x00") && name != "." && name != ".."
}

// folderCreate is folder/create (§3.3). action_on_duplicate=skip (and
// the old allow_duplicate_name=no) returns the existing folder; keep
// renames; replace also returns the existing folder. Without either, a
// duplicate name is error 144.
func (c *call) folderCreate() (fields, error) {
	name := c.get("foldername")
	if name == "" {
		return nil, apiErr(codeNoFolderName)
	}
	if !validName(name) {
		return nil, apiErrf(codeFileName, "Folder name %q is invalid", name)
	}
	action := c.get("action_on_duplicate")
	if action == "" && c.get("allow_duplicate_name") == "no" {
		action = "skip"
	}
	var out fields
	err := c.s.update(func(tx *bolt.Tx, _ func(string)) error {
		parent, err := getFolder(tx, c.user, c.get("parent_key"), false)
		if err != nil {
			return err
		}
		siblings, err := liveFolders(tx, c.user, parent.Key)
		if err != nil {
			return err
		}
		taken := map[string]bool{}
		for _, d := range siblings {
			taken[d.Name] = true
			if d.Name == name && action != "keep" {
				if action != "skip" && action != "replace" {
					return apiErr(codeFolderExists)
				}
				out = c.createdFields(d)
				return nil
			}
		}
		for n := 1; taken[name]; n++ {
			name = c.get("foldername") + "(" + strconv.Itoa(n) + ")"
		}
		u, err := getUser(tx, c.user)
		if err != nil {
			return err
		}
		f := &folderRec{
			Key: newKey(tx, bucketFolders, folderKeyLen), Owner: c.user, Parent: parent.Key, Name: name,
			Privacy: "private", Created: c.s.now().Unix(), Revision: bump(u),
		}
		if err := putFolder(tx, f); err != nil {
			return err
		}
		if err := tx.Bucket(bucketChildren).Put(childKey(c.user, parent.Key, 'd', f.Key), nil); err != nil {
			return err
		}
		out = c.createdFields(f)
		out["new_device_revision"] = itoa(u.Revision)
		return putUser(tx, u)
	})
	return out, err
}

func (c *call) createdFields(f *folderRec) fields {
	out := fields{
		"folder_key": f.Key, "name": f.Name, "created": formatTime(f.Created), "privacy": f.Privacy,
		"revision": itoa(f.Revision), "upload_key": f.Key, "new_device_revision": itoa(f.Revision),
	}
	if f.Parent != rootKey {
		out["parent_folderkey"] = f.Parent
	}
	return out
}

// folderUpdate is folder/update (§3.4): rename, description, privacy.
func (c *call) folderUpdate() (fields, error) {
	key := c.get("folder_key")
	if key == "" {
		return nil, apiErr(codeNoFolderKey)
	}
	if key == rootKey {
		return nil, apiErrf(codeInvalidParam, "The root folder cannot be changed")
	}
	var rev int64
	err := c.s.update(func(tx *bolt.Tx, _ func(string)) error {
		f, err := getFolder(tx, c.user, key, false)
		if err != nil {
			return err
		}
		if err := c.applyUpdate("foldername", "Folder", &f.Name, &f.Privacy, &f.Description); err != nil {
			return err
		}
		u, err := getUser(tx, c.user)
		if err != nil {
			return err
		}
		rev = bump(u)
		f.Revision = rev
		if err := putFolder(tx, f); err != nil {
			return err
		}
		return putUser(tx, u)
	})
	if err != nil {
		return nil, err
	}
	return fields{"asynchronous": "no", "new_device_revision": itoa(rev)}, nil
}

// folderDelete is folder/delete: to the trash, with what it holds.
func (c *call) folderDelete() (fields, error) { return c.removeFolders(false) }

// folderPurge is folder/purge: gone for good, with what it holds.
func (c *call) folderPurge() (fields, error) { return c.removeFolders(true) }

func (c *call) removeFolders(purge bool) (fields, error) {
	keys := splitKeys(c.get("folder_key"))
	if len(keys) == 0 {
		return nil, apiErr(codeNoFolderKey)
	}
	var rev int64
	err := c.s.update(func(tx *bolt.Tx, release func(string)) error {
		u, err := getUser(tx, c.user)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k == rootKey {
				return apiErrf(codeInvalidParam, "The root folder cannot be deleted")
			}
			f, err := getFolder(tx, c.user, k, purge)
			if err != nil {
				return err
			}
			if !purge {
				f.Trashed = true
				if err := putFolder(tx, f); err != nil {
					return err
				}
				continue
			}
			if err := purgeFolder(tx, u, f, release); err != nil {
				return err
			}
		}
		rev = bump(u)
		return putUser(tx, u)
	})
	if err != nil {
		return nil, err
	}
	return fields{"asynchronous": "no", "new_device_revision": itoa(rev)}, nil
}

// purgeFolder removes f and everything below it.
func purgeFolder(tx *bolt.Tx, u *userRec, f *folderRec, release func(string)) error {
	for _, k := range children(tx, u.ID, f.Key, 'f') {
		fr, err := getFileAny(tx, u.ID, k)
		if err != nil {
			continue
		}
		if err := purgeFile(tx, u, fr, release); err != nil {
			return err
		}
	}
	for _, k := range children(tx, u.ID, f.Key, 'd') {
		d, err := getFolder(tx, u.ID, k, true)
		if err != nil {
			continue
		}
		if err := purgeFolder(tx, u, d, release); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketChildren).Delete(childKey(u.ID, f.Parent, 'd', f.Key)); err != nil {
		return err
	}
	return tx.Bucket(bucketFolders).Delete([]byte(f.Key))
}

// splitKeys splits a comma-separated key list.
func splitKeys(v string) []string {
	var out []string
	for k := range strings.SplitSeq(v, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}
