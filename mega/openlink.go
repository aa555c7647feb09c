package mega

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// ErrLinkNotFound means the server knows no such link: it was removed,
// it expired, or it was made on another server. It wraps fs.ErrNotExist.
var ErrLinkNotFound = fmt.Errorf("mega: link not found (removed, expired, or made on another server): %w", fs.ErrNotExist)

// linkError maps the "no such link" answers of a link's commands to
// ErrLinkNotFound.
func linkError(err error) error {
	if errors.Is(err, megaapi.ENOENT) || errors.Is(err, megaapi.EEXPIRED) {
		return fmt.Errorf("%w: %w", ErrLinkNotFound, err)
	}
	return err
}

// OpenFileLink opens the file of a file link with `g` on its public handle
// (`p`). It needs no login: the key comes from the link. The File's Node
// has the link's public handle as its Handle, the name and mtime from the
// attributes the key decrypts, and no parent. Read it whole and verified
// with File.NewReader or File.Download, or in ranges with ReadAt.
//
// A link the server does not know gives an error wrapping
// ErrLinkNotFound; a key that does not decrypt the attributes, one
// wrapping ErrNodeKey.
func (c *Client) OpenFileLink(ctx context.Context, l Link) (*File, error) {
	if l.Folder || len(l.Key) != 32 {
		return nil, fmt.Errorf("open %s: %w: not a file link (open folder links with OpenFolderLink)", l.Redacted(), ErrLink)
	}
	fk, err := megacrypto.UnpackFileKey(l.Key)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w: %w", l.Redacted(), ErrLink, err)
	}
	f := &File{c: c, fk: fk, req: megaapi.DownloadRequest{A: "g", G: 1, P: l.Handle, SSL: c.ssl()}}
	rep, err := f.get(ctx)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", l.Redacted(), linkError(err))
	}
	n := &Node{Handle: l.Handle, Type: FileNode, Size: rep.Size, PublicHandle: l.Handle,
		key: append([]byte(nil), l.Key...), attr: rep.Attr}
	(&keyring{}).decryptAttrs(n)
	if n.Err != nil {
		return nil, fmt.Errorf("open %s: the link's key does not decrypt the file: %w", l.Redacted(), n.Err)
	}
	f.node, f.size = n, rep.Size
	return f, nil
}

// FolderLink is an open folder link: the linked folder's subtree, read
// with no account in the link's context (`n=<public handle>` on every
// command), node keys decrypted with the share key from the link. It is
// read-only and safe for concurrent use.
//
// Paths and lookups are relative to the linked folder, which is Root.
type FolderLink struct {
	c    *Client
	link Link
}

// OpenFolderLink opens a folder link: it fetches the linked subtree (`f`)
// on opts' API server (Options.APIURL, $X_MEGA_API_URL, or MEGA's) and
// decrypts it with the link's share key. An unknown link gives an error
// wrapping ErrLinkNotFound. ctx is used only for the fetch.
func OpenFolderLink(ctx context.Context, opts Options, l Link) (*FolderLink, error) {
	if !l.Folder || len(l.Key) != 16 {
		return nil, fmt.Errorf("open %s: %w: not a folder link (open file links with Client.OpenFileLink)", l.Redacted(), ErrLink)
	}
	c := New(opts)
	c.folder = l.Handle
	fl := &FolderLink{c: c, link: l}
	if err := fl.Refresh(ctx); err != nil {
		return nil, err
	}
	return fl, nil
}

// Refresh fetches the linked subtree again, replacing the local one.
func (fl *FolderLink) Refresh(ctx context.Context) error {
	c := fl.c
	body, err := json.Marshal([1]any{megaapi.FetchRequest{A: "f", C: 1, R: 1}})
	if err != nil {
		return err
	}
	var t *tree
	err = c.cs(ctx, "", "f", body, func(dec *json.Decoder) error {
		t = newTree()
		return decodeFetch(dec, &keyring{t: t, linkKey: fl.link.Key})
	})
	if err != nil {
		return fmt.Errorf("open %s: %w", fl.link.Redacted(), linkError(err))
	}
	c.treeMu.Lock()
	c.tree = t
	c.treeMu.Unlock()
	return nil
}

// Link returns the link fl was opened with.
func (fl *FolderLink) Link() Link { return fl.link }

// Root returns the linked folder.
func (fl *FolderLink) Root() *Node { return fl.c.Root() }

// Node returns the node with the handle, or nil when the link has none.
func (fl *FolderLink) Node(handle string) *Node { return fl.c.Node(handle) }

// Children returns n's children sorted by name, then handle.
func (fl *FolderLink) Children(n *Node) []*Node { return fl.c.Children(n) }

// Lookup resolves a "/"-separated path relative to the linked folder, as
// Client.Lookup does from the Cloud Drive root.
func (fl *FolderLink) Lookup(path string) ([]*Node, error) { return fl.c.Lookup(path) }

// LookupNames is Lookup of the path whose elements are names, each taken
// as it is.
func (fl *FolderLink) LookupNames(names ...string) ([]*Node, error) {
	return fl.c.LookupNames(names...)
}

// PathNames returns the names from the linked folder down to n (none for
// the folder itself); ok is false when n is not in the link.
func (fl *FolderLink) PathNames(n *Node) (names []string, ok bool) { return fl.c.PathNames(n) }

// Open prepares file n of the link for reading (`g` by node handle, in the
// link's context).
func (fl *FolderLink) Open(ctx context.Context, n *Node) (*File, error) { return fl.c.Open(ctx, n) }

// NewReader returns a reader of file n's whole content, MAC-verified like
// Client.NewReader.
func (fl *FolderLink) NewReader(ctx context.Context, n *Node) (io.ReadCloser, error) {
	return fl.c.NewReader(ctx, n)
}

// Download writes file n's whole content to w, MAC-verified like
// Client.Download.
func (fl *FolderLink) Download(ctx context.Context, n *Node, w io.Writer) error {
	return fl.c.Download(ctx, n, w)
}
