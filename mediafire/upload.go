package mediafire

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"ferry/internal/retry"
	"ferry/mediafire/mfapi"
)

// UploadOptions adjust Upload.
type UploadOptions struct {
	// Hash is the content's SHA-256 in lower-case hex when the caller
	// already has it; "" makes Upload read the source once to compute it.
	Hash string
	// ModTime, if set, is sent as the file's mtime.
	ModTime time.Time
	// Keep stores the file beside an existing one of the same name
	// (action_on_duplicate=keep, which renames the new one) instead of
	// replacing it.
	Keep bool
	// SkipCheck sends a file of at most mfapi.SimpleLimit bytes without
	// asking upload/check first, saving a call where instant upload
	// rarely pays (small files). An attempt after a failure still checks
	// first, so a repeat never duplicates what already arrived.
	SkipCheck bool
	// Units, if set, are the units' hashes (see UnitHasher), used by a
	// resumable upload whose server unit size is Units.UnitSize instead
	// of reading each unit once more to hash it before it is sent.
	Units *UnitHashes
}

// maxUploadAttempts bounds the attempts of one Upload (each call within
// an attempt retries by itself).
const maxUploadAttempts = 5

// errRestart is the poll's status 17: the service asks for the upload to
// be made again.
var errRestart error = restartError{}

type restartError struct{}

func (restartError) Error() string {
	return "mediafire upload/poll_upload: status 17 (upload in progress): starting the upload over"
}
func (restartError) Retryable() bool { return true }

// Upload stores size bytes of src as file name in folder ("" is the root)
// and returns the new file's record, checked against the content's size
// and hash. It replaces a file of that name unless o.Keep is set.
//
// It asks upload/check first: content the service already has is added
// without sending a byte (upload/instant); a file of at most
// mfapi.SimpleLimit bytes goes in one upload/simple; a larger one in
// units of the server's unit size (upload/resumable), sending only the
// units the server's bitmap lacks, so an upload cut off halfway resumes
// where it stopped. It then polls with a deadline until the file exists.
// Retryable failures (a lost connection, a hash mismatch the server
// found, poll status 17) start the next attempt at upload/check again.
// src is read at most twice per attempt (the whole-file hash, unless
// o.Hash is given, and each unit's hash before the unit is sent, unless
// o.Units has it).
func (c *Client) Upload(ctx context.Context, folder, name string, src io.ReaderAt, size int64, o UploadOptions) (*mfapi.FileInfo, error) {
	if size < 0 {
		return nil, fmt.Errorf("mediafire: upload %q: negative size", name)
	}
	sum := strings.ToLower(o.Hash)
	if sum == "" {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(src, 0, size)); err != nil {
			return nil, fmt.Errorf("mediafire: upload %q: read the source: %w", name, err)
		}
		sum = hex.EncodeToString(h.Sum(nil))
	}
	if !headerSafe(name) {
		return c.uploadRenamed(ctx, folder, name, src, size, sum, o)
	}
	u := &upload{c: c, folder: folderKey(folder), name: name, src: src, size: size, hash: sum, o: o}
	var fi *mfapi.FileInfo
	first := true
	// Each call inside retries on its own; the whole upload starts over
	// at most maxUploadAttempts times.
	pol := c.policy("upload")
	if pol.MaxAttempts == 0 || pol.MaxAttempts > maxUploadAttempts {
		pol.MaxAttempts = maxUploadAttempts
	}
	err := retry.Do(ctx, pol, func(ctx context.Context) error {
		var err error
		fi, err = u.attempt(ctx, first && o.SkipCheck && size <= mfapi.SimpleLimit)
		first = false
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mediafire: upload %q: %w", name, err)
	}
	return fi, nil
}

// headerSafe reports whether name survives as an X-Filename header value:
// HTTP trims a value's leading and trailing blanks and forbids control
// characters.
func headerSafe(name string) bool {
	if name == "" || name != strings.Trim(name, " \t") {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] == 0x7f {
			return false
		}
	}
	return true
}

