package cli

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"ferry/internal/backend"
	"ferry/internal/backend/sub"
	"ferry/internal/backup"
	"ferry/internal/backup/pace"
	"ferry/internal/backup/repo"
	"ferry/internal/remote"
	"ferry/internal/retry"
)

// envBackupPassword is the environment variable holding a repository's
// password when --password-file is not given.
const envBackupPassword = "FERRY_BACKUP_PASSWORD"

// repoFlags are the flags every backup command shares.
type repoFlags struct {
	passwordFile string
	json         bool
	packSize     int64 // bytes; 0: the default for the remote
}

// addRepoFlags binds --password-file and --json.
func addRepoFlags(fs *pflag.FlagSet, o *repoFlags) {
	fs.StringVar(&o.passwordFile, "password-file", "",
		"read the repository password from this file (else env "+envBackupPassword+", else a prompt on the terminal)")
	fs.BoolVar(&o.json, "json", false, "print the result as one JSON document on stdout")
}

// errNoPassword is the usage error for a repository password no source
// gives.
var errNoPassword = usagef("no repository password: use --password-file FILE, set %s, or run on a terminal to be asked", envBackupPassword)

// backupPassword returns the repository password: from --password-file
// (one trailing newline removed), $FERRY_BACKUP_PASSWORD, or asked on the
// terminal (twice when create, for a new repository).
func (g *globals) backupPassword(ctx context.Context, o repoFlags, create bool) ([]byte, error) {
	if o.passwordFile != "" {
		b, err := os.ReadFile(o.passwordFile)
		if err != nil {
			return nil, usagef("--password-file: %v", err)
		}
		b = bytes.TrimSuffix(b, []byte("\n"))
		b = bytes.TrimSuffix(b, []byte("\r"))
		if len(b) == 0 {
			return nil, usagef("--password-file %s: the file is empty", o.passwordFile)
		}
		return b, nil
	}
	if pw := os.Getenv(envBackupPassword); pw != "" {
		return []byte(pw), nil
	}
	p := g.prompter()
	if !p.terminal() {
		return nil, errNoPassword
	}
	if !create {
		pw, err := p.ask(ctx, g.stdio.Err, "enter password for repository: ", true)
		if err != nil {
			return nil, err
		}
		if pw == "" {
			return nil, usagef("empty repository password")
		}
		return []byte(pw), nil
	}
	pw, err := p.ask(ctx, g.stdio.Err, "enter password for new repository: ", true)
	if err != nil {
		return nil, err
	}
	again, err := p.ask(ctx, g.stdio.Err, "enter password again: ", true)
	if err != nil {
		return nil, err
	}
	switch {
	case pw == "":
		return nil, usagef("empty repository password")
	case pw != again:
		return nil, usagef("the passwords do not match")
	}
	return []byte(pw), nil
}

// backupRepo is an open repository and what its command reports.
type backupRepo struct {
	*repo.Repository
	ref     *remote.Ref
	paced   *pace.Backend
	retries *atomic.Int64 // every retry the observer heard of
	created bool
	where   string // the REMOTE:path argument, for messages
}

// Close releases the remote.
func (r *backupRepo) Close() error { return r.ref.Close() }

// Requests is the number of requests made to the remote so far (retried
// attempts included).
func (r *backupRepo) Requests() int64 { return r.paced.Stats().Requests }

// Retries is the number of retried attempts so far: the pace wrapper's
// and the service client's own (both report to the retry observer).
func (r *backupRepo) Retries() int64 { return r.retries.Load() }

// openBackupRepo opens the repository at arg ("REMOTE:path", a local
// path, or a duplicity URL) through the resolver, so a remote's cached
// session is used (no login). With create, an empty location gets a new
// repository. ctx, which the returned context replaces, counts retries.
func (g *globals) openBackupRepo(ctx context.Context, arg string, o repoFlags, create bool) (context.Context, *backupRepo, error) {
	setBackupGC()
	retries := new(atomic.Int64)
	prev := retry.ObserverFrom(ctx)
	ctx = retry.WithObserver(ctx, func(op string, attempt int, err error, delay time.Duration) {
		retries.Add(1)
		if prev != nil {
			prev(op, attempt, err, delay)
		}
	})
	ref, err := g.openWritable(ctx, arg)
	if err != nil {
		return ctx, nil, err
	}
	paced := wrapBackupBackend(ref.Backend, g.logger())
	be := sub.New(paced, ref.Path)
	r := &backupRepo{ref: ref, paced: paced, retries: retries, where: arg}
	opts := repo.Options{CacheDir: g.cacheRoot(), Logger: g.logger()}
	switch {
	case o.packSize > 0:
		opts.PackSize = o.packSize
	case ref.Remote == "":
		opts.PackSize = repo.DefaultLocalPackSize
	}
	exists := true
	if _, err := be.Stat(ctx, "config"); errors.Is(err, fs.ErrNotExist) {
		exists = false
	} else if err != nil {
		ref.Close()
		return ctx, nil, err
	}
	if !exists && !create {
		ref.Close()
		return ctx, nil, fmt.Errorf("%s: %w (a first \"ferry backup SRC %s\" creates it)", arg, repo.ErrNotFound, arg)
	}
	pw, err := g.backupPassword(ctx, o, !exists)
	if err != nil {
		ref.Close()
		return ctx, nil, err
	}
	if exists {
		r.Repository, err = repo.Open(ctx, be, pw, opts)
	} else {
		r.Repository, err = repo.Init(ctx, be, pw, opts)
		r.created = true
		if errors.Is(err, repo.ErrExists) { // another backup created it just now
			r.Repository, err = repo.Open(ctx, be, pw, opts)
			r.created = false
		}
	}
	clear(pw)
	if err != nil {
		ref.Close()
		return ctx, nil, fmt.Errorf("%s: %w", arg, err)
	}
	return ctx, r, nil
}

