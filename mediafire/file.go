package mediafire

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"ferry/mediafire/mfapi"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// FileInfo describes the file with quickkey qk.
func (c *Client) FileInfo(ctx context.Context, qk string) (*mfapi.FileInfo, error) {
	var v struct {
		FileInfo mfapi.FileInfo `json:"file_info"`
	}
	if err := c.call(ctx, "file/get_info", url.Values{"quick_key": {qk}}, &v); err != nil {
		return nil, err
	}
	if v.FileInfo.QuickKey == "" {
		v.FileInfo.QuickKey = qk
	}
	return &v.FileInfo, nil
}

// DirectLink returns a direct download link of file qk.
func (c *Client) DirectLink(ctx context.Context, qk string) (string, error) {
	var v struct {
		Links []mfapi.Link `json:"links"`
	}
	p := url.Values{"quick_key": {qk}, "link_type": {"direct_download"}}
	if err := c.call(ctx, "file/get_links", p, &v); err != nil {
		return "", err
	}
	for _, l := range v.Links {
		if l.QuickKey != "" && l.QuickKey != qk {
			continue
		}
		if l.DirectDownload != "" {
			return l.DirectDownload, nil
		}
		if l.DirectDownloadError != "" || l.DirectDownloadErrorMessage != "" {
			return "", &LinkError{Code: string(l.DirectDownloadError), Message: l.DirectDownloadErrorMessage}
		}
	}
	return "", errors.New("mediafire file/get_links: reply has no direct_download link")
}

// PageLink returns the public download page of file qk (file/get_links'
// normal_download), which works for others once the file is public
// (FileUpdate.Privacy).
func (c *Client) PageLink(ctx context.Context, qk string) (string, error) {
	var v struct {
		Links []mfapi.Link `json:"links"`
	}
	p := url.Values{"quick_key": {qk}, "link_type": {"normal_download"}}
	if err := c.call(ctx, "file/get_links", p, &v); err != nil {
		return "", err
	}
	for _, l := range v.Links {
		if (l.QuickKey == "" || l.QuickKey == qk) && l.NormalDownload != "" {
			return l.NormalDownload, nil
		}
	}
	return "", errors.New("mediafire file/get_links: reply has no normal_download link")
}

// LinkError is file/get_links's refusal to give a direct link. Those that
// mention bandwidth are retryable.
type LinkError struct {
	Code, Message string
}

func (e *LinkError) Error() string {
	return fmt.Sprintf("mediafire file/get_links: no direct link (error %s: %q)", e.Code, e.Message)
}

// Retryable reports a bandwidth limit, which passes.
func (e *LinkError) Retryable() bool {
	return containsFold(e.Message, "bandwidth")
}

// FileUpdate is what UpdateFile changes; empty fields stay.
type FileUpdate struct {
	Name        string
	Description *string
	Privacy     string // "public" or "private"
	ModTime     time.Time
}

// UpdateFile renames file qk or changes its description or mtime.
func (c *Client) UpdateFile(ctx context.Context, qk string, u FileUpdate) error {
	p := url.Values{"quick_key": {qk}}
	if u.Name != "" {
		p.Set("filename", u.Name)
	}
	if u.Description != nil {
		p.Set("description", *u.Description)
	}
	if u.Privacy != "" {
		p.Set("privacy", u.Privacy)
	}
	if !u.ModTime.IsZero() {
		p.Set("mtime", u.ModTime.UTC().Format(mfapi.TimeFormat))
	}
	return c.call(ctx, "file/update", p, nil)
}

// MoveFile moves file qk into folder dest ("" is the root).
func (c *Client) MoveFile(ctx context.Context, qk, dest string) error {
	return c.call(ctx, "file/move", url.Values{"quick_key": {qk}, "folder_key": {folderKey(dest)}}, nil)
}

// DeleteFile moves file qk to the trash (purge false) or removes it for
// good. A file already gone counts as deleted when the call was repeated
// after a lost reply.
func (c *Client) DeleteFile(ctx context.Context, qk string, purge bool) error {
	method := "file/delete"
	if purge {
		method = "file/purge"
	}
	return c.call(ctx, method, url.Values{"quick_key": {qk}}, nil, callOpts{doneOnRepeat: gone})
}

// UserInfo describes the account.
func (c *Client) UserInfo(ctx context.Context) (*mfapi.UserInfo, error) {
	var v struct {
		UserInfo mfapi.UserInfo `json:"user_info"`
	}
	if err := c.call(ctx, "user/get_info", nil, &v); err != nil {
		return nil, err
	}
	return &v.UserInfo, nil
}