// uploadRenamed uploads a file whose name no header can carry under a
// temporary name, renames it (file/update carries any name in its form
// body) and then, unless o.Keep, removes the files it replaces.
func (c *Client) uploadRenamed(ctx context.Context, folder, name string, src io.ReaderAt, size int64, sum string, o UploadOptions) (*mfapi.FileInfo, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	tmp := "ferry-upload-" + hex.EncodeToString(rnd[:]) + ".tmp"
	to := o
	to.Hash, to.Keep = sum, false
	fi, err := c.Upload(ctx, folder, tmp, src, size, to)
	if err != nil {
		return nil, err
	}
	if err := c.UpdateFile(ctx, fi.QuickKey, FileUpdate{Name: name}); err != nil {
		_ = c.DeleteFile(context.WithoutCancel(ctx), fi.QuickKey, true)
		return nil, fmt.Errorf("mediafire: upload %q: rename the upload from %s: %w", name, tmp, err)
	}
	fi.Filename = name
	if o.Keep {
		return fi, nil
	}
	files, err := c.Files(ctx, folder)
	if err != nil {
		return nil, fmt.Errorf("mediafire: upload %q: find the replaced file: %w", name, err)
	}
	for _, f := range files {
		if f.Filename == name && f.QuickKey != fi.QuickKey {
			if err := c.DeleteFile(ctx, f.QuickKey, false); err != nil && !gone(err) {
				return nil, fmt.Errorf("mediafire: upload %q: remove the replaced file: %w", name, err)
			}
		}
	}
	return fi, nil
}

// upload is one file's upload across attempts.
type upload struct {
	c      *Client
	folder string
	name   string
	src    io.ReaderAt
	size   int64
	hash   string
	o      UploadOptions
}

func (u *upload) duplicateAction() string {
	if u.o.Keep {
		return "keep"
	}
	return "replace"
}

// check calls upload/check.
func (u *upload) check(ctx context.Context) (*mfapi.UploadCheck, error) {
	var v mfapi.UploadCheck
	p := url.Values{
		"filename":   {u.name},
		"hash":       {u.hash},
		"size":       {itoa(u.size)},
		"folder_key": {u.folder},
		"resumable":  {mfapi.YesNo(u.size > mfapi.SimpleLimit)},
	}
	if err := u.c.call(ctx, "upload/check", p, &v); err != nil {
		return nil, err
	}
	if v.StorageLimitExceeded {
		return nil, &mfapi.Error{Code: mfapi.ErrStorageLimit, Method: "upload/check"}
	}
	return &v, nil
}

// attempt is one pass of check, transfer, poll and confirmation;
// noCheck skips the check (a simple upload only).
func (u *upload) attempt(ctx context.Context, noCheck bool) (*mfapi.FileInfo, error) {
	ch := &mfapi.UploadCheck{}
	var err error
	if !noCheck {
		if ch, err = u.check(ctx); err != nil {
			return nil, err
		}
	}
	if !u.o.Keep && bool(ch.FileExists) && !bool(ch.DifferentHash) && ch.DuplicateQuickKey != "" {
		// The same name and content are there already.
		return u.confirm(ctx, ch.DuplicateQuickKey)
	}
	if ch.HashExists {
		return u.instant(ctx)
	}
	var key string
	if u.size <= mfapi.SimpleLimit {
		key, err = u.simple(ctx, ch)
	} else {
		var qk string
		key, qk, err = u.resumable(ctx, ch)
		if err == nil && qk != "" {
			return u.confirm(ctx, qk)
		}
	}
	if err != nil {
		return nil, err
	}
	d, err := u.c.poll(ctx, key)
	if err != nil {
		return nil, err
	}
	if d.Hash == "" {
		return u.confirm(ctx, d.QuickKey) // the poll did not say what it stored
	}
	fi := &mfapi.FileInfo{QuickKey: d.QuickKey, Filename: d.Filename, Hash: d.Hash, Size: d.Size,
		Created: d.Created, Revision: d.Revision, ParentFolderKey: u.folder}
	if fi.Filename == "" {
		fi.Filename = u.name
	}
	return fi, u.matches(fi)
}

// matches checks that fi holds the uploaded size and hash.
func (u *upload) matches(fi *mfapi.FileInfo) error {
	if int64(fi.Size) != u.size || !strings.EqualFold(fi.Hash, u.hash) {
		return retry.Transient(fmt.Errorf("mediafire: uploaded file %s has size %d and hash %.16s…, want %d and %.16s…",
			fi.QuickKey, fi.Size, fi.Hash, u.size, u.hash))
	}
	return nil
}

