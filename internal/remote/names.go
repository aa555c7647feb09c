package remote

import (
	"os"
	"path/filepath"
	"strings"

	"ferry/internal/backend"
)

// FlagName is the command-line flag that overrides option o of backend
// type typ: "--mega-hard-delete" for mega's hard_delete (without dashes).
func FlagName(typ string, o backend.Option) string {
	return typ + "-" + strings.ReplaceAll(o.Name, "_", "-")
}

// EnvName is the environment variable that overrides option o of backend
// type typ: FERRY_MEGA_HARD_DELETE for mega's hard_delete.
func EnvName(typ string, o backend.Option) string {
	return "FERRY_" + strings.ToUpper(typ+"_"+o.Name)
}

// DefaultCacheRoot is the directory holding each remote's cache directory:
// $XDG_CACHE_HOME/ferry, else ~/.cache/ferry; "" if neither is known.
func DefaultCacheRoot() string {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "ferry")
}
