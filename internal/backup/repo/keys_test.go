package repo

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
)

func TestKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend.Backend) {
		ctx := t.Context()
		o := testOptions(t)
		r := initRepo(t, be, o)
		keys, err := r.Keys(ctx)
		if err != nil || len(keys) != 1 || !keys[0].Current || keys[0].Created.IsZero() {
			t.Fatalf("Keys after Init: %+v, %v", keys, err)
		}
		first := keys[0].ID
		if err := r.RemoveKey(ctx, first); !errors.Is(err, ErrKeyInUse) {
			t.Errorf("RemoveKey of the key in use: %v, want ErrKeyInUse", err)
		}
		second := []byte("second password")
		k2, err := r.AddKey(ctx, second)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.AddKey(ctx, nil); err == nil {
			t.Errorf("AddKey with an empty password succeeded")
		}
		r2, err := Open(ctx, be, second, testOptions(t))
		if err != nil {
			t.Fatalf("Open with the added password: %v", err)
		}
		if r2.ID() != r.ID() {
			t.Errorf("the added key opens another repository")
		}
		keys, _ = r2.Keys(ctx)
		if len(keys) != 2 {
			t.Fatalf("Keys: %+v, want 2", keys)
		}
		for _, k := range keys {
			if k.Current != (k.ID == k2.ID) {
				t.Errorf("key %s: Current %v through the second password", k.ID, k.Current)
			}
		}
		// Through the second password, the first key can go; then the
		// second is the last and stays.
		if err := r2.RemoveKey(ctx, "0000"); !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("RemoveKey of an unknown key: %v, want ErrKeyNotFound", err)
		}
		if err := r2.RemoveKey(ctx, first); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(ctx, be, testPassword, testOptions(t)); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("Open with the removed key's password: %v, want ErrWrongPassword", err)
		}
		if _, err := Open(ctx, be, testPassword, o); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("Open with the removed key's password and its cached copy: %v, want ErrWrongPassword", err)
		}
		r3, err := Open(ctx, be, second, testOptions(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.RemoveKey(ctx, k2.ID); !errors.Is(err, ErrLastKey) {
			t.Errorf("RemoveKey of the last key: %v, want ErrLastKey", err)
		}

		third := []byte("third password")
		if err := r3.ChangePassword(ctx, third); err != nil {
			t.Fatal(err)
		}
		keys, _ = r3.Keys(ctx)
		if len(keys) != 1 || keys[0].ID == k2.ID || !keys[0].Current {
			t.Errorf("Keys after ChangePassword: %+v, want one new current key", keys)
		}
		if _, err := Open(ctx, be, second, testOptions(t)); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("Open with the old password after ChangePassword: %v", err)
		}
		if _, err := Open(ctx, be, third, o); err != nil {
			t.Errorf("Open with the new password: %v", err)
		}
	})
}

// TestKeyKDFFromObject checks that Open uses the Argon2id parameters the
// key object records, not the Options'.
func TestKeyKDFFromObject(t *testing.T) {
	ctx := t.Context()
	be := memory.New()
	o := testOptions(t)
	o.KDF = KDF{Time: 2, MemoryKiB: 128, Threads: 1}
	initRepo(t, be, o)
	if _, err := Open(ctx, be, testPassword, testOptions(t)); err != nil {
		t.Fatalf("Open with other KDF options: %v", err)
	}
}

// TestMasterKeysRedacted checks that master keys never print.
func TestMasterKeysRedacted(t *testing.T) {
	mk, err := newMasterKeys()
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "keys", mk)
	s := buf.String() + fmt.Sprint(mk) + fmt.Sprintf("%v %s", mk, mk)
	for _, k := range [][]byte{mk.Enc, mk.ID, mk.Chunker} {
		for _, enc := range []string{hex.EncodeToString(k), base64.StdEncoding.EncodeToString(k), fmt.Sprint(k)} {
			if strings.Contains(s, enc) {
				t.Fatalf("a master key printed: %s", s)
			}
		}
	}
}