// instant adds content the service already holds.
func (u *upload) instant(ctx context.Context) (*mfapi.FileInfo, error) {
	p := url.Values{
		"filename":            {u.name},
		"hash":                {u.hash},
		"size":                {itoa(u.size)},
		"folder_key":          {u.folder},
		"action_on_duplicate": {u.duplicateAction()},
	}
	if !u.o.ModTime.IsZero() {
		p.Set("mtime", u.o.ModTime.UTC().Format(mfapi.TimeFormat))
	}
	var v mfapi.InstantReply
	if err := u.c.call(ctx, "upload/instant", p, &v); err != nil {
		return nil, err
	}
	if v.QuickKey == "" {
		return nil, errors.New("mediafire upload/instant: reply has no quickkey")
	}
	return u.confirm(ctx, v.QuickKey)
}

// confirm checks that file qk holds the uploaded size and hash.
func (u *upload) confirm(ctx context.Context, qk string) (*mfapi.FileInfo, error) {
	fi, err := u.c.FileInfo(ctx, qk)
	if err != nil {
		return nil, err
	}
	return fi, u.matches(fi)
}

// query is the URL query of an upload request (action token, unsigned).
func (u *upload) query(tok secret) string {
	v := url.Values{
		"session_token":       {string(tok)},
		"response_format":     {"json"},
		"folder_key":          {u.folder},
		"action_on_duplicate": {u.duplicateAction()},
	}
	if !u.o.ModTime.IsZero() {
		v.Set("mtime", u.o.ModTime.UTC().Format(mfapi.TimeFormat))
	}
	return v.Encode()
}

// header is the header set of an upload request.
func (u *upload) header() http.Header {
	h := http.Header{}
	h.Set("X-Filename", u.name)
	h.Set("X-Filesize", itoa(u.size))
	h.Set("X-Filehash", u.hash)
	return h
}

// send posts one upload request and returns its reply.
func (u *upload) send(ctx context.Context, method, target string, body io.Reader, n int64, h http.Header) (*mfapi.UploadReply, error) {
	tok, err := u.c.actionToken(ctx)
	if err != nil {
		return nil, err
	}
	base, uri := u.c.base, u.c.prefix+method+".php"
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		base, uri = target, ""
	}
	r, err := u.c.post(ctx, method, base, uri, u.query(tok), body, n, h)
	if err != nil {
		return nil, err
	}
	if err := r.Err(method, r.status); err != nil {
		if mfapi.CodeOf(err).Resync() {
			u.c.dropActionToken(tok)
		}
		return nil, err
	}
	var v mfapi.UploadReply
	if err := r.Decode(&v); err != nil {
		return nil, &TransportError{Method: method, Status: r.status, Err: err}
	}
	if v.DoUpload.Result != 0 {
		if mfapi.UploadResult(v.DoUpload.Result) == mfapi.UploadSessionInvalid {
			u.c.dropActionToken(tok)
		}
		return nil, &mfapi.UploadError{Method: method, Result: mfapi.UploadResult(v.DoUpload.Result)}
	}
	if v.DoUpload.Key == "" {
		return nil, &TransportError{Method: method, Status: r.status, Err: errors.New("reply has no doupload.key")}
	}
	return &v, nil
}

// simple sends the whole file in one request and returns the upload key.
func (u *upload) simple(ctx context.Context, ch *mfapi.UploadCheck) (string, error) {
	var target string
	if ch.UploadURL != nil {
		target = ch.UploadURL.Simple
	}
	h := u.header()
	h.Set("Content-Type", "application/octet-stream")
	v, err := u.send(ctx, "upload/simple", target, io.NewSectionReader(u.src, 0, u.size), u.size, h)
	if err != nil {
		return "", err
	}
	return v.DoUpload.Key, nil
}

// maxRounds bounds the check-and-send rounds of one resumable attempt.
const maxRounds = 3

