// Package cli is ferry's command tree (cobra). Each command lives in its own
// file: a constructor binds flags to a per-command options struct and a
// runX(ctx, opts, args) function does the work, so commands can be tested
// in-process through Run. Errors become messages and exit codes in one place
// (errors.go); this package holds no protocol or storage logic.
package cli
