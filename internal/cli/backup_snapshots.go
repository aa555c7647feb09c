package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"ferry/internal/backup/repo"
	"ferry/internal/ui"
)

// newBackupSnapshotsCommand builds "ferry backup snapshots".
func newBackupSnapshotsCommand(g *globals) *cobra.Command {
	var o repoFlags
	cmd := &cobra.Command{
		Use:   "snapshots REMOTE:path",
		Short: "List the snapshots of a backup repository",
		Long: `List the snapshots of the repository at REMOTE:path, oldest first: the
short ID (what --snapshot takes), the time, the host, the tags, the files
and bytes the source held, and the source paths. --json prints every
snapshot with its full ID, parent, root tree and summary.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return backupExit(runBackupSnapshots(cmd.Context(), g, o, args[0]))
		},
	}
	addRepoFlags(cmd.Flags(), &o)
	return cmd
}

// snapshotJSON is one snapshot in --json output.
type snapshotJSON struct {
	ID       string       `json:"id"`
	ShortID  string       `json:"short_id"`
	Time     time.Time    `json:"time"`
	Parent   string       `json:"parent,omitempty"`
	Tree     string       `json:"tree"`
	Paths    []string     `json:"paths"`
	Hostname string       `json:"hostname"`
	Username string       `json:"username,omitempty"`
	Tags     []string     `json:"tags,omitempty"`
	Summary  repo.Summary `json:"summary"`
}

func toSnapshotJSON(s *repo.Snapshot) snapshotJSON {
	j := snapshotJSON{ID: s.ID.String(), ShortID: s.ID.Short(), Time: s.Time, Tree: s.Tree.String(), Paths: s.Paths,
		Hostname: s.Hostname, Username: s.Username, Tags: s.Tags, Summary: s.Summary}
	if s.Parent != nil {
		j.Parent = s.Parent.String()
	}
	if j.Paths == nil {
		j.Paths = []string{}
	}
	return j
}

// runBackupSnapshots runs "ferry backup snapshots".
func runBackupSnapshots(ctx context.Context, g *globals, o repoFlags, arg string) error {
	ctx, r, err := g.openBackupRepo(ctx, arg, o, false)
	if err != nil {
		return err
	}
	defer r.Close()
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return err
	}
	if o.json {
		out := make([]snapshotJSON, 0, len(snaps))
		for i := range snaps {
			out = append(out, toSnapshotJSON(&snaps[i]))
		}
		return writeJSON(g.stdio.Out, out)
	}
	tw := tabwriter.NewWriter(g.stdio.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTime\tHost\tTags\tFiles\tSize\tPaths")
	for _, s := range snaps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.ID.Short(), s.Time.Local().Format(time.DateTime), s.Hostname,
			strings.Join(s.Tags, ","), s.Summary.TotalFiles, ui.FormatBytes(s.Summary.TotalBytes), strings.Join(s.Paths, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(g.stdio.Out, "%d snapshot(s)\n", len(snaps))
	return nil
}
