// Package secret provides the string type backends keep passwords and
// keys in, so that printing or logging a parsed configuration never
// shows them.
package secret

import "log/slog"

// String is a secret that never prints: fmt's %v, %s and %#v and slog
// all show "REDACTED". Convert it with string(s) where the value is
// needed.
type String string

// String returns "REDACTED".
func (String) String() string { return "REDACTED" }

// GoString is String, so %#v does not print the secret either.
func (s String) GoString() string { return s.String() }

// LogValue implements slog.LogValuer.
func (String) LogValue() slog.Value { return slog.StringValue("REDACTED") }
