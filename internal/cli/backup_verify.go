package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"ferry/internal/backup"
	"ferry/internal/backup/repo"
)

// verifyOptions are the flags of "ferry backup verify".
type verifyOptions struct {
	repo        repoFlags
	readData    string
	compareData string
	snap        snapshotSelector
	path        string
}

// errVerify is the error of a verify that found problems or differences
// (exit code 1).
var errVerify = errors.New("verify failed")

func newBackupVerifyCommand(g *globals) *cobra.Command {
	var o verifyOptions
	cmd := &cobra.Command{
		Use:   "verify REMOTE:path [--read-data-subset N%] [--compare-data SRC]",
		Short: "Check a backup repository, and compare a snapshot with a directory",
		Long: `Read the repository from the remote (never from the local cache) and check
it: every config, key, index, snapshot and prune mark object decrypts and
parses, every pack an index lists exists with its size and its header
lists the blobs the index says, and every snapshot's tree is indexed.
--read-data-subset N% also downloads N% of the packs whole: each pack's
SHA-256 must match its name and every blob in it must decrypt and match
its ID (100% reads everything).

--compare-data SRC compares a snapshot (the latest, or --snapshot/--time;
--path P for a part of it) with the directory SRC byte by byte, with
mtimes, modes and symlink targets, and lists every difference.

Each problem is printed with the object it is in. Exit codes: 0 nothing
wrong; 1 a problem or a difference was found, or a usage error; 7 a wrong
password or a fatal remote error.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return backupExit(runBackupVerify(cmd.Context(), g, o, args[0]))
		},
	}
	f := cmd.Flags()
	addRepoFlags(f, &o.repo)
	addSnapshotFlags(f, &o.snap)
	f.StringVar(&o.readData, "read-data-subset", "0%", "download this share of the packs whole and verify every blob in them")
	f.StringVar(&o.compareData, "compare-data", "", "compare the snapshot with this directory byte by byte")
	f.StringVar(&o.path, "path", "", "with --compare-data: compare only this part of the snapshot with SRC")
	return cmd
}

// verifyJSON is the --json document of verify.
type verifyJSON struct {
	OK          bool                `json:"ok"`
	Problems    []verifyProblem     `json:"problems"`
	Objects     int                 `json:"objects"`
	Packs       int                 `json:"packs"`
	PacksRead   int                 `json:"packs_read"`
	BlobsRead   int                 `json:"blobs_read"`
	BytesRead   int64               `json:"bytes_read"`
	Unindexed   int                 `json:"unindexed_packs"`
	Snapshot    string              `json:"snapshot,omitempty"`
	Differences []backup.Difference `json:"differences,omitempty"`
}

type verifyProblem struct {
	Object string `json:"object"`
	Error  string `json:"error"`
}

func runBackupVerify(ctx context.Context, g *globals, o verifyOptions, arg string) error {
	frac, err := parsePercent(o.readData)
	if err != nil {
		return usagef("--read-data-subset: %v", err)
	}
	if o.compareData == "" && (o.path != "" || o.snap.id != "" || o.snap.time != "") {
		return usagef("--path, --snapshot and --time go with --compare-data SRC")
	}
	ctx, r, err := g.openBackupRepo(ctx, arg, o.repo, false)
	if err != nil {
		return err
	}
	defer r.Close()
	res, err := r.Check(ctx, repo.CheckOptions{ReadData: frac})
	if err != nil {
		return err
	}
	doc := verifyJSON{
		OK: res.OK(), Problems: []verifyProblem{}, Objects: res.Objects, Packs: res.Packs, PacksRead: res.PacksRead,
		BlobsRead: res.BlobsRead, BytesRead: res.BytesRead, Unindexed: res.Unindexed,
	}
	for _, p := range res.Problems {
		doc.Problems = append(doc.Problems, verifyProblem{p.Object, p.Err.Error()})
		if !o.repo.json {
			fmt.Fprintf(g.stdio.Out, "damaged: %s: %v\n", p.Object, p.Err)
		}
	}
	if !o.repo.json {
		fmt.Fprintf(g.stdio.Out, "checked %d objects and %d pack headers; read %d packs whole (%d blobs)\n",
			res.Objects, res.Packs, res.PacksRead, res.BlobsRead)
		if res.Unindexed > 0 {
			fmt.Fprintf(g.stdio.Out, "%d packs no index lists (left by an interrupted backup; the next backup indexes them, prune removes them)\n", res.Unindexed)
		}
	}
	if o.compareData != "" {
		snap, err := o.snap.load(ctx, r)
		if err != nil {
			return err
		}
		doc.Snapshot = snap.ID.String()
		diffs, err := backup.CompareData(ctx, r.Repository, snap.Tree, o.path, o.compareData)
		if err != nil {
			return err
		}
		doc.Differences = diffs
		if len(diffs) > 0 {
			doc.OK = false
		}
		if !o.repo.json {
			for _, d := range diffs {
				fmt.Fprintf(g.stdio.Out, "differs: %s\n", d)
			}
			fmt.Fprintf(g.stdio.Out, "compared snapshot %s with %s: %d differences\n", snap.ID.Short(), o.compareData, len(diffs))
		}
	}
	if o.repo.json {
		if err := writeJSON(g.stdio.Out, doc); err != nil {
			return err
		}
	}
	if !doc.OK {
		return fmt.Errorf("%w: %d problems, %d differences", errVerify, len(res.Problems), len(doc.Differences))
	}
	if !o.repo.json {
		fmt.Fprintln(g.stdio.Out, "no problems found")
	}
	return nil
}