// resumable sends the units the server lacks and returns the upload key
// to poll, or, when the file turns out to be complete already, its
// quickkey.
func (u *upload) resumable(ctx context.Context, ch *mfapi.UploadCheck) (key, quickKey string, err error) {
	for round := 0; ; round++ {
		ru := ch.ResumableUpload
		if ru == nil {
			return "", "", errors.New("mediafire upload/check: no resumable_upload record for a resumable upload")
		}
		unit := int64(ru.UnitSize)
		if unit <= 0 || int64(mfapi.Units(u.size, unit)) != int64(ru.NumberOfUnits) {
			return "", "", retry.Permanent(fmt.Errorf("mediafire upload/check: %d units of %d bytes cannot hold %d bytes", ru.NumberOfUnits, ru.UnitSize, u.size))
		}
		if key == "" {
			key = ru.UploadKey
		}
		if ru.AllUnitsReady {
			if key == "" {
				return "", "", retry.Transient(errors.New("mediafire upload/check: all units ready but no upload key to poll"))
			}
			return key, "", nil
		}
		if round == maxRounds {
			return "", "", retry.Transient(fmt.Errorf("mediafire upload/resumable: units still missing after %d rounds", maxRounds))
		}
		var missing []int
		for i := range int(ru.NumberOfUnits) {
			if !ru.Bitmap.HasUnit(i) {
				missing = append(missing, i)
			}
		}
		var target string
		if ch.UploadURL != nil {
			target = ch.UploadURL.Resumable
		}
		k, err := u.sendUnits(ctx, target, unit, missing)
		if err != nil {
			return "", "", err
		}
		if k != "" {
			key = k
		}
		if ch, err = u.check(ctx); err != nil {
			return "", "", err
		}
		if !u.o.Keep && bool(ch.FileExists) && !bool(ch.DifferentHash) && ch.DuplicateQuickKey != "" && key == "" {
			return "", ch.DuplicateQuickKey, nil
		}
	}
}

