package mediafire

import (
	"context"
	"errors"
	"net/url"
	"time"

	"ferry/mediafire/mfapi"
)

// RootKey is the folder key of the account's root ("My Files").
const RootKey = "myfiles"

// chunkSize is the page size of folder/get_content (the service's maximum).
var chunkSize = 1000

// maxChunks bounds the pages of one listing: a server that always says
// more_chunks=yes must not loop for ever.
const maxChunks = 100000

func folderKey(key string) string {
	if key == "" {
		return RootKey
	}
	return key
}

// FolderInfo describes folder key ("" or RootKey: the root).
func (c *Client) FolderInfo(ctx context.Context, key string) (*mfapi.FolderInfo, error) {
	var v struct {
		FolderInfo mfapi.FolderInfo `json:"folder_info"`
	}
	err := c.call(ctx, "folder/get_info", url.Values{"folder_key": {folderKey(key)}}, &v)
	if err != nil {
		return nil, err
	}
	if v.FolderInfo.FolderKey == "" {
		v.FolderInfo.FolderKey = folderKey(key)
	}
	return &v.FolderInfo, nil
}

// Content lists folder key: its sub-folders and its files, reading every
// page of folder/get_content. Trashed items are not listed.
func (c *Client) Content(ctx context.Context, key string) ([]mfapi.FolderInfo, []mfapi.FileInfo, error) {
	var folders []mfapi.FolderInfo
	var files []mfapi.FileInfo
	for _, ct := range []string{"folders", "files"} {
		err := c.pages(ctx, key, ct, func(fc *mfapi.FolderContent) int {
			folders = append(folders, fc.Folders...)
			files = append(files, fc.Files...)
			return len(fc.Folders) + len(fc.Files)
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return folders, files, nil
}

// Folders lists the sub-folders of folder key, reading every page.
func (c *Client) Folders(ctx context.Context, key string) ([]mfapi.FolderInfo, error) {
	var out []mfapi.FolderInfo
	err := c.pages(ctx, key, "folders", func(fc *mfapi.FolderContent) int {
		out = append(out, fc.Folders...)
		return len(fc.Folders)
	})
	return out, err
}

// Files lists the files of folder key, reading every page.
func (c *Client) Files(ctx context.Context, key string) ([]mfapi.FileInfo, error) {
	var out []mfapi.FileInfo
	err := c.pages(ctx, key, "files", func(fc *mfapi.FolderContent) int {
		out = append(out, fc.Files...)
		return len(fc.Files)
	})
	return out, err
}

// pages reads the pages of one content type; add returns the entries a
// page held.
func (c *Client) pages(ctx context.Context, key, contentType string, add func(*mfapi.FolderContent) int) error {
	for chunk := 1; chunk <= maxChunks; chunk++ {
		var v struct {
			FolderContent mfapi.FolderContent `json:"folder_content"`
		}
		p := url.Values{
			"folder_key":   {folderKey(key)},
			"content_type": {contentType},
			"chunk":        {itoa(int64(chunk))},
			"chunk_size":   {itoa(int64(chunkSize))},
		}
		if err := c.call(ctx, "folder/get_content", p, &v); err != nil {
			return err
		}
		if add(&v.FolderContent) == 0 || !bool(v.FolderContent.MoreChunks) {
			return nil
		}
	}
	return errors.New("mediafire folder/get_content: the server never stops sending pages")
}

// CreateFolder creates folder name in parent ("" is the root) and returns
// its key. An existing folder of that name is returned instead
// (action_on_duplicate=skip), so repeating the call is harmless.
func (c *Client) CreateFolder(ctx context.Context, parent, name string) (string, error) {
	var v mfapi.FolderCreated
	p := url.Values{
		"parent_key":          {folderKey(parent)},
		"foldername":          {name},
		"action_on_duplicate": {"skip"},
	}
	if err := c.call(ctx, "folder/create", p, &v); err != nil {
		return "", err
	}
	if v.FolderKey == "" {
		return "", errors.New("mediafire folder/create: reply has no folder_key")
	}
	return v.FolderKey, nil
}

// FolderUpdate is what UpdateFolder changes; empty fields stay.
type FolderUpdate struct {
	Name    string
	Privacy string // "public" or "private"
	ModTime time.Time
}

// UpdateFolder renames folder key or changes its privacy or mtime.
func (c *Client) UpdateFolder(ctx context.Context, key string, u FolderUpdate) error {
	p := url.Values{"folder_key": {key}}
	if u.Name != "" {
		p.Set("foldername", u.Name)
	}
	if u.Privacy != "" {
		p.Set("privacy", u.Privacy)
	}
	if !u.ModTime.IsZero() {
		p.Set("mtime", u.ModTime.UTC().Format(mfapi.TimeFormat))
	}
	return c.call(ctx, "folder/update", p, nil)
}

// MoveFolder moves folder key into folder dest.
func (c *Client) MoveFolder(ctx context.Context, key, dest string) error {
	return c.call(ctx, "folder/move", url.Values{"folder_key_src": {key}, "folder_key_dst": {folderKey(dest)}}, nil)
}

// DeleteFolder moves folder key to the trash (purge false) or removes it
// for good. A folder already gone counts as deleted when the call was
// repeated after a lost reply.
func (c *Client) DeleteFolder(ctx context.Context, key string, purge bool) error {
	method := "folder/delete"
	if purge {
		method = "folder/purge"
	}
	return c.call(ctx, method, url.Values{"folder_key": {key}}, nil, callOpts{doneOnRepeat: gone})
}

// gone reports an error that means the object is not there (any more).
func gone(err error) bool { return mfapi.CodeOf(err).NotFound() }
