package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"ferry/internal/backup"
	"ferry/internal/ui"
)

// pruneFlags are the flags prune and forget --prune share.
type pruneFlags struct {
	grace     string
	maxUnused string
}

func addPruneFlags(f *pflag.FlagSet, o *pruneFlags) {
	f.StringVar(&o.grace, "grace", "24h", "delete marked packs only when they were marked at least this long ago (e.g. 24h, 2D)")
	f.StringVar(&o.maxUnused, "max-unused", "5%", "repack a pack whose unused bytes exceed this share of it (100% never repacks)")
}

// options turns the flags into backup.PruneOptions.
func (o pruneFlags) options(dryRun bool) (backup.PruneOptions, error) {
	grace, err := backup.ParseDuration(o.grace)
	if err != nil {
		return backup.PruneOptions{}, usagef("--grace: %v", err)
	}
	if grace == 0 {
		grace = -1 // none; the zero value means the default
	}
	frac, err := parsePercent(o.maxUnused)
	if err != nil {
		return backup.PruneOptions{}, usagef("--max-unused: %v", err)
	}
	if frac >= 1 {
		frac = -1
	} else if frac == 0 {
		frac = 1e-12 // repack any pack with an unused byte
	}
	return backup.PruneOptions{Grace: grace, MaxUnused: frac, DryRun: dryRun}, nil
}

// parsePercent reads "5%" (or "5") as 0.05.
func parsePercent(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || v < 0 || v > 100 {
		return 0, fmt.Errorf("%q: want a percentage from 0%% to 100%%", s)
	}
	return v / 100, nil
}

// pruneOptions are the flags of "ferry backup prune".
type pruneOptions struct {
	repo   repoFlags
	prune  pruneFlags
	dryRun bool
}

func newBackupPruneCommand(g *globals) *cobra.Command {
	var o pruneOptions
	cmd := &cobra.Command{
		Use:   "prune REMOTE:path",
		Short: "Free the space of data no snapshot references",
		Long: `Delete the packs that hold no blob any snapshot references, in two phases,
so that no lock is needed and a backup running at the same time is safe:

Phase 1 marks the packs without a live blob (a blob is live when a tree
of a snapshot reaches it). A pack with more than --max-unused of its
bytes unused gets its live blobs saved again into new packs, then is
marked too. Backups never reuse a blob found only in marked packs.

Phase 2, in a later prune, deletes the packs marked at least --grace ago
(default 24h) that are still dead then, and rewrites the index.

So "forget --prune" once a day frees yesterday's space. A backup that
runs longer than --grace while a prune deletes is the documented limit.
--dry-run prints what would happen and changes nothing.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return backupExit(runBackupPrune(cmd.Context(), g, o, args[0]))
		},
	}
	addRepoFlags(cmd.Flags(), &o.repo)
	addPruneFlags(cmd.Flags(), &o.prune)
	cmd.Flags().BoolVarP(&o.dryRun, "dry-run", "n", false, "say what would be marked, repacked and deleted; change nothing")
	return cmd
}

func runBackupPrune(ctx context.Context, g *globals, o pruneOptions, arg string) error {
	po, err := o.prune.options(o.dryRun)
	if err != nil {
		return err
	}
	ctx, r, err := g.openBackupRepo(ctx, arg, o.repo, false)
	if err != nil {
		return err
	}
	defer r.Close()
	po.Logger = g.logger()
	st, err := backup.Prune(ctx, r.Repository, po)
	if err != nil {
		return err
	}
	if o.repo.json {
		return writeJSON(g.stdio.Out, pruneJSONDoc(st, o.dryRun, r))
	}
	writePruneStats(g.stdio.Out, st, o.dryRun, max(po.Grace, 0))
	return nil
}

// pruneJSON is the --json document of prune.
type pruneJSON struct {
	DryRun       bool  `json:"dry_run,omitempty"`
	Snapshots    int   `json:"snapshots"`
	LiveBlobs    int   `json:"live_blobs"`
	Packs        int   `json:"packs"`
	PacksMarked  int   `json:"packs_marked"`
	BytesMarked  int64 `json:"bytes_marked"`
	PacksRepack  int   `json:"packs_repacked"`
	BlobsRepack  int   `json:"blobs_repacked"`
	BytesRepack  int64 `json:"bytes_repacked"`
	PacksWaiting int   `json:"packs_waiting"`
	PacksDeleted int   `json:"packs_deleted"`
	BytesDeleted int64 `json:"bytes_deleted"`
	PacksRevived int   `json:"packs_revived"`
	Requests     int64 `json:"requests"`
	Retries      int64 `json:"retries"`
}

func pruneJSONDoc(st backup.PruneStats, dryRun bool, r *backupRepo) pruneJSON {
	return pruneJSON{
		DryRun: dryRun, Snapshots: st.Snapshots, LiveBlobs: st.LiveBlobs, Packs: st.Packs,
		PacksMarked: st.PacksMarked, BytesMarked: st.BytesMarked,
		PacksRepack: st.PacksRepack, BlobsRepack: st.BlobsRepack, BytesRepack: st.BytesRepack,
		PacksWaiting: st.PacksWaiting, PacksDeleted: st.PacksDeleted, BytesDeleted: st.BytesDeleted,
		PacksRevived: st.PacksRevived, Requests: r.Requests(), Retries: r.Retries(),
	}
}

// writePruneStats prints what prune did (or would do).
func writePruneStats(w io.Writer, st backup.PruneStats, dryRun bool, grace time.Duration) {
	would := ""
	if dryRun {
		would = "would be "
	}
	fmt.Fprintf(w, "%d snapshots reach %d blobs in %d packs\n", st.Snapshots, st.LiveBlobs, st.Packs)
	fmt.Fprintf(w, "phase 2: %d packs (%s) marked at least %s ago %sdeleted", st.PacksDeleted, ui.FormatBytes(st.BytesDeleted), grace, would)
	if st.PacksWaiting > 0 {
		fmt.Fprintf(w, "; %d marked packs wait for the grace period", st.PacksWaiting)
	}
	if st.PacksRevived > 0 {
		fmt.Fprintf(w, "; %d marked packs kept (a backup reused their blobs)", st.PacksRevived)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "phase 1: %d packs (%s) %smarked", st.PacksMarked, ui.FormatBytes(st.BytesMarked), would)
	if st.PacksRepack > 0 {
		fmt.Fprintf(w, ", %d of them after their %d live blobs (%s) %ssaved again", st.PacksRepack, st.BlobsRepack, ui.FormatBytes(st.BytesRepack), would)
	}
	fmt.Fprintln(w)
}
