package chunker

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

// testKey returns a fixed key whose bytes start with b.
func testKey(b byte) []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

// randomData returns n pseudo-random bytes, the same for the same seed.
func randomData(seed uint64, n int) []byte {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return b
}

// chunks cuts all of r and returns the chunks (copies).
func chunks(t testing.TB, r io.Reader, key []byte, p Params) [][]byte {
	t.Helper()
	c := New(r, key, p)
	var out [][]byte
	var buf []byte
	for {
		b, err := c.Next(buf)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Next after %d chunks: %v", len(out), err)
		}
		out = append(out, bytes.Clone(b))
		buf = b
	}
}

// lengths returns the chunks' lengths.
func lengths(cs [][]byte) []int {
	n := make([]int, len(cs))
	for i, c := range cs {
		n[i] = len(c)
	}
	return n
}

// checkChunks checks that cs concatenate to data and respect p.
func checkChunks(t testing.TB, cs [][]byte, data []byte, p Params) {
	t.Helper()
	if got := bytes.Join(cs, nil); !bytes.Equal(got, data) {
		t.Fatalf("chunks join to %d bytes that differ from the %d input bytes", len(got), len(data))
	}
	for i, c := range cs {
		last := i == len(cs)-1
		if len(c) == 0 || len(c) > p.Max || (len(c) < p.Min && !last) {
			t.Fatalf("chunk %d of %d is %d bytes, outside [%d, %d]", i, len(cs), len(c), p.Min, p.Max)
		}
	}
}

// smallParams keep tests fast while exercising every region.
var smallParams = Params{Min: 2 << 10, Avg: 8 << 10, Max: 64 << 10}

func TestDeterministicAndKeyed(t *testing.T) {
	data := randomData(1, 4<<20)
	a := chunks(t, bytes.NewReader(data), testKey(1), smallParams)
	// Same key, same input, odd read sizes: same boundaries.
	b := chunks(t, iotest.HalfReader(bytes.NewReader(data)), testKey(1), smallParams)
	checkChunks(t, a, data, smallParams)
	if fmt.Sprint(lengths(a)) != fmt.Sprint(lengths(b)) {
		t.Fatal("the same key and input gave different boundaries")
	}
	// Another key: different boundaries.
	o := chunks(t, bytes.NewReader(data), testKey(2), smallParams)
	checkChunks(t, o, data, smallParams)
	same := 0
	seen := map[string]bool{}
	for _, c := range a {
		seen[string(c)] = true
	}
	for _, c := range o {
		if seen[string(c)] {
			same++
		}
	}
	if same > len(o)/20 {
		t.Fatalf("another key shares %d of %d chunks; boundaries should not depend on the data alone", same, len(o))
	}
}

// TestGolden pins the boundaries of DefaultParams for a fixed key and
// input: a change here would make every existing repository store its
// data again.
func TestGolden(t *testing.T) {
	data := randomData(7, 32<<20)
	cs := chunks(t, bytes.NewReader(data), testKey(9), DefaultParams())
	checkChunks(t, cs, data, DefaultParams())
	sum := sha256.Sum256([]byte(fmt.Sprint(lengths(cs))))
	const want = "ffe3ea7030c275fc"
	if got := hex.EncodeToString(sum[:8]); got != want {
		t.Errorf("boundaries changed: lengths %v hash to %s, want %s", lengths(cs), got, want)
	}
}

func TestSizes(t *testing.T) {
	for _, p := range []Params{
		smallParams,
		{Min: 4 << 10, Avg: 16 << 10, Max: 128 << 10},
		{Min: 64, Avg: 256, Max: 1024},
	} {
		t.Run(p.String(), func(t *testing.T) {
			data := randomData(3, 2000*p.Avg)
			cs := chunks(t, bytes.NewReader(data), testKey(5), p)
			checkChunks(t, cs, data, p)
			mean := float64(len(data)) / float64(len(cs))
			if mean < 0.85*float64(p.Avg) || mean > 1.15*float64(p.Avg) {
				t.Errorf("mean chunk size %.0f, want within 15%% of Avg %d", mean, p.Avg)
			}
			forced := 0
			for _, c := range cs[:len(cs)-1] {
				if len(c) == p.Max {
					forced++
				}
			}
			if forced > len(cs)/100 {
				t.Errorf("%d of %d chunks were cut at Max; normalized chunking should rarely reach it", forced, len(cs))
			}
		})
	}
}

