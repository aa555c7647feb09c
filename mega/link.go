package mega

import (
	"context"
	"fmt"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// Link exports n as a public link and returns its URL:
// https://mega.nz/file/<handle>#<32-byte node key> for a file and
// https://mega.nz/folder/<handle>#<16-byte folder key> for a folder.
// Exporting an exported node returns the same link.
//
// The key in the URL's fragment decrypts the content: anyone with the URL
// can read the file or folder.
func (c *Client) Link(ctx context.Context, n *Node) (string, error) {
	if _, err := c.loggedIn(); err != nil {
		return "", fmt.Errorf("link %v: %w", n, err)
	}
	if n == nil {
		return "", fmt.Errorf("link: %w", errNilNode)
	}
	cur := c.current(n)
	var kind string
	switch {
	case cur.Type == FileNode && len(cur.key) == 32:
		kind = "file"
	case cur.Type == FolderNode && len(cur.key) == 16:
		kind = "folder"
	case cur.Type == FileNode || cur.Type == FolderNode:
		return "", fmt.Errorf("link %v: %w", n, ErrNodeKey)
	default:
		return "", fmt.Errorf("link %v: cannot export a %v", n, cur.Type)
	}
	var ph string
	if err := c.call(ctx, "l", megaapi.LinkRequest{A: "l", Node: cur.Handle}, &ph); err != nil {
		return "", fmt.Errorf("link %v: %w", n, err)
	}
	if len(ph) != 8 {
		return "", fmt.Errorf("link %v: malformed public handle %q", n, ph)
	}
	c.updateNode(cur.Handle, func(m *Node) { m.PublicHandle = ph })
	return "https://mega.nz/" + kind + "/" + ph + "#" + megacrypto.B64Encode(cur.key), nil
}

// Unlink removes n's public link.
func (c *Client) Unlink(ctx context.Context, n *Node) error {
	if _, err := c.loggedIn(); err != nil {
		return fmt.Errorf("unlink %v: %w", n, err)
	}
	if n == nil {
		return fmt.Errorf("unlink: %w", errNilNode)
	}
	if err := c.call(ctx, "l", megaapi.LinkRequest{A: "l", Node: n.Handle, D: 1}, nil); err != nil {
		return fmt.Errorf("unlink %v: %w", n, err)
	}
	c.updateNode(n.Handle, func(m *Node) { m.PublicHandle = "" })
	return nil
}