// sendUnits sends the given units, UploadConcurrency at a time, and
// returns the upload key of their replies.
func (u *upload) sendUnits(ctx context.Context, target string, unit int64, units []int) (string, error) {
	workers := u.c.opts.UploadConcurrency
	if workers <= 0 {
		workers = 2
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex // guards key and firstErr
		key      string
		firstErr error
		wg       sync.WaitGroup
	)
	next := make(chan int)
	for range min(workers, len(units)) {
		wg.Go(func() {
			for id := range next {
				k, err := u.sendUnit(ctx, target, unit, id)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				if k != "" && key == "" {
					key = k
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, id := range units {
		select {
		case next <- id:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return key, firstErr
}

// sendUnit hashes unit id and sends it.
func (u *upload) sendUnit(ctx context.Context, target string, unit int64, id int) (string, error) {
	off := int64(id) * unit
	n := min(unit, u.size-off)
	sum, ok := u.o.Units.sum(unit, id)
	if !ok {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(u.src, off, n)); err != nil {
			return "", retry.Permanent(fmt.Errorf("read unit %d: %w", id, err))
		}
		sum = hex.EncodeToString(h.Sum(nil))
	}
	hd := u.header()
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("X-Unit-Id", strconv.Itoa(id))
	hd.Set("X-Unit-Hash", sum)
	hd.Set("X-Unit-Size", itoa(n))
	body, done := unitBody(u.src, off, n)
	defer done()
	v, err := u.send(ctx, "upload/resumable", target, body, n, hd)
	if err != nil {
		return "", fmt.Errorf("unit %d: %w", id, err)
	}
	return v.DoUpload.Key, nil
}

// unitBody returns a reader of the n bytes of src at off, for a unit
// request, and the function that releases it. When src is a regular
// *os.File (or an io.SectionReader of one) it opens the file once more (an open file of its own, with its
// own offset, so units go out in parallel) and returns it standing at
// off: net/http then sends the unit with sendfile(2), without copying the
// bytes through user space. Otherwise, and when the file cannot be opened
// again, it is a SectionReader of src.
func unitBody(src io.ReaderAt, off, n int64) (io.Reader, func()) {
	if sr, ok := src.(*io.SectionReader); ok {
		// A section of a file (how ferry's mount and backup hand over
		// theirs): the file, at the section's offset.
		if outer, base, _ := sr.Outer(); outer != nil {
			if _, isFile := outer.(*os.File); isFile {
				src, off = outer, base+off
			}
		}
	}
	if f, ok := src.(*os.File); ok {
		if g, err := reopen(f); err == nil {
			if _, err := g.Seek(off, io.SeekStart); err == nil {
				s := &fileSection{f: g, end: off + n}
				return s, func() { g.Close() }
			}
			g.Close()
		}
	}
	return io.NewSectionReader(src, off, n), func() {}
}

// fileSection is the bytes of an open file from its offset to end. Read
// stops at end, wherever the bytes before it went; SyscallConn lets
// net's sendfile send the file from its offset as far as the request's
// Content-Length (net/http limits the body to it), after which Read finds
// the offset at end and reports io.EOF. Close closes the file.
type fileSection struct {
	f   *os.File
	end int64
}

func (s *fileSection) Read(p []byte) (int, error) {
	pos, err := s.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	if pos >= s.end {
		return 0, io.EOF
	}
	if int64(len(p)) > s.end-pos {
		p = p[:s.end-pos]
	}
	return s.f.Read(p)
}

func (s *fileSection) SyscallConn() (syscall.RawConn, error) { return s.f.SyscallConn() }

func (s *fileSection) Close() error { return s.f.Close() }

// reopen opens f's file again, read-only, by its /proc/self/fd entry
// (Linux; elsewhere, or without /proc, it fails), and checks that it is
// the same regular file.
func reopen(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var fd uintptr
	if err := rc.Control(func(d uintptr) { fd = d }); err != nil {
		return nil, err
	}
	g, err := os.Open("/proc/self/fd/" + strconv.FormatUint(uint64(fd), 10))
	if err != nil {
		return nil, err
	}
	fi, err1 := f.Stat()
	gi, err2 := g.Stat()
	if err1 != nil || err2 != nil || !gi.Mode().IsRegular() || !os.SameFile(fi, gi) {
		g.Close()
		return nil, errors.New("not the same regular file")
	}
	return g, nil
}

// poll waits for upload key to become a file and returns the final
// doupload record, which has the quickkey.
func (c *Client) poll(ctx context.Context, key string) (*mfapi.DoUpload, error) {
	deadline := c.opts.PollDeadline
	if deadline <= 0 {
		deadline = DefaultPollDeadline
	}
	wait := c.opts.PollInterval
	if wait <= 0 {
		wait = 250 * time.Millisecond
	}
	ctx, cancel := context.WithTimeoutCause(ctx, deadline, errPollDeadline)
	defer cancel()
	for {
		var v mfapi.PollReply
		if err := c.call(ctx, "upload/poll_upload", url.Values{"key": {key}}, &v); err != nil {
			if errors.Is(context.Cause(ctx), errPollDeadline) {
				return nil, errPollDeadline
			}
			return nil, err
		}
		d := v.DoUpload
		switch {
		case d.Result != 0:
			return nil, &mfapi.UploadError{Method: "upload/poll_upload", Result: mfapi.UploadResult(d.Result)}
		case d.FileError != 0:
			return nil, &mfapi.UploadError{Method: "upload/poll_upload", FileError: int(d.FileError)}
		case d.Status == mfapi.PollDone || d.Status == mfapi.PollDone98:
			if d.QuickKey == "" {
				return nil, retry.Transient(errors.New("mediafire upload/poll_upload: finished without a quickkey"))
			}
			return &d, nil
		case d.Status == mfapi.PollInProgress17:
			return nil, errRestart
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			if errors.Is(context.Cause(ctx), errPollDeadline) {
				return nil, errPollDeadline
			}
			return nil, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// errPollDeadline ends a poll that took longer than Options.PollDeadline.
var errPollDeadline error = pollDeadlineError{}

type pollDeadlineError struct{}

func (pollDeadlineError) Error() string {
	return "mediafire upload/poll_upload: the upload was not processed before the poll deadline"
}
func (pollDeadlineError) Retryable() bool { return true }

// actionTokenLife is how long a cached upload action token is used; the
// token is asked for with a lifespan of a day.
const actionTokenLife = 12 * time.Hour

// actionToken returns the cached upload action token or gets a new one.
func (c *Client) actionToken(ctx context.Context) (secret, error) {
	c.actMu.Lock()
	defer c.actMu.Unlock()
	if c.act.token != "" && time.Now().Before(c.act.expires) {
		return c.act.token, nil
	}
	var v mfapi.ActionToken
	if err := c.call(ctx, "user/get_action_token", url.Values{"type": {"upload"}, "lifespan": {"1440"}}, &v); err != nil {
		return "", err
	}
	if v.ActionToken == "" {
		return "", errors.New("mediafire user/get_action_token: reply has no action_token")
	}
	c.act = actionToken{token: secret(v.ActionToken), expires: time.Now().Add(actionTokenLife)}
	return c.act.token, nil
}

// dropActionToken forgets tok if it is the cached one (the server refused
// it).
func (c *Client) dropActionToken(tok secret) {
	c.actMu.Lock()
	if c.act.token == tok {
		c.act = actionToken{}
	}
	c.actMu.Unlock()
}
