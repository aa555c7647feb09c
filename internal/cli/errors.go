package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"ferry/internal/backend"
	"ferry/internal/transfer"
)

// Exit codes, as rclone documents them.
const (
	exitOK          = 0
	exitUsage       = 1 // syntax or usage error
	exitError       = 2 // error not otherwise categorised
	exitDirNotFound = 3
	exitNotFound    = 4
	exitRetryable   = 5  // temporary error (one that more retries might fix)
	exitNoRetry     = 6  // less serious errors
	exitFatal       = 7  // fatal error (one that more retries won't fix, like account blocked)
	exitTransferMax = 8  // transfer exceeded --max-transfer
	exitNoTransfer  = 9  // operation successful, but no files transferred (--error-on-no-transfer)
	exitDurationMax = 10 // duration exceeded --max-duration

	exitInterrupted = 130 // stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it)
)

// exitCode maps an error to rclone's exit codes. It is the only place that
// does.
func exitCode(err error) int {
	var ue usageError
	var de daemonError
	var ce codedError
	switch {
	case errors.As(err, &de): // the background mount process's own code
		return de.code
	case errors.As(err, &ce): // a backup command's own classes (backupExit)
		return ce.code
	case errors.As(err, &ue), errors.Is(err, transfer.ErrDifferences), errors.Is(err, transfer.ErrOverlap):
		return exitUsage
	case errors.Is(err, transfer.ErrDirNotFound), errors.Is(err, errDirNotFound):
		return exitDirNotFound
	case errors.Is(err, errNoFilesTransferred):
		return exitNoTransfer
	case errors.Is(err, transfer.ErrMaxTransfer):
		return exitTransferMax
	case errors.Is(err, transfer.ErrMaxDuration):
		return exitDurationMax
	case backend.IsFatal(err): // a blocked account, a wrong password, a bad MAC, ...
		return exitFatal
	case errors.Is(err, fs.ErrNotExist):
		return exitNotFound
	case errors.Is(err, context.Canceled):
		return exitError
	}
	return exitError
}

// message is the one-line text printed for err, after "ferry: ". A
// message that starts with a command's path ("ferry copy needs ...")
// loses its "ferry ", so the line names the program once.
func message(err error) string {
	return strings.TrimPrefix(err.Error(), "ferry ")
}

// errDirNotFound marks a missing directory given to a command that works on
// one (the listings, size, tree, rmdir, rmdirs, delete, purge): exit code 3,
// where a missing file stays fs.ErrNotExist's 4. The transfer engine has
// its own, transfer.ErrDirNotFound.
var errDirNotFound = errors.New("directory not found")

// dirNotFound wraps err, from an operation on a directory, with
// errDirNotFound when it says the directory does not exist; other errors
// pass unchanged.
func dirNotFound(err error) error {
	if err == nil || !errors.Is(err, fs.ErrNotExist) || errors.Is(err, errDirNotFound) {
		return err
	}
	return fmt.Errorf("%w: %w", errDirNotFound, err)
}