func TestDefaultParamsMean(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("cuts 128 MiB")
	}
	p := DefaultParams()
	data := randomData(11, 128<<20)
	cs := chunks(t, bytes.NewReader(data), testKey(3), p)
	checkChunks(t, cs, data, p)
	mean := float64(len(data)) / float64(len(cs))
	if mean < 0.8*float64(p.Avg) || mean > 1.2*float64(p.Avg) {
		t.Errorf("mean chunk size %.0f over %d chunks, want within 20%% of Avg %d", mean, len(cs), p.Avg)
	}
}

// TestInsertion checks the property deduplication needs: an edit in the
// middle of a stream changes only the chunks around it.
func TestInsertion(t *testing.T) {
	p := DefaultParams()
	data := randomData(13, 64<<20)
	orig := chunks(t, bytes.NewReader(data), testKey(4), p)
	have := map[string]bool{}
	for _, c := range orig {
		have[string(c)] = true
	}
	for _, tc := range []struct {
		name string
		edit func([]byte) []byte
	}{
		{"insert 1 byte", func(d []byte) []byte {
			m := len(d) / 2
			return append(append(append([]byte{}, d[:m]...), 0x5a), d[m:]...)
		}},
		{"delete 1 byte", func(d []byte) []byte {
			m := len(d)/2 + 12345
			return append(append([]byte{}, d[:m]...), d[m+1:]...)
		}},
		{"insert 100 KiB", func(d []byte) []byte {
			m := len(d) / 3
			return append(append(append([]byte{}, d[:m]...), randomData(99, 100<<10)...), d[m:]...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if raceEnabled && tc.name != "insert 1 byte" {
				t.Skip("under the race detector only the 1-byte insertion runs")
			}
			edited := tc.edit(data)
			cs := chunks(t, bytes.NewReader(edited), testKey(4), p)
			checkChunks(t, cs, edited, p)
			same := 0
			for _, c := range cs {
				if have[string(c)] {
					same++
				}
			}
			t.Logf("%d of %d chunks unchanged (%d before)", same, len(cs), len(orig))
			if same*10 < len(cs)*9 {
				t.Errorf("only %d of %d chunks unchanged; want >= 90%%", same, len(cs))
			}
		})
	}
}

func TestEOF(t *testing.T) {
	p := smallParams
	key := testKey(1)
	t.Run("empty", func(t *testing.T) {
		c := New(strings.NewReader(""), key, p)
		for range 2 {
			if b, err := c.Next(nil); err != io.EOF || b != nil {
				t.Fatalf("Next = %d bytes, %v; want io.EOF", len(b), err)
			}
		}
	})
	t.Run("shorter than Min", func(t *testing.T) {
		for _, n := range []int{1, p.Min - 1, p.Min} {
			data := randomData(2, n)
			cs := chunks(t, bytes.NewReader(data), key, p)
			if len(cs) != 1 || !bytes.Equal(cs[0], data) {
				t.Fatalf("%d bytes gave %d chunks %v, want one of all the input", n, len(cs), lengths(cs))
			}
		}
	})
	t.Run("data with EOF", func(t *testing.T) {
		data := randomData(2, 300<<10)
		a := chunks(t, iotest.DataErrReader(bytes.NewReader(data)), key, p)
		b := chunks(t, iotest.OneByteReader(bytes.NewReader(data)), key, p)
		checkChunks(t, a, data, p)
		if fmt.Sprint(lengths(a)) != fmt.Sprint(lengths(b)) {
			t.Fatal("readers of the same data gave different boundaries")
		}
	})
	t.Run("exact multiples of Max", func(t *testing.T) {
		// Constant bytes never cut for this key (checked below), so every
		// chunk is forced at Max and the input ends exactly at a boundary.
		key := constantKey(t, p)
		for _, k := range []int{1, 2, 5} {
			data := bytes.Repeat([]byte{0}, k*p.Max)
			cs := chunks(t, bytes.NewReader(data), key, p)
			checkChunks(t, cs, data, p)
			if len(cs) != k {
				t.Fatalf("%d*Max bytes gave %d chunks %v, want %d of Max", k, len(cs), lengths(cs), k)
			}
			for i, c := range cs {
				if len(c) != p.Max {
					t.Fatalf("chunk %d is %d bytes, want Max %d", i, len(c), p.Max)
				}
			}
		}
	})
	t.Run("boundary at the end", func(t *testing.T) {
		// Cut the input after its first chunk's boundary: the stream
		// ends exactly there and gives no empty chunk after it.
		data := randomData(5, 1<<20)
		first := chunks(t, bytes.NewReader(data), key, p)[0]
		cs := chunks(t, bytes.NewReader(first), key, p)
		if len(cs) != 1 || len(cs[0]) != len(first) {
			t.Fatalf("got %v, want one chunk of %d", lengths(cs), len(first))
		}
	})
}

// constantKey returns a key for which a run of zero bytes has no cut
// before Max.
func constantKey(t *testing.T, p Params) []byte {
	t.Helper()
	for b := range 256 {
		key := testKey(byte(b))
		c := New(bytes.NewReader(make([]byte, p.Max)), key, p)
		if got, err := c.Next(nil); err == nil && len(got) == p.Max {
			return key
		}
	}
	t.Fatal("no test key lets zeros run to Max")
	return nil
}

func TestErrors(t *testing.T) {
	boom := errors.New("boom")
	t.Run("read error", func(t *testing.T) {
		r := io.MultiReader(bytes.NewReader(randomData(1, 10<<10)), iotest.ErrReader(boom))
		c := New(r, testKey(1), smallParams)
		var err error
		for range 10 {
			if _, err = c.Next(nil); err != nil {
				break
			}
		}
		if !errors.Is(err, boom) {
			t.Fatalf("Next = %v, want the read error", err)
		}
		if _, err := c.Next(nil); !errors.Is(err, boom) {
			t.Fatalf("Next after the error = %v, want it again", err)
		}
	})
	for _, tc := range []struct {
		name string
		key  []byte
		p    Params
		want string
	}{
		{"short key", make([]byte, 16), smallParams, "key is 16 bytes, want 32"},
		{"Min too small", testKey(1), Params{Min: 10, Avg: 100, Max: 1000}, "Min 10 is below 64"},
		{"Avg below Min", testKey(1), Params{Min: 100, Avg: 99, Max: 1000}, "Avg 99 is below Min 100"},
		{"Max below Avg", testKey(1), Params{Min: 100, Avg: 200, Max: 199}, "Max 199 is below Avg 200"},
		{"Max too large", testKey(1), Params{Min: 100, Avg: 200, Max: 2 << 30}, "above"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(strings.NewReader("x"), tc.key, tc.p).Next(nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Next = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestReset(t *testing.T) {
	c := New(nil, testKey(1), smallParams)
	for _, seed := range []uint64{1, 2, 3} {
		data := randomData(seed, int(seed)*100<<10)
		c.Reset(bytes.NewReader(data))
		var got [][]byte
		for {
			b, err := c.Next(nil)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, b)
		}
		want := chunks(t, bytes.NewReader(data), testKey(1), smallParams)
		if fmt.Sprint(lengths(got)) != fmt.Sprint(lengths(want)) {
			t.Fatalf("seed %d: after Reset %v, fresh %v", seed, lengths(got), lengths(want))
		}
	}
}

// TestBoundedBuffer checks that the chunker holds no more of its input
// than the chunk it returns (at most Max, in the caller's buffer) and less
// than one read block past it.
func TestBoundedBuffer(t *testing.T) {
	p := Params{Min: 16 << 10, Avg: 64 << 10, Max: 256 << 10}
	c := New(bytes.NewReader(randomData(4, 8<<20)), testKey(1), p)
	var buf []byte
	for {
		b, err := c.Next(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if cap(b) > p.Max {
			t.Fatalf("chunk buffer is %d bytes, over Max %d", cap(b), p.Max)
		}
		if cap(c.carry) >= c.block+p.Max {
			t.Fatalf("%d bytes kept past the chunk, want under %d", cap(c.carry), c.block)
		}
		if len(c.carry) >= c.block {
			t.Fatalf("%d bytes read past the chunk, want under %d", len(c.carry), c.block)
		}
		buf = b
	}
}

// refLengths is the algorithm of the package doc written plainly, over
// the whole input in memory and one byte at a time: the chunker, with its
// buffer refills, resumed scans and two-byte steps, must cut where it
// does.
func refLengths(data, key []byte, p Params) []int {
	gear, cp := gearTable(key), p.derive()
	var out []int
	for len(data) > 0 {
		n := min(len(data), cp.max)
		var h uint64
		for i := cp.min; i < n; i++ {
			h = h<<1 + gear[data[i]]
			mask := cp.maskS
			if i >= cp.normal {
				mask = cp.maskL
			}
			if h&mask == 0 {
				n = i + 1
				break
			}
		}
		out = append(out, n)
		data = data[n:]
	}
	return out
}

func TestReference(t *testing.T) {
	for _, p := range []Params{smallParams, {Min: 64, Avg: 256, Max: 1024}, {Min: 100, Avg: 100, Max: 100}, {Min: 64, Avg: 1000, Max: 3000}} {
		data := randomData(21, 2<<20)
		got := lengths(chunks(t, iotest.OneByteReader(bytes.NewReader(data)), testKey(6), p))
		if want := refLengths(data, testKey(6), p); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%v: chunker and reference disagree (%d and %d chunks)", p, len(got), len(want))
		}
	}
}

func FuzzChunks(f *testing.F) {
	f.Add([]byte{}, uint16(0))
	f.Add(randomData(1, 5000), uint16(7))
	f.Add(bytes.Repeat([]byte{0}, 3000), uint16(1))
	f.Add(randomData(2, 20000), uint16(300))
	p := Params{Min: 64, Avg: 256, Max: 1024}
	f.Fuzz(func(t *testing.T, data []byte, step uint16) {
		// Read in pieces of step bytes (0: all at once) to vary where the
		// buffer refills fall.
		var r io.Reader = bytes.NewReader(data)
		if step > 0 {
			r = &stepReader{r: r, n: int(step)}
		}
		cs := chunks(t, r, testKey(1), p)
		checkChunks(t, cs, data, p)
		if got, want := lengths(cs), refLengths(data, testKey(1), p); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("read in steps of %d: boundaries %v, reference %v", step, got, want)
		}
	})
}

// stepReader returns at most n bytes per Read.
type stepReader struct {
	r io.Reader
	n int
}

func (s *stepReader) Read(p []byte) (int, error) {
	if len(p) > s.n {
		p = p[:s.n]
	}
	return s.r.Read(p)
}

// BenchmarkChunker cuts 64 MiB of random data with DefaultParams. Besides
// the rate it reports cpu-MB/s, the bytes cut per second of the process's
// CPU time: on a machine shared with other work that is the one-core rate,
// which the wall-clock rate understates.
func BenchmarkChunker(b *testing.B) {
	data := randomData(1, 64<<20)
	key := testKey(1)
	c := New(nil, key, DefaultParams())
	buf := make([]byte, 0, DefaultParams().Max)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	n := 0
	cpu := processCPU(b)
	for b.Loop() {
		c.Reset(bytes.NewReader(data))
		for {
			out, err := c.Next(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			buf = out
			n++
		}
	}
	cpu = processCPU(b) - cpu
	b.ReportMetric(float64(len(data))*float64(b.N)/float64(n), "B/chunk")
	b.ReportMetric(float64(len(data))*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
}

// processCPU is the user plus system time the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
