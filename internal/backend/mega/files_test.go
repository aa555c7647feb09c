package mega

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"ferry/internal/backend"
	"ferry/mega/megacrypto"
	"ferry/megaserver/megaservertest"
)

// TestRangedReadsReuseURL: ranged reads of one node ask for its download
// URL once (one `g`), not once per read, and a URL the storage server no
// longer accepts is renewed with one more `g` inside the read.
func TestRangedReadsReuseURL(t *testing.T) {
	ts := megaservertest.Start(t)
	var reject atomic.Int32 // download requests to answer 404, as for an expired URL
	proxy := megaservertest.StartProxy(t, ts.URL, megaservertest.ProxyConfig{Before: func(r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/dl/") && reject.Add(-1) >= 0 {
			r.URL.Path = "/dl/expired" // the server answers 404 to a token it does not accept
		}
	}})
	o := newOpener(t, ts)
	o.cfg[optURL] = proxy.URL
	b := o.mustOpen("")
	ctx := t.Context()
	data := make([]byte, 3<<20+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	e := put(t, b, "f.bin", data)
	read := func(off, n int64) {
		t.Helper()
		rc, err := b.OpenEntry(ctx, e, off, n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read %d at %d: %v", n, off, err)
		}
		if !bytes.Equal(got, data[off:off+n]) {
			t.Fatalf("read %d at %d: wrong bytes", n, off)
		}
	}
	before := o.log.count("g")
	for range 20 {
		off := rand.Int64N(int64(len(data)) - 4096)
		read(off, 4096)
	}
	if got := o.log.count("g") - before; got != 1 {
		t.Errorf("20 ranged reads of one node made %d g commands, want 1", got)
	}
	reject.Store(1)
	read(100, 5000)
	if got := o.log.count("g") - before; got != 2 {
		t.Errorf("after a rejected URL: %d g commands in all, want 2 (one renewal)", got)
	}
	if reject.Load() >= 0 {
		t.Fatal("the proxy rejected no download request")
	}
	// A removed node's URL is forgotten: a read of it fails, as Open
	// does, instead of reading a cached URL.
	if err := b.Remove(ctx, "f.bin"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.OpenEntry(ctx, e, 0, 10); err == nil {
		t.Error("a ranged read of a removed node succeeded")
	}
}

// TestChunkChecker: the chunk MACs of a file's plaintext verify against
// its meta-MAC; one flipped bit in one chunk fails with a fatal error
// wrapping megacrypto.ErrMAC.
func TestChunkChecker(t *testing.T) {
	ts := megaservertest.Start(t)
	b := newOpener(t, ts).mustOpen("")
	ctx := t.Context()
	data := make([]byte, 6<<20+5)
	for i := range data {
		data[i] = byte(i*13 + i>>9)
	}
	e := put(t, b, "f.bin", data)
	cc, err := b.ChunkChecker(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	cs := cc.Chunks()
	if len(cs) != len(megacrypto.Chunks(int64(len(data)))) || cs[1] != (backend.Chunk{Offset: 128 << 10, Size: 256 << 10}) {
		t.Fatalf("chunks %v...", cs[:2])
	}
	macs := func(d []byte) [][]byte {
		var ps [][]byte
		for _, c := range cs {
			ps = append(ps, d[c.Offset:c.Offset+c.Size])
		}
		// In two calls, to check first and the batch split.
		return append(cc.MACs(0, ps[:3]), cc.MACs(3, ps[3:])...)
	}
	if err := cc.Verify(macs(data)); err != nil {
		t.Fatalf("Verify of the right content: %v", err)
	}
	bad := bytes.Clone(data)
	bad[5<<20] ^= 1
	err = cc.Verify(macs(bad))
	if !errors.Is(err, megacrypto.ErrMAC) || !backend.IsFatal(err) {
		t.Fatalf("Verify of a flipped bit: %v, want a fatal ErrMAC", err)
	}
	if _, err := b.ChunkChecker(ctx, backend.Entry{Path: "missing"}); err == nil {
		t.Error("ChunkChecker of a missing file succeeded")
	}
}

// TestBoundedRangeReads: a bounded range longer than rangeMaxPiece read
// into one buffer that holds it (the VFS cache's fetches) is one
// download request; read in small buffers it streams, in pieces. Both
// return the right bytes.
func TestBoundedRangeReads(t *testing.T) {
	ts := megaservertest.Start(t)
	var downloads atomic.Int32
	proxy := megaservertest.StartProxy(t, ts.URL, megaservertest.ProxyConfig{Before: func(r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/dl/") {
			downloads.Add(1)
		}
	}})
	o := newOpener(t, ts)
	o.cfg[optURL] = proxy.URL
	b := o.mustOpen("")
	ctx := t.Context()
	data := make([]byte, 3*rangeMaxPiece)
	for i := range data {
		data[i] = byte(i * 13)
	}
	e := put(t, b, "f.bin", data)
	off, n := int64(12345), int64(2*rangeMaxPiece+7)
	want := data[off : off+n]

	rc, err := b.OpenEntry(ctx, e, off, n)
	if err != nil {
		t.Fatal(err)
	}
	downloads.Store(0)
	got := make([]byte, n)
	if _, err := io.ReadFull(rc, got); err != nil {
		t.Fatalf("read %d at %d into one buffer: %v", n, off, err)
	}
	if k, err := rc.Read(make([]byte, 1)); k != 0 || err != io.EOF {
		t.Errorf("read past the range = %d, %v; want 0, EOF", k, err)
	}
	rc.Close()
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d at %d into one buffer: wrong bytes", n, off)
	}
	if d := downloads.Load(); d != 1 {
		t.Errorf("a %d-byte range read into one buffer made %d download requests, want 1", n, d)
	}

	rc, err = b.OpenEntry(ctx, e, off, n)
	if err != nil {
		t.Fatal(err)
	}
	downloads.Store(0)
	got, err = io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d at %d in small buffers: %d bytes, %v", n, off, len(got), err)
	}
	if d := downloads.Load(); d < 3 {
		t.Errorf("a %d-byte range read in small buffers made %d download requests, want pieces of at most %d", n, d, rangeMaxPiece)
	}
}
