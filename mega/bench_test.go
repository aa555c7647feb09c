package mega

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
	"ferry/megaserver/megaservertest"
)

const benchSize = 64 << 20

// benchDir returns the server's data directory for benchmarks: on tmpfs
// (/dev/shm) when there is one, so the numbers measure the transfer code
// rather than the disk; $FERRY_BENCH_DIR overrides the parent directory.
func benchDir(b *testing.B) string {
	parent := os.Getenv("FERRY_BENCH_DIR")
	if parent == "" {
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			parent = "/dev/shm"
		}
	}
	if parent == "" {
		return b.TempDir()
	}
	dir, err := os.MkdirTemp(parent, "ferry-mega-bench-")
	if err != nil {
		return b.TempDir()
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// benchClient logs in quietly against a quiet server.
func benchClient(b *testing.B) (*Client, *megaservertest.TestServer) {
	b.Helper()
	ts := megaservertest.Start(b, megaservertest.WithLogger(discardLogger()), megaservertest.WithDir(benchDir(b)))
	opts := testOptions(b, ts)
	opts.Logger = discardLogger()
	return newLoggedInAs(b, ts, opts, megaservertest.UserV2, megaservertest.PasswordV2), ts
}

func BenchmarkUpload(b *testing.B) {
	c, _ := benchClient(b)
	data := make([]byte, benchSize)
	rand.Read(data)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Upload(b.Context(), c.Root(), "bench", bytes.NewReader(data), benchSize, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUploadSmall uploads 32 KiB files one after the other into one
// folder, as a program writing small files through a mount makes the
// client do: the latency of u, the POST and p, and the client's work
// around them (uploadOne).
func BenchmarkUploadSmall(b *testing.B) {
	c, _ := benchClient(b)
	d, err := c.Mkdir(b.Context(), c.Root(), "small")
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 32<<10)
	rand.Read(data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := c.Upload(b.Context(), d, fmt.Sprintf("f%d", i), bytes.NewReader(data), int64(len(data)), time.Now()); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkDownload(b *testing.B) {
	c, _ := benchClient(b)
	data := make([]byte, benchSize)
	rand.Read(data)
	n, err := c.Upload(b.Context(), c.Root(), "bench", bytes.NewReader(data), benchSize, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Download(b.Context(), n, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// syntheticTree builds an `f` reply with n nodes (folders of 50 files)
// encrypted for user/mk.
func syntheticTree(b testing.TB, n int, user string, mk []byte) []byte {
	b.Helper()
	nodes := []megaapi.Node{
		{Handle: "root0000", Owner: user, Type: megaapi.TypeRoot, TS: 1},
		{Handle: "inbox000", Owner: user, Type: megaapi.TypeInbox, TS: 1},
		{Handle: "rubbish0", Owner: user, Type: megaapi.TypeRubbish, TS: 1},
	}
	parent := "root0000"
	for i := range n {
		h := fmt.Sprintf("%08x", i)
		if i%50 == 0 {
			key := make([]byte, 16)
			rand.Read(key)
			a, _ := megacrypto.EncryptAttrs(key, megacrypto.Attrs{Name: "folder " + h})
			k, _ := wrapKey(mk, key)
			nodes = append(nodes, megaapi.Node{Handle: h, Parent: "root0000", Owner: user, Type: 1, Attr: a, Key: user + ":" + k, TS: 1700000000})
			parent = h
			continue
		}
		fk, _ := megacrypto.NewFileKey(rand.Reader)
		a, _ := megacrypto.EncryptAttrs(fk.Key[:], megacrypto.Attrs{Name: "file " + h + ".jpg", Fingerprint: "lGjTAJjxdKIc32EmgYbPLQQA8VNl"})
		k, _ := wrapKey(mk, fk.Pack())
		nodes = append(nodes, megaapi.Node{Handle: h, Parent: parent, Owner: user, Type: 0, Attr: a, Key: user + ":" + k, Size: int64(i) * 1000, TS: 1700000000})
	}
	out, err := json.Marshal(megaapi.FetchReply{Nodes: nodes, OK: []megaapi.ShareKey{}, SN: "AAAAAAAAAAA"})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkTreeFetch decodes and decrypts a 10000-node `f` reply (the
// client side of FetchTree, without HTTP).
func BenchmarkTreeFetch(b *testing.B) {
	mk := make([]byte, 16)
	rand.Read(mk)
	const user = "d5cBoeO7s9Q"
	body := syntheticTree(b, 10000, user, mk)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		dec := json.NewDecoder(bytes.NewReader(body))
		t := newTree()
		if err := decodeFetch(dec, newKeyring(state{user: user, mk: mk}, t)); err != nil {
			b.Fatal(err)
		}
		if len(t.nodes) != 10003 {
			b.Fatalf("%d nodes", len(t.nodes))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/node")
}

// BenchmarkTreeFetchServer is FetchTree against the loopback server.
func BenchmarkTreeFetchServer(b *testing.B) {
	c, _ := benchClient(b)
	for i := range 20 {
		d, err := c.Mkdir(b.Context(), c.Root(), fmt.Sprint("d", i))
		if err != nil {
			b.Fatal(err)
		}
		for j := range 10 {
			if _, err := c.Mkdir(b.Context(), d, fmt.Sprint("e", j)); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.FetchTree(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyPackets applies batches of 100 packets: 50 renames (u), and
// 25 moves (d m:1 + t).
func BenchmarkApplyPackets(b *testing.B) {
	mk := make([]byte, 16)
	rand.Read(mk)
	const user = "d5cBoeO7s9Q"
	body := syntheticTree(b, 10000, user, mk)
	t := newTree()
	kr := &keyring{user: user, mk: mk, t: t}
	if err := decodeFetch(json.NewDecoder(bytes.NewReader(body)), kr); err != nil {
		b.Fatal(err)
	}
	var ps []megaapi.Packet
	for i := 1; i < 10000 && len(ps) < 100; i += 97 {
		h := fmt.Sprintf("%08x", i)
		n := t.nodes[h]
		if n == nil || n.Type != FileNode {
			continue
		}
		ps = append(ps, megaapi.Packet{A: "u", N: h, U: user, At: n.attr, TS: 1})
		w := megaapi.Node{Handle: h, Parent: "00000000", Owner: user, Type: 0, Attr: n.attr, Size: n.Size, TS: 1}
		k, _ := wrapKey(mk, n.key)
		w.Key = user + ":" + k
		ps = append(ps, megaapi.Packet{A: "d", N: h, M: 1}, megaapi.Packet{A: "t", T: &megaapi.PacketTree{Nodes: []megaapi.Node{w}}})
	}
	b.ReportAllocs()
	for b.Loop() {
		t.apply(kr, ps)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(ps)), "ns/packet")
}
