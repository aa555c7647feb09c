package metadb

import (
	"bytes"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestOpenLocked checks that a second Open of a data directory fails,
// naming the directory, while the first is open, and succeeds after.
func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), dir+" is in use by another ferry server") {
		t.Errorf("second Open: %v, want %q in use", err, dir)
	}
	db.Close()
	db, err = Open(dir)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	db.Close()
}

// TestSecretKept checks that Secret draws 32 bytes once and returns the
// same ones from then on, also after the store is reopened.
func TestSecretKept(t *testing.T) {
	dir := t.TempDir()
	secret := func() []byte {
		t.Helper()
		db, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var sec []byte
		err = db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("meta"))
			if err != nil {
				return err
			}
			sec, err = Secret(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return sec
	}
	first := secret()
	if len(first) != 32 || bytes.Equal(first, make([]byte, 32)) {
		t.Fatalf("secret %x: want 32 random bytes", first)
	}
	if again := secret(); !bytes.Equal(again, first) {
		t.Errorf("secret after reopening %x, want %x", again, first)
	}
}
