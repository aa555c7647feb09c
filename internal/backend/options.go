package backend

import (
	"context"
	"log/slog"
	"net"
)

// Option declares one configuration option of a backend type, once, as
// data. The declaration drives the `ferry config` wizard, flags
// (--<type>-<name>), environment variables (FERRY_<TYPE>_<NAME>),
// validation, redaction and docs.
type Option struct {
	Name     string // "user", "pass", "hard_delete" (snake_case)
	Help     string // one line first; more lines for the wizard
	Default  string // "" when none
	Secret   bool   // stored obscured or encrypted, never printed or logged
	Advanced bool   // only asked with the wizard's advanced step
	Required bool
	Bool     bool // a true/false option
	// Generated marks a random secret that `ferry config` makes when it
	// creates or updates a remote without one (see config.FillGenerated);
	// the wizard never asks for it.
	Generated bool
	Examples  []string // suggested values for the wizard
}

// ConfigMap is a remote's configuration: option name to value, with
// secrets already revealed (plain text in memory only).
type ConfigMap map[string]string

// Env is what a backend constructor may use besides its configuration.
type Env struct {
	// CacheDir is a private directory for this remote's caches (MEGA keeps
	// its encrypted session and tree cache here). Empty disables caching.
	CacheDir string
	Logger   *slog.Logger // never nil
	// Verbose is the -v count, for backends with their own debug switches.
	Verbose int
	// Prompt asks the user a question (e.g. a two-factor PIN) when running
	// interactively; nil means no terminal, and the backend fails clearly.
	Prompt func(ctx context.Context, question string, secret bool) (string, error)
	// LowLevelRetries is the number of attempts of one request to a
	// service, an API call or a chunk (rclone's --low-level-retries); 0
	// means the client's default.
	LowLevelRetries int
	// Dial, if set, opens the network connections of a service's HTTP
	// client (the CLI's --contimeout and --timeout); nil means the
	// client's own.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Type describes a backend type for the registry (internal/remote).
type Type struct {
	Name        string // "local", "memory", "mega"
	Description string
	Options     []Option
	// New builds a backend rooted at root (a path within the storage, in
	// the contract's form) from a remote's configuration.
	New func(ctx context.Context, remote string, cfg ConfigMap, root string, env Env) (Backend, error)
	// Reconnect, if set, drops the remote's cached session and logs in
	// afresh (`ferry config reconnect`). MFA is asked through Env when
	// needed.
	Reconnect func(ctx context.Context, remote string, cfg ConfigMap, env Env) error
}
