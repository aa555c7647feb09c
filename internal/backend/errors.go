package backend

import "errors"

// Fataler is implemented by errors that retries will not fix and that a
// user must act on: a blocked account or a wrong password, content that
// fails verification (MEGA's MAC). Protocol packages implement it on their
// own errors, so engines and the CLI classify them (exit code 7) without
// naming any service. Retryability is the same kind of self-description:
// errors implement interface{ Retryable() bool } for internal/retry.
type Fataler interface {
	Fatal() bool
}

// IsFatal reports whether an error in err's chain says it is fatal.
func IsFatal(err error) bool {
	var f Fataler
	return errors.As(err, &f) && f.Fatal()
}
