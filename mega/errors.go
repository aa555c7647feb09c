package mega

import (
	"errors"
	"fmt"

	"ferry/mega/megaapi"
)

// Sentinel errors. Errors returned by Client wrap them (and the underlying
// *megaapi.Error where there is one), so test with errors.Is.
var (
	// ErrWrongPassword means the server rejected the e-mail and password
	// (`us` answered ENOENT). MEGA does not tell a wrong password from an
	// unknown account. It reports itself fatal (Fatal() bool).
	ErrWrongPassword error = fatalError("mega: wrong e-mail or password")
	// ErrBlocked means the account (or the login rate for it) is blocked
	// (EBLOCKED); logging in again right away will not help. It reports
	// itself fatal (Fatal() bool).
	ErrBlocked error = fatalError("mega: account blocked or too many logins; try again later or check the account in a browser")
	// ErrOverQuota means the account has no room for what was asked
	// (EOVERQUOTA, EGOINGOVERQUOTA): retrying will not help until space is
	// freed or bought. It reports itself fatal (Fatal() bool).
	ErrOverQuota error = fatalError("mega: over storage quota; free space (ferry cleanup empties the rubbish bin) or upgrade the account")
	// ErrMFARequired means the account has two-factor authentication and
	// no PIN source was given in LoginOptions.
	ErrMFARequired = errors.New("mega: two-factor authentication PIN required")
	// ErrSessionExpired means the session id is no longer valid (ESID):
	// log in again.
	ErrSessionExpired = errors.New("mega: session expired or logged out; log in again")
	// ErrNotLoggedIn is returned by calls that need a session before Login
	// or Resume succeeded.
	ErrNotLoggedIn = errors.New("mega: not logged in")
	// ErrNoTree is returned by tree lookups before FetchTree or ImportTree.
	ErrNoTree = errors.New("mega: tree not loaded (call FetchTree)")
	// ErrUploadLost means the server dropped an upload slot (it restarted,
	// or the URL expired) and the source reader cannot be rewound to start
	// again. It is retryable (retry.IsRetryable): a caller that can open
	// its source again, like the transfer engine, starts the upload over.
	ErrUploadLost error = uploadLostError{}
	// ErrNodeKey marks nodes whose key or attributes could not be
	// decrypted (see Node.Err) and operations that need that key.
	ErrNodeKey = errors.New("mega: node key or attributes cannot be decrypted")
)

// apiError wraps a MEGA error code returned by command cmd, mapping the
// codes callers branch on to the sentinels above.
func apiError(cmd string, code megaapi.ErrorCode) error {
	e := &megaapi.Error{Code: code, Cmd: cmd}
	switch code {
	case megaapi.ESID:
		return fmt.Errorf("%w: %w", ErrSessionExpired, e)
	case megaapi.EBLOCKED:
		return fmt.Errorf("%w: %w", ErrBlocked, e)
	case megaapi.EOVERQUOTA, megaapi.EGOINGOVERQUOTA:
		return fmt.Errorf("%w: %w", ErrOverQuota, e)
	}
	return e
}

// uploadLostError is ErrUploadLost's type: a comparable value, so
// errors.Is matches it, that tells retry.IsRetryable to try again.
type uploadLostError struct{}

func (uploadLostError) Error() string {
	return "mega: upload slot lost (the server restarted or the upload expired) and this source cannot be rewound; open it again and retry"
}

// Retryable reports true: a fresh upload from a re-opened source works.
func (uploadLostError) Retryable() bool { return true }

// fatalError is the type of sentinels that retrying will not fix; callers
// above the storage contract see them through Fatal() bool (the CLI exits
// 7), without naming them.
type fatalError string

func (e fatalError) Error() string { return string(e) }

// Fatal reports true.
func (fatalError) Fatal() bool { return true }
