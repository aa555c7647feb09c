package mount_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
	"ferry/internal/vfs"
)

// sqliteScript creates a table and fills it in transactions of 1,000
// single-row inserts, then updates, deletes (so VACUUM truncates the
// file) and an index: random writes, fsyncs, truncation, and a -journal
// created and deleted per transaction.
func sqliteScript(t *testing.T, rows int) string {
	var s strings.Builder
	s.WriteString("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER, pad BLOB);\n")
	for i := range rows {
		if i%1000 == 0 {
			s.WriteString("BEGIN;\n")
		}
		fmt.Fprintf(&s, "INSERT INTO t(name, n, pad) VALUES('row %d', %d, randomblob(%d));\n", i, i, 50+i%200)
		if i%1000 == 999 || i == rows-1 {
			s.WriteString("COMMIT;\n")
		}
	}
	s.WriteString("BEGIN; UPDATE t SET n = n * 2 WHERE id % 3 = 0; UPDATE t SET name = 'updated ' || id WHERE id % 100 = 0; COMMIT;\n")
	s.WriteString("DELETE FROM t WHERE id > " + fmt.Sprint(rows*3/4) + ";\n")
	s.WriteString("VACUUM;\nCREATE INDEX t_n ON t(n);\n")
	p := filepath.Join(t.TempDir(), "fill.sql")
	if err := os.WriteFile(p, []byte(s.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// testSQLite: a database created and updated through the mount by
// Debian's sqlite3 passes PRAGMA integrity_check on a fresh VFS and
// mount, and holds what was written; no -journal is left.
func testSQLite(t *testing.T, b backend.Backend, again func() backend.Backend, writeBack time.Duration) {
	skipWithout(t, "sqlite3")
	const rows = 3000
	script := sqliteScript(t, rows)
	cache := t.TempDir()
	m := mountOpts(t, b, vfs.Options{CacheDir: cache, WriteBack: writeBack})
	m.mustSh(t, "mkdir db && sqlite3 -bail db/test.db < '"+script+"'")
	// A second process updates the database in place.
	const update = "sqlite3 -bail test.db \"UPDATE t SET n = n + 1 WHERE id <= 10; INSERT INTO t(name, n) VALUES('last', -1);\""
	m.mustSh(t, "cd db && "+update)
	const query = "PRAGMA integrity_check; SELECT count(*), sum(n), count(DISTINCT name) FROM t; SELECT name FROM t WHERE id = 300; SELECT n FROM t WHERE name = 'last';"
	// The same statements on a local disk give the answer.
	local := t.TempDir()
	want := m.mustSh(t, "cd '"+local+"' && sqlite3 -bail test.db < '"+script+"' && "+update+" && sqlite3 -bail test.db \""+query+"\"")
	if got := m.mustSh(t, "sqlite3 -bail db/test.db \""+query+"\""); got != want {
		t.Fatalf("on the first mount:\n%s\nwant (local disk)\n%s", got, want)
	}
	m.unmount()
	m2 := mountOpts(t, again(), vfs.Options{CacheDir: cache, WriteBack: writeBack})
	got := m2.mustSh(t, "sqlite3 -bail db/test.db \""+query+"\"")
	if got != want {
		t.Fatalf("after a remount:\n%s\nwant\n%s", got, want)
	}
	if ls := m2.mustSh(t, "ls -A db"); ls != "test.db" {
		t.Fatalf("db holds %q, want only test.db (no journal left)", ls)
	}
	t.Logf("database after a remount: %s", strings.ReplaceAll(got, "\n", "; "))
}

func TestSQLiteMemory(t *testing.T) {
	b := memory.New()
	testSQLite(t, b, func() backend.Backend { return b }, 0) // each close uploads
}

func TestSQLiteMega(t *testing.T) {
	b, ts := newMega(t)
	testSQLite(t, b, func() backend.Backend { b2, _ := newMegaOn(t, ts); return b2 }, vfs.WriteBackNow) // as ferry mount
}
