package mega

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// testKey is a derived key with cheap parameters.
func testKey(t testing.TB) *cacheKey {
	t.Helper()
	p := kdfParams{kdf: cacheKDFArgon, time: 1, memory: 64, threads: 1}
	rand.Read(p.salt[:])
	k, err := deriveCacheKey(cacheSecrets{password: "pw"}, p)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestCacheRoundTrip writes and reads caches with trees around segment
// boundaries.
func TestCacheRoundTrip(t *testing.T) {
	key := testKey(t)
	binding := cacheBinding("a@b.c", "http://x")
	session := []byte(`{"v":1,"sid":"s"}`)
	head := len(session) + 2 // uvarint length (1 byte) + tree flag
	for _, size := range []int{-1, 0, 1, cacheSegment - head - 1, cacheSegment - head, cacheSegment - head + 1, 3*cacheSegment + 17} {
		path := filepath.Join(t.TempDir(), "c.bin")
		var tree []byte
		var writeTree func(io.Writer) error
		if size >= 0 {
			tree = make([]byte, size)
			rand.Read(tree)
			writeTree = func(w io.Writer) error {
				// Odd-sized writes exercise the segment buffering.
				for rest := tree; len(rest) > 0; {
					n := min(len(rest), 1000)
					if _, err := w.Write(rest[:n]); err != nil {
						return err
					}
					rest = rest[n:]
				}
				return nil
			}
		}
		if err := writeCache(path, key, binding, session, writeTree); err != nil {
			t.Fatalf("size %d: write: %v", size, err)
		}
		// A fresh derivation (nil known key) must find the same key.
		st, f, err := readCache(path, cacheSecrets{password: "pw"}, binding, nil)
		if err != nil {
			t.Fatalf("size %d: read: %v", size, err)
		}
		if !bytes.Equal(st.Session, session) {
			t.Errorf("size %d: session %q", size, st.Session)
		}
		if size < 0 {
			if st.Tree != nil {
				t.Errorf("no tree written, but one read")
			}
		} else {
			got, err := io.ReadAll(st.Tree)
			if err != nil || !bytes.Equal(got, tree) {
				t.Errorf("size %d: tree of %d bytes, %v", size, len(got), err)
			}
		}
		f.Close()
	}
}

// TestCacheTamper: every single-bit change, truncation or extension of a
// cache is detected before or while reading.
func TestCacheTamper(t *testing.T) {
	key := testKey(t)
	binding := cacheBinding("a@b.c", "http://x")
	path := filepath.Join(t.TempDir(), "c.bin")
	tree := bytes.Repeat([]byte("0123456789"), cacheSegment/5) // two segments
	err := writeCache(path, key, binding, []byte("session"), func(w io.Writer) error {
		_, err := w.Write(tree)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	read := func(data []byte) error {
		st, err := decodeCache(bytes.NewReader(data), cacheSecrets{password: "pw"}, binding, key)
		if err != nil {
			return err
		}
		_, err = io.ReadAll(st.Tree)
		return err
	}
	if err := read(good); err != nil {
		t.Fatalf("good cache: %v", err)
	}
	// Flip a bit in the header, in each segment's framing and body.
	segStart := cacheHeaderLen
	for _, off := range []int{0, 9, 20, cacheHeaderLen - 1, segStart, segStart + 1, segStart + 5, segStart + 100,
		segStart + 5 + cacheSegment + cacheTagLen, len(good) - 1} {
		bad := bytes.Clone(good)
		bad[off] ^= 0x10
		if err := read(bad); err == nil {
			t.Errorf("bit flip at %d not detected", off)
		}
	}
	for _, n := range []int{cacheHeaderLen + 3, segStart + 5 + cacheSegment + cacheTagLen, len(good) - 1} {
		if err := read(good[:n]); err == nil {
			t.Errorf("truncation to %d not detected", n)
		}
	}
	if err := read(append(bytes.Clone(good), 1, 2, 3)); err == nil {
		t.Errorf("trailing data not detected")
	}
	// Swap the two segments' order by dropping the first: detected.
	first := segStart + 5 + cacheSegment + cacheTagLen
	if err := read(append(bytes.Clone(good[:segStart]), good[first:]...)); err == nil {
		t.Errorf("a dropped segment was not detected")
	}
	if err := read(good); err != nil {
		t.Fatal(err)
	}
	st, err := decodeCache(bytes.NewReader(good), cacheSecrets{password: "other"}, binding, nil)
	if !errors.Is(err, errCacheAuth) {
		t.Errorf("wrong password: %v, %v", st, err)
	}
}

// FuzzDecodeCache: arbitrary input never panics and never decodes.
func FuzzDecodeCache(f *testing.F) {
	key := testKey(f)
	binding := cacheBinding("a@b.c", "http://x")
	path := filepath.Join(f.TempDir(), "c.bin")
	if err := writeCache(path, key, binding, []byte("session"), nil); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	f.Add(good)
	f.Add([]byte(cacheMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeCache(bytes.NewReader(data), cacheSecrets{password: "pw"}, binding, key)
		if err != nil {
			return
		}
		// Only authentic content decodes (seeds come from this process).
		if string(st.Session) != "session" || st.Tree != nil {
			t.Fatalf("forged cache decoded: %q", st.Session)
		}
	})
}

// TestCacheKDFs: a cache sealed with HKDF of a cache_key opens only with
// the same cache_key and password; one sealed with Argon2id opens with the
// password alone, whatever the cache_key.
func TestCacheKDFs(t *testing.T) {
	binding := cacheBinding("a@b.c", "http://x")
	sec := cacheSecrets{password: "pw", cacheKey: "k1"}
	for _, c := range []struct {
		name  string
		write cacheSecrets
		read  cacheSecrets
		ok    bool
	}{
		{"hkdf", sec, sec, true},
		{"hkdf, other cache_key", sec, cacheSecrets{password: "pw", cacheKey: "k2"}, false},
		{"hkdf, other password", sec, cacheSecrets{password: "pw2", cacheKey: "k1"}, false},
		{"hkdf, no cache_key", sec, cacheSecrets{password: "pw"}, false},
		{"argon2id, cache_key added", cacheSecrets{password: "pw"}, sec, true},
		{"argon2id, other password", cacheSecrets{password: "pw"}, cacheSecrets{password: "pw2"}, false},
	} {
		p, err := newKDFParams(c.write)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]uint8{true: cacheKDFHKDF, false: cacheKDFArgon}[c.write.cacheKey != ""]; p.kdf != want {
			t.Errorf("%s: new parameters use kdf %d, want %d", c.name, p.kdf, want)
		}
		key, err := deriveCacheKey(c.write, p)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "c.bin")
		if err := writeCache(path, key, binding, []byte("session"), nil); err != nil {
			t.Fatal(err)
		}
		st, f, err := readCache(path, c.read, binding, nil)
		if f != nil {
			f.Close()
		}
		if c.ok != (err == nil) || (err == nil && string(st.Session) != "session") {
			t.Errorf("%s: read = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}