// wrapBackupBackend wraps a remote's backend in the cloud manners every
// backup command keeps: a token bucket, an AIMD window of requests in
// flight, retries with backoff and jitter, and a stop at the first fatal
// error. A command opens one repository, so this happens once per process
// and account.
func wrapBackupBackend(b backend.Backend, log *slog.Logger) *pace.Backend {
	return pace.Wrap(b, pace.Options{Logger: log})
}

// Backup exit codes besides exitOK, exitUsage and ferry's classes: restic's
// 3 for a snapshot written without some unreadable source files.
const exitPartial = 3

// codedError carries the exit code a backup command decided on.
type codedError struct {
	code int
	err  error
}

func (e codedError) Error() string { return e.err.Error() }
func (e codedError) Unwrap() error { return e.err }

// errPartial marks a backup that left unreadable files out.
var errPartial = errors.New("some source files could not be read and are not in the snapshot")

// backupExit gives a backup command's error its exit code: usage errors
// and errors of no class 1, left-out files 3, a wrong password and other
// fatal errors (blocked account, login failure) ferry's fatal 7, errors
// more retries might fix 5.
func backupExit(err error) error {
	var ue usageError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ue), errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, errPartial):
		return codedError{exitPartial, err}
	case errors.Is(err, repo.ErrWrongPassword), backend.IsFatal(err):
		return codedError{exitFatal, err}
	case retry.IsRetryable(err):
		return codedError{exitRetryable, err}
	}
	return codedError{exitUsage, err}
}

// backupGCPercent is the GC target of the backup commands. Their heap is
// mostly chunks and pack ranges in flight, garbage once stored or written,
// so a low target costs little time and bounds the peak RSS: on the 1 GiB
// set of bench/backup.sh, backup 104 MB at 50 against 131 at 100, verify
// 111 against 207 at the one-shot commands' 200, restore 113 against 161,
// each within 2% of the time.
const backupGCPercent = 50

// setBackupGC sets backupGCPercent unless $GOGC is set.
func setBackupGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(backupGCPercent)
	}
}

// snapshotSelector picks one snapshot: --snapshot ID (a unique prefix of
// the hex ID, or "latest"), else --time T (the latest at or before T),
// else the latest.
type snapshotSelector struct {
	id   string
	time string
}

// addSnapshotFlags binds --snapshot and --time.
func addSnapshotFlags(fs *pflag.FlagSet, s *snapshotSelector) {
	fs.StringVar(&s.id, "snapshot", "", `the snapshot's ID (a unique prefix, as "backup snapshots" shows it) or "latest"`)
	fs.StringVar(&s.time, "time", "", `the latest snapshot at or before this time (RFC 3339, "2006-01-02", "2006-01-02 15:04" in local time, or "3D", "1h" ago)`)
}

// load lists r's snapshots and returns the selected one.
func (s snapshotSelector) load(ctx context.Context, r *backupRepo) (*repo.Snapshot, error) {
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	return s.pick(snaps)
}

// pick returns the selected snapshot of snaps (sorted oldest first).
func (s snapshotSelector) pick(snaps []repo.Snapshot) (*repo.Snapshot, error) {
	if s.id != "" && s.time != "" {
		return nil, usagef("--snapshot and --time: give one of them")
	}
	if len(snaps) == 0 {
		return nil, errors.New("the repository has no snapshot")
	}
	switch {
	case s.id != "" && s.id != "latest":
		prefix := strings.ToLower(s.id)
		if _, err := hex.DecodeString(prefix + strings.Repeat("0", len(prefix)%2)); err != nil || len(prefix) > 64 {
			return nil, usagef("--snapshot %q: not a snapshot ID (hex digits)", s.id)
		}
		var found *repo.Snapshot
		for i := range snaps {
			if strings.HasPrefix(snaps[i].ID.String(), prefix) {
				if found != nil {
					return nil, usagef("--snapshot %q: more than one snapshot has this prefix (%s, %s)", s.id, found.ID.Short(), snaps[i].ID.Short())
				}
				found = &snaps[i]
			}
		}
		if found == nil {
			return nil, fmt.Errorf("--snapshot %q: no such snapshot", s.id)
		}
		return found, nil
	case s.time != "":
		t, err := parseSnapshotTime(s.time)
		if err != nil {
			return nil, err
		}
		for i := len(snaps) - 1; i >= 0; i-- {
			if !snaps[i].Time.After(t) {
				return &snaps[i], nil
			}
		}
		return nil, fmt.Errorf("--time %q: no snapshot is that old (the first is from %s)", s.time, snaps[0].Time.Local().Format(time.DateTime))
	}
	return &snaps[len(snaps)-1], nil
}

// parseSnapshotTime reads --time: RFC 3339, a date and optional time in
// local time, or a duplicity interval before now ("3D", "1h30m"); see
// backup.TimeFormats.
func parseSnapshotTime(s string) (time.Time, error) {
	t, err := backup.ParseTime(s, time.Now(), time.Local)
	if err != nil {
		return time.Time{}, usagef("--time: %v", err)
	}
	return t, nil
}
