package megaapi

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrorCode is a MEGA API error code: a negative integer sent either as a
// per-command result or as a whole-request body.
type ErrorCode int

// MEGA error codes (mega-protocol.md §1.4).
const (
	OK                  ErrorCode = 0
	EINTERNAL           ErrorCode = -1
	EARGS               ErrorCode = -2
	EAGAIN              ErrorCode = -3
	ERATELIMIT          ErrorCode = -4
	EFAILED             ErrorCode = -5
	ETOOMANY            ErrorCode = -6
	ERANGE              ErrorCode = -7
	EEXPIRED            ErrorCode = -8
	ENOENT              ErrorCode = -9
	ECIRCULAR           ErrorCode = -10
	EACCESS             ErrorCode = -11
	EEXIST              ErrorCode = -12
	EINCOMPLETE         ErrorCode = -13
	EKEY                ErrorCode = -14
	ESID                ErrorCode = -15
	EBLOCKED            ErrorCode = -16
	EOVERQUOTA          ErrorCode = -17
	ETEMPUNAVAIL        ErrorCode = -18
	ETOOMANYCONNECTIONS ErrorCode = -19
	EGOINGOVERQUOTA     ErrorCode = -24
	EMFAREQUIRED        ErrorCode = -26
)

var codeNames = map[ErrorCode]string{
	OK:                  "OK",
	EINTERNAL:           "EINTERNAL (internal error)",
	EARGS:               "EARGS (invalid arguments)",
	EAGAIN:              "EAGAIN (try again)",
	ERATELIMIT:          "ERATELIMIT (rate limit exceeded)",
	EFAILED:             "EFAILED (upload failed)",
	ETOOMANY:            "ETOOMANY (too many)",
	ERANGE:              "ERANGE (out of range)",
	EEXPIRED:            "EEXPIRED (expired)",
	ENOENT:              "ENOENT (not found)",
	ECIRCULAR:           "ECIRCULAR (circular linkage)",
	EACCESS:             "EACCESS (access denied)",
	EEXIST:              "EEXIST (already exists)",
	EINCOMPLETE:         "EINCOMPLETE (incomplete)",
	EKEY:                "EKEY (cryptographic error)",
	ESID:                "ESID (invalid or expired session)",
	EBLOCKED:            "EBLOCKED (account blocked)",
	EOVERQUOTA:          "EOVERQUOTA (over quota)",
	ETEMPUNAVAIL:        "ETEMPUNAVAIL (temporarily unavailable)",
	ETOOMANYCONNECTIONS: "ETOOMANYCONNECTIONS (too many connections)",
	EGOINGOVERQUOTA:     "EGOINGOVERQUOTA (not enough quota)",
	EMFAREQUIRED:        "EMFAREQUIRED (two-factor PIN required)",
}

func (c ErrorCode) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return "error " + strconv.Itoa(int(c))
}

// Error is an API error, naming the command that got it when known.
type Error struct {
	Code ErrorCode
	Cmd  string // command name ("us", "p", ...) or "" for a whole-request error
}

func (e *Error) Error() string {
	if e.Cmd == "" {
		return fmt.Sprintf("mega api: %s (%d)", e.Code.String(), int(e.Code))
	}
	return fmt.Sprintf("mega api %s: %s (%d)", e.Cmd, e.Code.String(), int(e.Code))
}

// Is makes errors.Is(err, megaapi.ENOENT) work for any *Error with that code.
func (e *Error) Is(target error) bool {
	var c ErrorCode
	switch t := target.(type) {
	case ErrorCode:
		c = t
	case *Error:
		c = t.Code
	default:
		return false
	}
	return c == e.Code
}

// Error lets a bare ErrorCode be used as an error and as an errors.Is target.
func (c ErrorCode) Error() string { return (&Error{Code: c}).Error() }

// Retryable reports whether the code means "try again later": EAGAIN,
// ERATELIMIT, ETEMPUNAVAIL and ETOOMANYCONNECTIONS. internal/retry asks
// errors this, so it needs to know no MEGA code.
func (c ErrorCode) Retryable() bool {
	switch c {
	case EAGAIN, ERATELIMIT, ETEMPUNAVAIL, ETOOMANYCONNECTIONS:
		return true
	}
	return false
}

// Retryable reports whether the error's code is a temporary one.
func (e *Error) Retryable() bool { return e.Code.Retryable() }

// CodeOf returns the MEGA code carried by err, or OK if it carries none.
func CodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var c ErrorCode
	if errors.As(err, &c) {
		return c
	}
	return OK
}
