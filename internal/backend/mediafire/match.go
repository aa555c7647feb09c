package mediafire

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"strings"

	"ferry/internal/backend"
	"ferry/mediafire/mfapi"
)

var _ backend.ContentMatcher = (*Backend)(nil)

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
