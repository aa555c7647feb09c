package mediafire

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"ferry/internal/backend"
	mfclient "ferry/mediafire"
	"ferry/mediafire/mfapi"
)

var (
	_ backend.ContentMatcher = (*Backend)(nil)
	_ backend.PublicLinker   = (*Backend)(nil)
)

// PublicLink makes file p public and returns its download page, or, with
// unlink, makes it private again (the page then refuses others). Folders
// have no link here.
func (b *Backend) PublicLink(ctx context.Context, p string, unlink bool) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", b.pathErr("link", p, err)
	}
	o, err := b.resolve(ctx, p)
	if err != nil {
		return "", b.pathErr("link", p, err)
	}
	if o.dirKey != "" {
		return "", b.pathErr("link", p, fmt.Errorf("folder links: %w", errors.ErrUnsupported))
	}
	qk := o.files[0].QuickKey
	privacy := "public"
	if unlink {
		privacy = "private"
	}
	if err := b.c.UpdateFile(ctx, qk, mfclient.FileUpdate{Privacy: privacy}); err != nil {
		return "", b.pathErr("link", p, err)
	}
	if unlink {
		return "", nil
	}
	link, err := b.c.PageLink(ctx, qk)
	return link, b.pathErr("link", p, err)
}

// MatchedBy implements backend.ContentMatcher. Legacy files that carry
// an MD5 instead are compared by it; the reason still says SHA-256, the
// hash of every file this backend or the stand-in stores.
func (b *Backend) MatchedBy() string { return "MediaFire SHA-256" }

// MatchContent reports whether r holds exactly the content of file e,
// comparing r's SHA-256 with the hash MediaFire records for the file
// (MD5 for legacy files), so nothing is downloaded. It costs one API call.
func (b *Backend) MatchContent(ctx context.Context, e backend.Entry, r io.Reader) (bool, error) {
	var fi *mfapi.FileInfo
	if e.ID != "" && !e.IsDir {
		var err error
		if fi, err = b.c.FileInfo(ctx, e.ID); err != nil {
			return false, b.pathErr("match", e.Path, err)
		}
	} else {
		o, err := b.resolve(ctx, e.Path)
		if err != nil {
			return false, b.pathErr("match", e.Path, err)
		}
		if o.dirKey != "" {
			return false, b.pathErr("match", e.Path, backend.ErrIsDir)
		}
		fi = &o.files[0]
	}
	var h hash.Hash
	switch len(fi.Hash) {
	case 2 * sha256.Size:
		h = sha256.New()
	case 2 * md5.Size:
		h = md5.New()
	default:
		return false, b.pathErr("match", e.Path, errNoHash)
	}
	if _, err := io.Copy(h, backend.ContextReader(ctx, r)); err != nil {
		return false, b.pathErr("match", e.Path, err)
	}
	return strings.EqualFold(hex.EncodeToString(h.Sum(nil)), fi.Hash), nil
}

type constError string

func (e constError) Error() string { return string(e) }

// errNoHash is MatchContent's error for a file without a usable hash.
const errNoHash = constError("the file has no SHA-256 or MD5 hash to compare with")
