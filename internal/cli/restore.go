package cli

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"ferry/internal/backup"
	"ferry/internal/ui"
)

// restoreOptions are the flags of "ferry restore".
type restoreOptions struct {
	repo     repoFlags
	snap     snapshotSelector
	path     string
	verify   bool
	progress bool
}

func newRestoreCommand(g *globals) *cobra.Command {
	var o restoreOptions
	cmd := &cobra.Command{
		Use:   "restore REMOTE:path DEST",
		Short: "Restore a snapshot of a backup repository into a directory",
		Long: `Restore the latest snapshot of the repository at REMOTE:path, or the one
--snapshot ID or --time T picks, into the directory DEST (created if
missing). --path P restores only the file or directory P of the snapshot:
a directory's contents go into DEST, a file goes into DEST under its name.

    ferry restore mega:backups/photos /tmp/photos
    ferry restore mega:backups/photos /tmp/photos --time 3D --path 2026/summer

Contents, modification times (to the nanosecond), modes, symlinks, empty
directories and names (byte for byte) come back as they were; owners too
when ferry runs as root. Each needed range of each pack is read once,
several at a time, and a blob that many files share is fetched once.

A restore is resumable: run the same command again after an interruption
and it skips the files that are already complete (same size and mtime;
--verify also compares their content) and writes the rest. Files are
written under a temporary name and renamed when complete, so a file in
DEST is either the old one or the restored one. Files in DEST that the
snapshot does not hold are left alone.

--time takes ` + backup.TimeFormats + `.

Exit codes: 0 done; 1 a usage error or a failure (a blob that does not
verify is one: nothing unverified is written); 7 a wrong password or a
fatal remote error; 5 a temporary remote error that retries did not
overcome.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return backupExit(runRestore(cmd.Context(), g, o, args[0], args[1]))
		},
	}
	f := cmd.Flags()
	addRepoFlags(f, &o.repo)
	addSnapshotFlags(f, &o.snap)
	f.StringVar(&o.path, "path", "", "restore only this file or directory of the snapshot (slash separated)")
	f.BoolVar(&o.verify, "verify", false, "on a rerun, compare the content of files already in DEST before skipping them")
	f.BoolVarP(&o.progress, "progress", "P", false, "show the progress line even when stderr is not a terminal")
	return cmd
}

// restoreJSON is the --json document of "ferry restore".
type restoreJSON struct {
	Snapshot     string    `json:"snapshot"`
	SnapshotTime time.Time `json:"snapshot_time"`
	Path         string    `json:"path,omitempty"`
	Dest         string    `json:"dest"`
	Files        int       `json:"files"`
	Dirs         int       `json:"dirs"`
	Symlinks     int       `json:"symlinks"`
	Bytes        int64     `json:"bytes"`
	FilesSkipped int       `json:"files_skipped"`
	BytesSkipped int64     `json:"bytes_skipped"`
	Blobs        int       `json:"blobs"`
	PackRanges   int       `json:"pack_ranges"`
	BytesRead    int64     `json:"bytes_read"`
	Requests     int64     `json:"requests"`
	Retries      int64     `json:"retries"`
	ElapsedTime  float64   `json:"elapsed_time"`
}

func runRestore(ctx context.Context, g *globals, o restoreOptions, arg, dest string) error {
	start := time.Now()
	ctx, r, err := g.openBackupRepo(ctx, arg, o.repo, false)
	if err != nil {
		return err
	}
	defer r.Close()
	snap, err := o.snap.load(ctx, r)
	if err != nil {
		return err
	}
	if !o.repo.json {
		fmt.Fprintf(g.stdio.Err, "restoring snapshot %s of %s to %s\n", snap.ID.Short(), snap.Time.Local().Format(time.DateTime), dest)
	}

	var mu sync.Mutex
	var last backup.RestoreProgress
	var display *ui.Progress
	errw := g.stdio.Err
	if !o.repo.json && (o.progress || ui.IsTerminal(g.stdio.Err)) {
		display = ui.StartProgress(g.stdio.Err, func() ui.Stats {
			mu.Lock()
			p := last
			mu.Unlock()
			return restoreProgressStats(p, start, r.Retries())
		}, ui.ProgressOptions{Force: o.progress})
		errw = display.Writer() // logs pass above the progress line
	}
	st, err := backup.Restore(ctx, r.Repository, snap.Tree, dest, backup.RestoreOptions{
		Path:   o.path,
		Verify: o.verify,
		Progress: func(p backup.RestoreProgress) {
			mu.Lock()
			last = p
			mu.Unlock()
		},
		Logger: loggerOn(g, &ui.LockedWriter{W: g.log.writer(errw)}),
	})
	if display != nil {
		display.Stop()
	}
	if err != nil {
		return err
	}
	el := time.Since(start)
	if o.repo.json {
		return writeJSON(g.stdio.Out, restoreJSON{
			Snapshot: snap.ID.String(), SnapshotTime: snap.Time, Path: o.path, Dest: dest,
			Files: st.Files, Dirs: st.Dirs, Symlinks: st.Symlinks, Bytes: st.Bytes,
			FilesSkipped: st.FilesSkipped, BytesSkipped: st.BytesSkipped,
			Blobs: st.Blobs, PackRanges: st.Ranges, BytesRead: st.BytesRead,
			Requests: r.Requests(), Retries: r.Retries(), ElapsedTime: el.Seconds(),
		})
	}
	w := g.stdio.Out
	fmt.Fprintf(w, "Restored %d files (%s), %d directories, %d symlinks in %s\n",
		st.Files, ui.FormatBytes(st.Bytes), st.Dirs, st.Symlinks, ui.FormatDuration(el))
	if st.FilesSkipped > 0 {
		fmt.Fprintf(w, "Already complete: %d files (%s), not written again\n", st.FilesSkipped, ui.FormatBytes(st.BytesSkipped))
	}
	fmt.Fprintf(w, "Read %d pack ranges (%s) holding %d blobs; %d requests, %d retries\n",
		st.Ranges, ui.FormatBytes(st.BytesRead), st.Blobs, r.Requests(), r.Retries())
	return nil
}

// restoreProgressStats turns the restorer's progress into the display's.
func restoreProgressStats(p backup.RestoreProgress, start time.Time, retries int64) ui.Stats {
	el := time.Since(start).Seconds()
	s := ui.Stats{
		Bytes: p.Bytes, TotalBytes: p.TotalBytes, Transfers: int64(p.Files), TotalTransfers: int64(p.TotalFiles),
		Retries: retries, ElapsedTime: el, ETA: -1,
	}
	if el > 0 {
		s.Speed = float64(p.Bytes) / el
	}
	if s.Speed > 0 {
		s.ETA = float64(p.TotalBytes-p.Bytes) / s.Speed
	}
	return s
}
