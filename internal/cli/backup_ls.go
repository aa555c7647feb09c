package cli

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"ferry/internal/backup/repo"
	"ferry/internal/backup/tree"
)

// backupLsOptions are the flags of "ferry backup ls".
type backupLsOptions struct {
	repo repoFlags
	snap snapshotSelector
}

// newBackupLsCommand builds "ferry backup ls".
func newBackupLsCommand(g *globals) *cobra.Command {
	var o backupLsOptions
	cmd := &cobra.Command{
		Use:   "ls REMOTE:path [PATH]",
		Short: "List the files of a snapshot",
		Long: `List every entry of a snapshot (the latest, or the one --snapshot or --time
picks), or of PATH inside it, with its mode, owner, size and modification
time. Names that are not printable UTF-8 are shown quoted, Go style
("\xff", "\n"). --json prints the snapshot and every entry; a name that is
not valid UTF-8 also comes as its raw bytes (base64, "path_raw").`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usagef("%s needs REMOTE:path and optionally PATH, got %d argument(s)", cmd.CommandPath(), len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return backupExit(runBackupLs(cmd.Context(), g, o, args))
		},
	}
	addRepoFlags(cmd.Flags(), &o.repo)
	addSnapshotFlags(cmd.Flags(), &o.snap)
	return cmd
}

// lsNodeJSON is one entry in --json output.
type lsNodeJSON struct {
	Path    string    `json:"path"`
	PathRaw []byte    `json:"path_raw,omitempty"`
	Type    string    `json:"type"`
	Mode    string    `json:"mode"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
	UID     uint32    `json:"uid"`
	GID     uint32    `json:"gid"`
	Target  string    `json:"target,omitempty"`
	Blobs   int       `json:"blobs,omitempty"`
}

// runBackupLs runs "ferry backup ls".
func runBackupLs(ctx context.Context, g *globals, o backupLsOptions, args []string) error {
	ctx, r, err := g.openBackupRepo(ctx, args[0], o.repo, false)
	if err != nil {
		return err
	}
	defer r.Close()
	snap, err := o.snap.load(ctx, r)
	if err != nil {
		return err
	}
	root, prefix := snap.Tree, ""
	var single *tree.Node
	if len(args) == 2 {
		if root, single, prefix, err = lsFind(ctx, r.Repository, snap.Tree, args[1]); err != nil {
			return err
		}
	}
	var nodes []lsNodeJSON
	emit := func(p string, n *tree.Node) {
		if o.repo.json {
			nodes = append(nodes, lsNode(p, n))
			return
		}
		fmt.Fprintln(g.stdio.Out, lsLine(p, n))
	}
	if single != nil && single.Type != tree.Dir {
		emit(prefix, single)
	} else if err := lsWalk(ctx, r.Repository, root, prefix, emit); err != nil {
		return err
	}
	if o.repo.json {
		if nodes == nil {
			nodes = []lsNodeJSON{}
		}
		return writeJSON(g.stdio.Out, struct {
			Snapshot snapshotJSON `json:"snapshot"`
			Nodes    []lsNodeJSON `json:"nodes"`
		}{toSnapshotJSON(snap), nodes})
	}
	return nil
}

// lsFind resolves PATH (slash separated, relative to the snapshot's root)
// to its tree, node and display path.
func lsFind(ctx context.Context, r *repo.Repository, root repo.ID, p string) (repo.ID, *tree.Node, string, error) {
	id := root
	var node *tree.Node
	shown := ""
	for el := range strings.SplitSeq(strings.Trim(p, "/"), "/") {
		if el == "" {
			continue
		}
		if node != nil && node.Type != tree.Dir {
			return id, nil, "", fmt.Errorf("%s: not a directory in the snapshot", shown)
		}
		t, err := lsLoad(ctx, r, id)
		if err != nil {
			return id, nil, "", err
		}
		node = t.Find([]byte(el))
		shown += "/" + el
		if node == nil {
			return id, nil, "", fmt.Errorf("%s: %w in the snapshot", shown, fs.ErrNotExist)
		}
		id = node.Subtree
	}
	return id, node, shown, nil
}

func lsLoad(ctx context.Context, r *repo.Repository, id repo.ID) (*tree.Tree, error) {
	b, err := r.LoadBlob(ctx, repo.TreeBlob, id, nil)
	if err != nil {
		return nil, err
	}
	return tree.Decode(b)
}

// lsWalk calls emit for every node below tree id, depth first in name
// order, with its path below prefix.
func lsWalk(ctx context.Context, r *repo.Repository, id repo.ID, prefix string, emit func(string, *tree.Node)) error {
	t, err := lsLoad(ctx, r, id)
	if err != nil {
		return err
	}
	for i := range t.Nodes {
		n := &t.Nodes[i]
		p := prefix + "/" + string(n.Name)
		emit(p, n)
		if n.Type == tree.Dir {
			if err := lsWalk(ctx, r, n.Subtree, p, emit); err != nil {
				return err
			}
		}
	}
	return nil
}

// fullMode is n's mode with its type bits.
func fullMode(n *tree.Node) fs.FileMode {
	switch n.Type {
	case tree.Dir:
		return n.Mode | fs.ModeDir
	case tree.Symlink:
		return n.Mode | fs.ModeSymlink
	}
	return n.Mode
}

// lsLine is one text line: mode, owner, size, time, path (and target).
func lsLine(p string, n *tree.Node) string {
	line := fmt.Sprintf("%s %5d %5d %12d %s %s", fullMode(n), n.UID, n.GID, n.Size,
		n.ModTime.Local().Format(time.DateTime), printable(p))
	if n.Type == tree.Symlink {
		line += " -> " + printable(string(n.Target))
	}
	return line
}

func lsNode(p string, n *tree.Node) lsNodeJSON {
	j := lsNodeJSON{Path: p, Type: n.Type, Mode: fullMode(n).String(), Size: n.Size, ModTime: n.ModTime,
		UID: n.UID, GID: n.GID, Target: string(n.Target), Blobs: len(n.Content)}
	if !utf8.ValidString(p) {
		j.PathRaw = []byte(p)
	}
	return j
}

// printable returns s, or s quoted when it is not printable UTF-8 (a
// newline in a name would otherwise split the line).
func printable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) && !bytes.ContainsRune([]byte(s), '"') {
		return s
	}
	return strconv.Quote(s)
}
