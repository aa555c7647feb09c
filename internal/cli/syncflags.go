package cli

import (
	"context"

	"github.com/spf13/pflag"

	"ferry/internal/transfer"
)

// syncFlags are rclone's sync-semantics flags, shared by copy, copyto,
// sync, move and moveto (rclone's are global; the ones only sync uses
// are accepted by the others and change nothing there).
type syncFlags struct {
	update, ignoreTimes, immutable, noTraverse bool
	trackRenames, createEmptySrcDirs           bool
	deleteExcluded                             bool
	deleteBefore, deleteDuring, deleteAfter    bool
	maxDelete                                  int
	backupDir, suffix                          string
	suffixKeepExtension                        bool
	trackRenamesStrategy                       string
}

// addSyncFlags binds the sync-semantics flags to o.
func addSyncFlags(f *pflag.FlagSet, o *syncFlags) {
	f.BoolVarP(&o.update, "update", "u", false, "skip files that are newer on the destination")
	f.BoolVarP(&o.ignoreTimes, "ignore-times", "I", false, "transfer all files, whatever their sizes and modification times")
	f.BoolVar(&o.immutable, "immutable", false, "never replace a destination file: one that differs is an error")
	f.BoolVar(&o.noTraverse, "no-traverse", false, "don't list the destination: look up each source file on it (copy, move; sync ignores it)")
	f.BoolVar(&o.trackRenames, "track-renames", false, "sync: move renamed files server-side (matched by size and fingerprint, or size and mtime) instead of uploading them again")
	f.StringVar(&o.trackRenamesStrategy, "track-renames-strategy", "hash", "what --track-renames matches besides the size: hash (the content; the mtime where neither side has fingerprints), modtime, leaf (the file name), or several joined by commas")
	f.BoolVar(&o.createEmptySrcDirs, "create-empty-src-dirs", false, "create empty source directories on the destination")
	f.BoolVar(&o.deleteExcluded, "delete-excluded", false, "sync: also delete destination files the filters exclude")
	f.BoolVar(&o.deleteBefore, "delete-before", false, "sync: delete extraneous destination files before transferring")
	f.BoolVar(&o.deleteDuring, "delete-during", false, "sync: delete extraneous destination files while transferring")
	f.BoolVar(&o.deleteAfter, "delete-after", false, "sync: delete extraneous destination files after transferring (the default)")
	f.IntVar(&o.maxDelete, "max-delete", -1, "sync: delete at most this many files; more is an error (exit 7) and stops the deleting")
	f.StringVar(&o.backupDir, "backup-dir", "", "move the files a run replaces or deletes into this directory of the destination's remote, at their relative paths")
	f.StringVar(&o.suffix, "suffix", "", "append this to the names of backed-up files; without --backup-dir they are renamed in place")
	f.BoolVar(&o.suffixKeepExtension, "suffix-keep-extension", false, "put --suffix before the extension (file-1.txt, not file.txt-1)")
}

// validate checks the combinations of the sync-semantics flags.
func (o *syncFlags) validate() error {
	n := 0
	for _, b := range []bool{o.deleteBefore, o.deleteDuring, o.deleteAfter} {
		if b {
			n++
		}
	}
	switch {
	case n > 1:
		return usagef("only one of --delete-before, --delete-during and --delete-after may be given")
	case o.trackRenames && (o.deleteBefore || o.deleteDuring):
		return usagef("--track-renames works only with --delete-after: it matches against every file sync would delete")
	case o.maxDelete < -1:
		return usagef("--max-delete must be -1 (no limit) or more")
	}
	if _, err := transfer.ParseRenameStrategy(o.trackRenamesStrategy); err != nil {
		return usagef("--track-renames-strategy: %v", err)
	}
	return nil
}

// apply sets the sync-semantics options of opts; backupDir is the
// --backup-dir path in the destination's backend.
func (o *syncFlags) apply(opts *transfer.Options, backupDir string) {
	opts.Update, opts.IgnoreTimes, opts.Immutable = o.update, o.ignoreTimes, o.immutable
	opts.NoTraverse, opts.TrackRenames = o.noTraverse, o.trackRenames
	opts.TrackRenamesStrategy, _ = transfer.ParseRenameStrategy(o.trackRenamesStrategy) // checked by validate
	opts.CreateEmptySrcDirs, opts.DeleteExcluded = o.createEmptySrcDirs, o.deleteExcluded
	switch {
	case o.deleteBefore:
		opts.DeleteMode = transfer.DeleteBefore
	case o.deleteDuring:
		opts.DeleteMode = transfer.DeleteDuring
	}
	opts.LimitDeletes, opts.MaxDelete = o.maxDelete >= 0, o.maxDelete
	opts.BackupDir, opts.Suffix, opts.SuffixKeepExtension = backupDir, o.suffix, o.suffixKeepExtension
}

// resolveBackupDir opens --backup-dir and returns its path in the
// destination's backend: it must name the destination's remote.
func (o *syncFlags) resolveBackupDir(ctx context.Context, g *globals, dstRemote string) (string, error) {
	if o.backupDir == "" {
		return "", nil
	}
	ref, err := g.openWritable(ctx, o.backupDir)
	if err != nil {
		return "", err
	}
	defer ref.Close()
	if ref.Remote != dstRemote {
		return "", usagef("--backup-dir %s must be on the destination's remote", o.backupDir)
	}
	if ref.Path == "" {
		return "", usagef("--backup-dir %s is the remote's root, which holds the destination", o.backupDir)
	}
	return ref.Path, nil
}
