package megaapi

import (
	"errors"
	"fmt"
	"testing"

	"ferry/internal/retry"
)

func TestErrorMessagesAndMatching(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
		is   ErrorCode
	}{
		{"per command", &Error{Code: ENOENT, Cmd: "us"}, "mega api us: ENOENT (not found) (-9)", ENOENT},
		{"whole request", &Error{Code: EAGAIN}, "mega api: EAGAIN (try again) (-3)", EAGAIN},
		{"bare code", EBLOCKED, "mega api: EBLOCKED (account blocked) (-16)", EBLOCKED},
		{"unknown code", &Error{Code: -99, Cmd: "x"}, "mega api x: error -99 (-99)", -99},
		{"wrapped", fmt.Errorf("login: %w", &Error{Code: ESID, Cmd: "f"}), "login: mega api f: ESID (invalid or expired session) (-15)", ESID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
			if !errors.Is(tc.err, tc.is) {
				t.Errorf("errors.Is(%v, %v) = false", tc.err, tc.is)
			}
			if errors.Is(tc.err, EARGS) {
				t.Errorf("errors.Is(%v, EARGS) = true", tc.err)
			}
			if got := CodeOf(tc.err); got != tc.is {
				t.Errorf("CodeOf = %v, want %v", got, tc.is)
			}
			// %v must not recurse through ErrorCode.Error.
			_ = fmt.Sprintf("%v %+v %s", tc.err, tc.err, tc.err)
		})
	}
	if CodeOf(errors.New("plain")) != OK {
		t.Error("CodeOf(plain error) != OK")
	}
}

// TestRetryable: the temporary codes classify themselves, bare or wrapped,
// as internal/retry sees them.
func TestRetryable(t *testing.T) {
	for code, want := range map[ErrorCode]bool{
		EAGAIN: true, ERATELIMIT: true, ETEMPUNAVAIL: true, ETOOMANYCONNECTIONS: true,
		ENOENT: false, ESID: false, EINTERNAL: false, EBLOCKED: false, EOVERQUOTA: false,
	} {
		for _, err := range []error{code, &Error{Code: code, Cmd: "f"}, fmt.Errorf("x: %w", &Error{Code: code})} {
			if got := retry.IsRetryable(err); got != want {
				t.Errorf("IsRetryable(%v) = %v, want %v", err, got, want)
			}
		}
	}
}
