// Package transfer is ferry's copy, sync, move, check and dedupe engine
// over two backend.Backend locations. It imports the storage contract,
// never a concrete backend, and never prints: it reports through
// Options.Report and Stats, and logs for operators through Options.Logger.
//
// # How a run works
//
// A run walks the source and destination trees in lock step: a checker
// lists one source directory and the matching destination directory,
// sorts both by name and merges them, so each name is seen once with its
// source and destination entry (either may be missing). Subdirectories are
// walked by further checkers, at most Options.Checkers at a time. Each
// pair is decided (see Decisions) and files that need copying go to
// Options.Transfers workers, which stream Open -> Put without buffering
// whole files and set the destination mtime from the source.
//
// Sync deletes destination files that have no source counterpart only
// after every transfer has finished, and not at all when anything failed
// (rclone's --delete-after; DeleteMode chooses before or during, and
// MaxDelete caps the count). Move deletes each source file once its copy
// is verified, or uses backend.Mover when source and destination are the
// same backend instance. Check reports differences without changing
// anything; Dedupe resolves duplicate names on backends that allow them.
//
// # Decisions
//
// A file present on both sides is skipped when the sizes are equal and the
// mtimes differ by no more than the coarser backend.Precision of the two
// sides. SizeOnly compares sizes alone; IgnoreExisting skips every file
// the destination has. Checksum compares content fingerprints instead of
// mtimes: when both entries carry an Entry.Fingerprint their CRC parts are
// compared; when only one does (MEGA's `c` attribute against a local
// file), the other side's fingerprint is computed by reading at most
// 8 KiB of sampled windows from it, so nothing is downloaded from the
// side that has one. With no fingerprint on either side Checksum falls
// back to sizes, as rclone does without a common hash. Update keeps a
// destination newer than the source; IgnoreTimes copies every file;
// Immutable makes a file that would be replaced a failure.
//
// # rclone's sync semantics
//
// syncflags.go holds the options named after rclone's flags: BackupDir
// and Suffix keep what a run replaces or deletes (moved server-side with
// backend.Mover); TrackRenames holds source-only files back until the
// walk is over and moves a matching destination-only file onto each
// (size and fingerprint, confirmed by backend.ContentMatcher where one
// side is one; size and mtime without fingerprints); CreateEmptySrcDirs
// makes the source's directories; NoTraverse looks each source file up
// with Stat instead of listing the destination; DeleteExcluded lets sync
// see, and delete, the destination's excluded files.
//
// # Errors
//
// A failure on one file is reported, counted in Stats and does not stop
// the run; the run then returns a *RunError carrying the count and the
// first error. Cancelling ctx stops listing and transfers promptly and
// the run returns ctx's error once every goroutine it started has ended.
//
// # Limits
//
// MaxTransfer and MaxDuration stop a run early (rclone's --max-transfer
// and --max-duration): the listing ends, no transfer starts, and with
// CutoffHard the running ones are cut (MaxTransfer's reads stop at the
// limit). The run returns an error wrapping ErrMaxTransfer or
// ErrMaxDuration; what the stop cancelled is not counted as failed, and
// Sync deletes nothing.
//
// # Dry run
//
// With DryRun every decision is made and reported with Event.DryRun set,
// and counted in Stats as if done, but nothing is written or deleted.
package transfer
