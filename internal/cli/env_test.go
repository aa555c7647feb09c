package cli

import "os"

// unsetenv removes a variable that t.Setenv registered (t.Setenv restores
// it at cleanup).
func unsetenv(k string) error { return os.Unsetenv(k) }
