package backendtest

import (
	"slices"
	"testing"

	"ferry/internal/backend"
)

// Config describes the backend under test.
type Config struct {
	// New returns a backend rooted in a fresh, empty directory. It is
	// called once per check and owns the backend's cleanup (t.Cleanup).
	// Either New or NewTB must be set.
	New func(t *testing.T) backend.Backend

	// NewTB is New for any testing.TB. Bench needs it (a *testing.B is
	// not a *testing.T); Run uses it when New is nil.
	NewTB func(tb testing.TB) backend.Backend

	// Unsupported maps check names (see Names) to the reason the backend
	// cannot pass them; those checks are logged and skipped. Unknown names
	// fail the run, so a renamed check is noticed.
	Unsupported map[string]string

	// MaxLarge is the largest file size ChunkBoundarySizes stores;
	// 0 means DefaultMaxLarge.
	MaxLarge int64

	// Quick tests fewer sizes and ranges, for slow or fault-injected runs.
	Quick bool

	// MakeDuplicate creates another file at p, which already holds a file,
	// so that p names two objects. The content should differ in length
	// from the existing file. Only used when the backend implements
	// backend.DuplicateNamer; without it the Duplicates check is skipped.
	MakeDuplicate func(t *testing.T, b backend.Backend, p string)

	// Corrupt changes the stored content of file p behind the backend's
	// back (one byte, early in the file), for backends that verify whole
	// reads (MEGA's MAC). Without it the CorruptReads check is skipped.
	Corrupt func(t *testing.T, b backend.Backend, p string)
}

// DefaultMaxLarge is the default Config.MaxLarge: 6 MiB, past MEGA's
// eighth chunk start and one 1 MiB chunk beyond.
const DefaultMaxLarge = 6 << 20

// check is one named conformance check.
type check struct {
	name string
	run  func(t *testing.T, b backend.Backend, cfg *Config)
}

// checks lists the suite in run order. Names are stable: backends refer to
// them in Config.Unsupported and people in -run patterns.
var checks = []check{
	{"PutGetRoundTrip", testPutGetRoundTrip},
	{"ZeroLength", testZeroLength},
	{"ChunkBoundarySizes", testChunkBoundarySizes},
	{"RangedReads", testRangedReads},
	{"NotExist", testNotExist},
	{"MkdirIdempotent", testMkdirIdempotent},
	{"RmdirNonEmptyFails", testRmdirNonEmptyFails},
	{"RemoveDirFails", testRemoveDirFails},
	{"KindConflicts", testKindConflicts},
	{"Overwrite", testOverwrite},
	{"ModTimeRoundTrip", testModTimeRoundTrip},
	{"OddNames", testOddNames},
	{"PutInvalidUTF8Names", testPutInvalidUTF8Names},
	{"ListContents", testListContents},
	{"Walk", testWalk},
	{"Duplicates", testDuplicates},
	{"Move", testMove},
	{"Purge", testPurge},
	{"PublicLink", testPublicLink},
	{"About", testAbout},
	{"CleanUp", testCleanUp},
	{"SetModTime", testSetModTime},
	{"ConcurrentPuts", testConcurrentPuts},
	{"CancelPutLeavesNothing", testCancelPutLeavesNothing},
	{"CancelledContextNoMutation", testCancelledContextNoMutation},
	{"ShortReaderPutFails", testShortReaderPutFails},
	{"PutSourceEnd", testPutSourceEnd},
	{"CorruptReads", testCorruptReads},
	{"OpenEntry", testOpenEntry},
	{"ErrorsArePathErrors", testErrorsArePathErrors},
}

// Names returns the names of the suite's checks, in run order.
func Names() []string {
	names := make([]string, len(checks))
	for i, c := range checks {
		names[i] = c.name
	}
	return names
}

// Run runs every check as a sub-test of t, each on a backend from cfg.New.
func Run(t *testing.T, cfg Config) {
	t.Helper()
	if cfg.New == nil && cfg.NewTB == nil {
		t.Fatal("backendtest: Config.New is nil")
	}
	if cfg.MaxLarge <= 0 {
		cfg.MaxLarge = DefaultMaxLarge
	}
	names := Names()
	for name := range cfg.Unsupported {
		if !slices.Contains(names, name) {
			t.Errorf("backendtest: Config.Unsupported names unknown check %q (checks: %v)", name, names)
		}
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if reason, ok := cfg.Unsupported[c.name]; ok {
				t.Skipf("unsupported by this backend: %s", reason)
			}
			c.run(t, cfg.newBackend(t), &cfg)
		})
	}
}

// newBackend calls New or NewTB.
func (cfg *Config) newBackend(t *testing.T) backend.Backend {
	t.Helper()
	var b backend.Backend
	if cfg.New != nil {
		b = cfg.New(t)
	} else {
		b = cfg.NewTB(t)
	}
	if b == nil {
		t.Fatal("Config.New returned nil")
	}
	return b
}
