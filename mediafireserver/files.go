package mediafireserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"

	bolt "go.etcd.io/bbolt"
)

// fileFields are a file's fields as file/get_info and folder/get_content
// describe it; parent_folderkey is left out for files in the root.
func (c *call) fileFields(f *fileRec) fields {
	out := fields{
		"quickkey": f.Key, "filename": f.Name, "hash": f.Hash, "size": itoa(f.Size),
		"description": f.Description, "privacy": f.Privacy, "created": formatTime(f.Created),
		"password_protected": "no", "mimetype": "application/octet-stream", "filetype": "other",
		"revision": itoa(f.Revision), "flag": "0", "downloads": "0", "views": "0",
		"permissions": permissions,
		"links":       fields{"normal_download": c.s.baseURL(c.r) + "/file/" + f.Key + "/" + url.PathEscape(f.Name) + "/file"},
	}
	if f.Folder != rootKey {
		out["parent_folderkey"] = f.Folder
	}
	return out
}

// fileGetInfo is file/get_info (§4.1).
func (c *call) fileGetInfo() (fields, error) {
	qk := c.get("quick_key")
	if qk == "" {
		return nil, apiErr(codeNoQuickKey)
	}
	var out fields
	err := c.s.view(func(tx *bolt.Tx) error {
		f, err := getFile(tx, c.user, qk)
		if err != nil {
			return err
		}
		out = fields{"file_info": c.fileFields(f)}
		return nil
	})
	return out, err
}

// downloadToken authenticates a direct link: it names the quickkey and
// the content, so a link ends with its file or with a replace.
func (s *Server) downloadToken(quickKey, hash string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(quickKey))
	m.Write([]byte{0})
	m.Write([]byte(hash))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// directLink is the direct download URL of f on the listener of r.
func (c *call) directLink(f *fileRec) string {
	return c.s.baseURL(c.r) + "/download/" + c.s.downloadToken(f.Key, f.Hash) + "/" + f.Key + "/" + url.PathEscape(f.Name)
}

// fileGetLinks is file/get_links (§4.2): one entry per quickkey.
func (c *call) fileGetLinks() (fields, error) {
	keys := splitKeys(c.get("quick_key"))
	if len(keys) == 0 {
		return nil, apiErr(codeNoQuickKey)
	}
	linkType := c.get("link_type")
	var links []any
	err := c.s.view(func(tx *bolt.Tx) error {
		for _, k := range keys {
			f, err := getFile(tx, c.user, k)
			if err != nil {
				return err
			}
			l := fields{"quickkey": f.Key}
			if linkType == "" || linkType == "direct_download" {
				l["direct_download"] = c.directLink(f)
			}
			if linkType == "" || linkType == "normal_download" {
				l["normal_download"] = c.s.baseURL(c.r) + "/file/" + f.Key + "/" + url.PathEscape(f.Name) + "/file"
			}
			links = append(links, l)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fields{"links": links, "direct_download_free_bandwidth": "1000000", "one_time_download_request_count": "0"}, nil
}

// fileDelete is file/delete: to the trash.
func (c *call) fileDelete() (fields, error) { return c.removeFiles(false) }

// filePurge is file/purge: gone for good.
func (c *call) filePurge() (fields, error) { return c.removeFiles(true) }

func (c *call) removeFiles(purge bool) (fields, error) {
	keys := splitKeys(c.get("quick_key"))
	if len(keys) == 0 {
		return nil, apiErr(codeNoQuickKey)
	}
	var rev int64
	err := c.s.update(func(tx *bolt.Tx, release func(string)) error {
		u, err := getUser(tx, c.user)
		if err != nil {
			return err
		}
		for _, k := range keys {
			var f *fileRec
			if purge {
				f, err = getFileAny(tx, c.user, k)
			} else {
				f, err = getFile(tx, c.user, k)
			}
			if err != nil {
				return err
			}
			if purge {
				err = purgeFile(tx, u, f, release)
			} else {
				f.Trashed = true
				err = putFile(tx, f)
			}
			if err != nil {
				return err
			}
		}
		rev = bump(u)
		return putUser(tx, u)
	})
	if err != nil {
		return nil, err
	}
	return fields{"new_device_revision": itoa(rev)}, nil
}

// purgeFile removes f and releases its blob; the caller stores u.
func purgeFile(tx *bolt.Tx, u *userRec, f *fileRec, release func(string)) error {
	if err := deleteFile(tx, f); err != nil {
		return err
	}
	if _, err := addBlobRef(tx, f.Hash, -1); err != nil {
		return err
	}
	release(f.Hash)
	u.Used -= f.Size
	return nil
}

// fileMove is file/move (§4.4).
func (c *call) fileMove() (fields, error) {
	keys := splitKeys(c.get("quick_key"))
	if len(keys) == 0 {
		return nil, apiErr(codeNoQuickKey)
	}
	var rev int64
	err := c.s.update(func(tx *bolt.Tx, _ func(string)) error {
		dst, err := getFolder(tx, c.user, c.get("folder_key"), false)
		if err != nil {
			return err
		}
		u, err := getUser(tx, c.user)
		if err != nil {
			return err
		}
		rev = bump(u)
		for _, k := range keys {
			f, err := getFile(tx, c.user, k)
			if err != nil {
				return err
			}
			ch := tx.Bucket(bucketChildren)
			if err := ch.Delete(childKey(c.user, f.Folder, 'f', f.Key)); err != nil {
				return err
			}
			f.Folder, f.Revision = dst.Key, rev
			if err := ch.Put(childKey(c.user, f.Folder, 'f', f.Key), nil); err != nil {
				return err
			}
			if err := putFile(tx, f); err != nil {
				return err
			}
		}
		return putUser(tx, u)
	})
	if err != nil {
		return nil, err
	}
	return fields{"new_device_revision": itoa(rev)}, nil
}

// applyUpdate applies the parameters file/update and folder/update share
// to a record: a new name from the parameter nameParam (what, "File" or
// "Folder", names the kind in its error), privacy and description.
func (c *call) applyUpdate(nameParam, what string, name, privacy, description *string) error {
	if n := c.get(nameParam); n != "" {
		if !validName(n) {
			return apiErrf(codeFileName, "%s name %q is invalid", what, n)
		}
		*name = n
	}
	if p := c.get("privacy"); p != "" {
		if p != "public" && p != "private" {
			return apiErrf(codeInvalidParam, "privacy %q: want public or private", p)
		}
		*privacy = p
	}
	if d, ok := c.params["description"]; ok {
		*description = d[0]
	}
	return nil
}

// fileUpdate is file/update (§4.4): rename, description, privacy.
func (c *call) fileUpdate() (fields, error) {
	qk := c.get("quick_key")
	if qk == "" {
		return nil, apiErr(codeNoQuickKey)
	}
	var rev int64
	err := c.s.update(func(tx *bolt.Tx, _ func(string)) error {
		f, err := getFile(tx, c.user, qk)
		if err != nil {
			return err
		}
		if err := c.applyUpdate("filename", "File", &f.Name, &f.Privacy, &f.Description); err != nil {
			return err
		}
		u, err := getUser(tx, c.user)
		if err != nil {
			return err
		}
		rev = bump(u)
		f.Revision = rev
		if err := putFile(tx, f); err != nil {
			return err
		}
		return putUser(tx, u)
	})
	if err != nil {
		return nil, err
	}
	return fields{"new_device_revision": itoa(rev)}, nil
}
