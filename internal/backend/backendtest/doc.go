// Package backendtest is the conformance suite that defines what "a
// backend" means: every storage backend and every wrapper runs it.
//
// # Use
//
// A backend's test file calls Run with a factory that gives each check a
// backend rooted in a fresh, empty directory:
//
//	func TestConformance(t *testing.T) {
//		backendtest.Run(t, backendtest.Config{
//			New: func(t *testing.T) backend.Backend { return memory.New() },
//		})
//	}
//
// Each check is a sub-test with a stable name (see Names), so a single check
// runs alone with `go test -run TestConformance/OddNames`. Checks for the
// optional interfaces (backend.Mover, backend.Purger, ...) skip themselves
// when the backend does not implement them. A check a backend cannot pass
// by design goes in Config.Unsupported with a reason, which is logged.
//
// # What is checked
//
// Round trips of content, sizes and mtimes (within backend.Precision),
// sizes around MEGA's upload chunk boundaries, ranged reads including past
// the end, fs.ErrNotExist and fs.ErrExist where the contract promises them,
// directory semantics, odd names, every optional interface, concurrent
// puts, and that cancelled or failed puts leave no partial object and never
// disturb an existing one. Errors must be *backend.PathError values naming
// the operation and the path.
//
// # Owning the backend
//
// Config.New owns the backend it returns: it registers any cleanup (such as
// backend.Closer.Close) with t.Cleanup. The suite never closes backends.
//
// # Benchmarks
//
// Bench runs Put and Open throughput sub-benchmarks; it needs
// Config.NewTB because a *testing.B is not a *testing.T.
package backendtest
