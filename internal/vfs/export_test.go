package vfs

import (
	"context"
	"errors"
)

// ErrCrash is the error of uploads after CrashBeforeUploads.
var ErrCrash = errors.New("simulated crash before the upload")

// CrashBeforeUploads makes every later upload of v stop after its journal
// record is written, as if the process died there.
func (v *VFS) CrashBeforeUploads() { v.crashBeforePut = func() error { return ErrCrash } }

// Abandon ends v as a killed process would: its goroutines stop and its
// locks go, and nothing in the cache dir is removed.
func (v *VFS) Abandon() {
	v.stop()
	v.wg.Wait()
	for _, u := range v.area.unlock {
		u()
	}
	v.area.unlock = nil
}

// WaitReplay waits until the journal replay New started has ended.
func (v *VFS) WaitReplay() { <-v.replayed }

// AfterCreate runs fn as soon as each later Create made its file visible
// in directory d, before Create returns.
func (v *VFS) AfterCreate(fn func(d *Node)) { v.afterCreate = fn }

// ListNow lists directory d from the backend and applies the listing, as
// the refresher does after an outside change.
func (v *VFS) ListNow(d *Node) error {
	_, err := v.list(context.Background(), d)
	return err
}
