package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"ferry/internal/backup"
	"ferry/internal/filter"
	"ferry/internal/ui"
)

// backupOptions are the flags of "ferry backup".
type backupOptions struct {
	repo     repoFlags
	tags     []string
	host     string
	exclude  []string
	dryRun   bool
	progress bool
	packSize int // MiB
}

// newBackupCommand builds "ferry backup" and its subcommands.
func newBackupCommand(g *globals) *cobra.Command {
	var o backupOptions
	cmd := &cobra.Command{
		Use:   "backup SRC... REMOTE:path",
		Short: "Back up directories into an encrypted, deduplicating repository on any remote",
		Long: `Back up SRC (directories or files) into the repository at REMOTE:path. The
first backup to an empty location creates the repository; every later one
is incremental: files whose modification time, size and inode are those of
the last snapshot of the same host and paths are not read again, and a run
where nothing changed writes nothing at all.

    ferry backup /home/me/photos mega:backups/photos
    ferry backup /etc /home/me mf://me%40example.com@mediafire.com/backups

The repository password comes from --password-file FILE, else from
$FERRY_BACKUP_PASSWORD, else it is asked on the terminal (twice for a new
repository). REMOTE:path is anything "ferry copy" takes, a local path, or
duplicity's MediaFire URL (mf://user%40host@mediafire.com/path).

At the end ferry prints duplicity's "Backup Statistics" block and its own
lines (stored bytes, dedup savings, objects written, requests, retries,
the snapshot); --json prints the same as one JSON document. On a terminal a
progress line shows the rate and ETA.

Exit codes: 0 done; 3 some source files could not be read (they are listed,
and the snapshot is written without them); 1 any other failure or a usage
error; 7 a wrong password or a fatal remote error (a blocked account, a
failed login); 5 a temporary remote error that retries did not overcome.

A source called like a subcommand ("snapshots", "ls", "forget", "prune", "verify",
"key") is written ./snapshots.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usagef("%s needs SRC... REMOTE:path, got %d argument(s) (see %q)", cmd.CommandPath(), len(args), cmd.CommandPath()+" --help")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return backupExit(runBackup(cmd.Context(), g, o, args))
		},
	}
	f := cmd.Flags()
	addRepoFlags(f, &o.repo)
	f.StringArrayVar(&o.tags, "tag", nil, "tag the snapshot (repeat for more tags)")
	f.StringVar(&o.host, "host", "", "the host name recorded in the snapshot and used to find its parent (default: this host's name)")
	f.StringArrayVar(&o.exclude, "exclude", nil, "leave out paths matching this glob, relative to the source (repeatable; rclone's filter syntax)")
	f.BoolVarP(&o.dryRun, "dry-run", "n", false, "read what changed and report what would be stored, but store nothing")
	f.IntVar(&o.packSize, "pack-size", 0, "target pack size in MiB for this run (default 16 for a local path, 64 for a remote)")
	f.BoolVarP(&o.progress, "progress", "P", false, "show the progress line even when stderr is not a terminal")
	cmd.AddCommand(newBackupSnapshotsCommand(g), newBackupLsCommand(g),
		newBackupForgetCommand(g), newBackupPruneCommand(g), newBackupVerifyCommand(g), newBackupKeyCommand(g))
	return cmd
}

// runBackup runs "ferry backup" with the parsed flags o and arguments
// args (the sources, then the repository).
func runBackup(ctx context.Context, g *globals, o backupOptions, args []string) error {
	srcs, dst := args[:len(args)-1], args[len(args)-1]
	flt, err := filter.New(filter.Options{Exclude: o.exclude})
	if err != nil {
		return usageError{err}
	}
	start := time.Now()
	if o.packSize < 0 || o.packSize > 4096 {
		return usagef("--pack-size %d: want 1 to 4096 (MiB)", o.packSize)
	}
	o.repo.packSize = int64(o.packSize) << 20
	ctx, r, err := g.openBackupRepo(ctx, dst, o.repo, !o.dryRun)
	if err != nil {
		return err
	}
	defer r.Close()
	if r.created {
		fmt.Fprintf(g.stdio.Err, "created repository %s at %s\n", r.ID().Short(), dst)
	}

	prog := &backup.Progress{}
	errw := g.stdio.Err
	var display *ui.Progress
	if !o.repo.json && (o.progress || ui.IsTerminal(g.stdio.Err)) {
		display = ui.StartProgress(g.stdio.Err, func() ui.Stats { return progressStats(prog.Snapshot(), start, r.Retries()) },
			ui.ProgressOptions{Force: o.progress})
		errw = display.Writer()
	}
	errw = &ui.LockedWriter{W: errw}
	opts := backup.Options{
		Paths: srcs, Hostname: o.host, Tags: o.tags, DryRun: o.dryRun,
		Progress: prog, Logger: loggerOn(g, errw),
	}
	if flt.Active() {
		opts.Filter = flt
	}
	// Never back up the repository into itself, nor ferry's cache.
	opts.Skip = []string{g.cacheRoot()}
	if r.ref.Remote == "" {
		opts.Skip = append(opts.Skip, "/"+r.ref.Path)
	}
	res, err := backup.Backup(ctx, r.Repository, opts)
	if display != nil {
		display.Stop()
	}
	if err != nil {
		return err
	}
	st := backupStats(res, r, o.dryRun)
	if o.repo.json {
		if err := writeJSON(g.stdio.Out, backupJSONDoc(st, res, r.Stats().ObjectsRead)); err != nil {
			return err
		}
	} else if err := ui.WriteBackupStats(g.stdio.Out, st); err != nil {
		return err
	}
	if res.Err != nil {
		var n int
		for _, e := range unwrapJoin(res.Err) {
			n++
			fmt.Fprintf(errw, "not backed up: %v\n", e)
		}
		return fmt.Errorf("%w (%d left out)", errPartial, n)
	}
	return nil
}

// unwrapJoin lists the errors of an errors.Join.
func unwrapJoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// progressStats turns the archiver's progress into the display's stats.
func progressStats(p backup.ProgressSnapshot, start time.Time, retries int64) ui.Stats {
	el := time.Since(start).Seconds()
	s := ui.Stats{
		Bytes: p.Bytes, TotalBytes: p.TotalBytes, Transfers: p.Files, TotalTransfers: p.TotalFiles,
		Errors: p.Errors, Retries: retries, ElapsedTime: el, ETA: -1,
	}
	if el > 0 {
		s.Speed = float64(p.Bytes) / el
	}
	if p.Scanned && s.Speed > 0 {
		s.ETA = float64(p.TotalBytes-p.Bytes) / s.Speed
	}
	return s
}

// backupStats is the statistics block of a run.
func backupStats(res *backup.Result, r *backupRepo, dryRun bool) ui.BackupStats {
	s := res.Stats
	rs := r.Stats()
	out := ui.BackupStats{
		StartTime: s.StartTime, EndTime: s.EndTime,
		SourceFiles: s.Files + s.Dirs, SourceFileSize: s.SourceBytes,
		NewFiles: s.FilesNew + s.DirsNew, NewFileSize: s.BytesNew,
		DeletedFiles: s.Deleted,
		ChangedFiles: s.FilesChanged + s.DirsChanged, ChangedFileSize: s.BytesChanged,
		ChangedDeltaSize: s.DataAddedChanged,
		RawDeltaSize:     s.DataAdded,
		Errors:           s.Errors,
		StoredBytes:      s.DataAddedStored, DedupSavings: s.DedupBytes,
		ObjectsWritten: rs.ObjectsWritten, Requests: r.Requests(), Retries: r.Retries(),
		TotalDestinationSizeChange: rs.BytesUploaded,
		DryRun:                     dryRun,
	}
	out.DeltaEntries = out.NewFiles + out.ChangedFiles + out.DeletedFiles
	if res.Snapshot != nil {
		out.Snapshot = res.Snapshot.ID.Short()
	}
	return out
}

// backupJSON is the --json document of "ferry backup": the statistics
// block's numbers under snake_case names, and the snapshot.
type backupJSON struct {
	Snapshot                   string    `json:"snapshot,omitempty"` // full ID; absent when nothing was written
	SnapshotShort              string    `json:"snapshot_short,omitempty"`
	Parent                     string    `json:"parent,omitempty"`
	Tree                       string    `json:"tree"`
	Unchanged                  bool      `json:"unchanged"`
	DryRun                     bool      `json:"dry_run,omitempty"`
	StartTime                  time.Time `json:"start_time"`
	EndTime                    time.Time `json:"end_time"`
	ElapsedTime                float64   `json:"elapsed_time"`
	SourceFiles                int64     `json:"source_files"`
	SourceFileSize             int64     `json:"source_file_size"`
	NewFiles                   int64     `json:"new_files"`
	NewFileSize                int64     `json:"new_file_size"`
	DeletedFiles               int64     `json:"deleted_files"`
	ChangedFiles               int64     `json:"changed_files"`
	ChangedFileSize            int64     `json:"changed_file_size"`
	ChangedDeltaSize           int64     `json:"changed_delta_size"`
	DeltaEntries               int64     `json:"delta_entries"`
	RawDeltaSize               int64     `json:"raw_delta_size"`
	TotalDestinationSizeChange int64     `json:"total_destination_size_change"`
	Errors                     int64     `json:"errors"`
	StoredBytes                int64     `json:"stored_bytes"`
	DedupSavings               int64     `json:"dedup_savings"`
	ObjectsWritten             int64     `json:"objects_written"`
	Requests                   int64     `json:"requests"`
	Retries                    int64     `json:"retries"`
	ObjectsRead                int64     `json:"objects_read"`         // objects or ranges downloaded (the local cache has the rest)
	Unreadable                 []string  `json:"unreadable,omitempty"` // the entries left out, with why
}

func backupJSONDoc(s ui.BackupStats, res *backup.Result, objectsRead int64) backupJSON {
	d := backupJSON{ObjectsRead: objectsRead,
		Tree: res.Root.String(), Unchanged: res.Unchanged, DryRun: s.DryRun,
		StartTime: s.StartTime, EndTime: s.EndTime, ElapsedTime: s.EndTime.Sub(s.StartTime).Seconds(),
		SourceFiles: s.SourceFiles, SourceFileSize: s.SourceFileSize, NewFiles: s.NewFiles, NewFileSize: s.NewFileSize,
		DeletedFiles: s.DeletedFiles, ChangedFiles: s.ChangedFiles, ChangedFileSize: s.ChangedFileSize,
		ChangedDeltaSize: s.ChangedDeltaSize, DeltaEntries: s.DeltaEntries, RawDeltaSize: s.RawDeltaSize,
		TotalDestinationSizeChange: s.TotalDestinationSizeChange, Errors: s.Errors,
		StoredBytes: s.StoredBytes, DedupSavings: s.DedupSavings, ObjectsWritten: s.ObjectsWritten,
		Requests: s.Requests, Retries: s.Retries,
	}
	if res.Snapshot != nil {
		d.Snapshot, d.SnapshotShort = res.Snapshot.ID.String(), res.Snapshot.ID.Short()
	}
	if res.Parent != nil {
		d.Parent = res.Parent.ID.String()
	}
	if res.Err != nil {
		for _, e := range unwrapJoin(res.Err) {
			var fe *backup.FileError
			if errors.As(e, &fe) {
				d.Unreadable = append(d.Unreadable, fe.Error())
			}
		}
	}
	return d
}
