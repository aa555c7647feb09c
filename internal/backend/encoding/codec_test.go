package encoding

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"unicode/utf8"
)

var mega = New(Slash, NUL)

// q is n quote runes.
func q(n int) string { return strings.Repeat(quote, n) }

// pairs are contract <-> backend names, each rule and its edges; both
// directions are checked.
var pairs = []struct {
	name, contract, backend string
}{
	// Names no rule touches.
	{"ascii", "hello.txt", "hello.txt"},
	{"unicode", "ünïcödé 日本語 📁", "ünïcödé 日本語 📁"},
	{"dot inside", "a.b..c", "a.b..c"},
	{"leading dot", ".hidden", ".hidden"},
	{"three dots", "...", "..."},
	{"hex without Q", "FF", "FF"},
	{"low hex after Q", q(1) + "7F", q(1) + "7F"},
	{"lowercase hex after Q", q(1) + "ff", q(1) + "ff"},
	{"one hex digit after Q", q(1) + "F", q(1) + "F"},
	{"Q alone", q(1), q(1)},
	{"Q before a letter", q(2) + "x", q(2) + "x"},
	{"Q at the end", "a" + q(3), "a" + q(3)},
	{"fullwidth dot inside", "a．b", "a．b"},
	{"replacement character", "c\uFFFD.txt", "c\uFFFD.txt"},

	// Invalid bytes.
	{"invalid byte", "c\xff.txt", "c" + q(1) + "FF.txt"},
	{"second invalid byte", "c\xfe.txt", "c" + q(1) + "FE.txt"},
	{"invalid byte after Q", q(1) + "\xff", q(3) + "FF"},
	{"invalid byte after QQ", q(2) + "\x80", q(5) + "80"},
	{"invalid bytes in a row", "\xff\xfe\x80", q(1) + "FF" + q(1) + "FE" + q(1) + "80"},
	{"lone lead byte", "\xc3", q(1) + "C3"},
	{"lone continuation byte", "\xa9", q(1) + "A9"},
	{"truncated rune", "\xe2\x80x", q(1) + "E2" + q(1) + "80x"},
	{"overlong NUL", "\xc0\x80", q(1) + "C0" + q(1) + "80"},
	{"surrogate", "\xed\xa0\x80", q(1) + "ED" + q(1) + "A0" + q(1) + "80"},
	{"invalid byte before hex", "\xffAB", q(1) + "FFAB"},
	{"rclone form literally", q(1) + "FF", q(2) + "FF"},
	{"rclone form after Q", q(2) + "FF", q(4) + "FF"},
	{"rclone form in a name", "c" + q(1) + "FF.txt", "c" + q(2) + "FF.txt"},

	// Merge context: the backend's ‛C3‛A9 is not "é".
	{"valid rune stays", "é", "é"},
	{"merge: Q0", "\xc3A9", q(1) + "C3A9"},
	{"merge: Q1", "\xc3" + q(1) + "A9", q(1) + "C3" + q(1) + "A9"},
	{"merge: Q2", "\xc3" + q(2) + "A9", q(1) + "C3" + q(2) + "A9"},
	{"merge: Q3", "\xc3" + q(3) + "A9", q(1) + "C3" + q(4) + "A9"},
	{"merge: byte after Q1", "\xc3" + q(1) + "\xa9", q(1) + "C3" + q(3) + "A9"},
	{"merge: byte after Q2", "\xc3" + q(2) + "\xa9", q(1) + "C3" + q(5) + "A9"},
	{"merge: three-byte rune", "\xe2\x80" + q(1) + "9B", q(1) + "E2" + q(1) + "80" + q(1) + "9B"},
	{"merge: U+0080 (found by FuzzCodec)", "\xc2" + q(1) + "80", q(1) + "C2" + q(1) + "80"},
	{"no merge: incomplete", "\xe2\x80", q(1) + "E2" + q(1) + "80"},
	{"no merge: wrong second byte", "\xe0\x80", q(1) + "E0" + q(1) + "80"},

	// Swapped runes.
	{"slash", "a／b.txt", "a/b.txt"},
	{"fullwidth slash literally", q(1) + "／", "／"},
	{"slash after Q", q(2) + "／", q(1) + "/"},
	{"fullwidth slash after Q", q(3) + "／", q(1) + "／"},
	{"NUL", "a␀b", "a\x00b"},
	{"NUL symbol literally", q(1) + "␀", "␀"},
	{"NUL after Q", q(4) + "␀", q(2) + "\x00"},
	{"only slashes", "／／", "//"},

	// Whole names.
	{"dot", "．", "."},
	{"dot dot", "．．", ".."},
	{"fullwidth dot literally", q(1) + "．", "．"},
	{"fullwidth dot dot literally", q(1) + "．．", "．．"},
	{"fullwidth dot after Q", q(3) + "．", q(2) + "．"},
	{"Q dot is ordinary", q(1) + ".", q(1) + "."},
	{"QQ dot dot is ordinary", q(2) + "..", q(2) + ".."},
	{"mixed dots are ordinary", ".．", ".．"},
	{"dots inside are ordinary", "a．．", "a．．"},
}

func TestEncode(t *testing.T) {
	for _, tc := range pairs {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mega.Encode(tc.contract)
			if err != nil || got != tc.backend {
				t.Errorf("Encode(%+q) = %+q, %v; want %+q", tc.contract, got, err, tc.backend)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range pairs {
		t.Run(tc.name, func(t *testing.T) {
			if got := mega.Decode(tc.backend); got != tc.contract {
				t.Errorf("Decode(%+q) = %+q, want %+q", tc.backend, got, tc.contract)
			}
		})
	}
}

// TestNoCollisions checks that the pairs are distinct on both sides.
func TestNoCollisions(t *testing.T) {
	contracts, backends := map[string]string{}, map[string]string{}
	for _, tc := range pairs {
		if o, ok := contracts[tc.contract]; ok {
			t.Errorf("%s and %s share contract name %+q", o, tc.name, tc.contract)
		}
		if o, ok := backends[tc.backend]; ok {
			t.Errorf("%s and %s share backend name %+q", o, tc.name, tc.backend)
		}
		contracts[tc.contract], backends[tc.backend] = tc.name, tc.name
	}
}

func TestEncodeInvalid(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b", "/", "a\x00b", "\x00", q(1) + "/", "\xff/"} {
		if got, err := mega.Encode(name); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Encode(%+q) = %+q, %v; want fs.ErrInvalid", name, got, err)
		}
	}
}

// TestPlainNamesDoNotAllocate checks the fast path listings rely on.
func TestPlainNamesDoNotAllocate(t *testing.T) {
	for _, name := range []string{"file-0000001.jpg", "ünïcödé 日本語", "FF", ".hidden", "a．b"} {
		allocs := testing.AllocsPerRun(100, func() {
			if m, err := mega.Encode(name); err != nil || m != name {
				t.Fatalf("Encode(%q) = %q, %v", name, m, err)
			}
			if c := mega.Decode(name); c != name {
				t.Fatalf("Decode(%q) = %q", name, c)
			}
		})
		if allocs != 0 {
			t.Errorf("%q: %v allocations, want 0", name, allocs)
		}
	}
}

// TestNoSwaps checks a Codec without swaps: only invalid bytes and the
// whole names are encoded, and "/" stays invalid.
func TestNoSwaps(t *testing.T) {
	c := New()
	for contract, backend := range map[string]string{"a／b": "a／b", "\xff": q(1) + "FF", "．": ".", "a␀": "a␀"} {
		if got, err := c.Encode(contract); err != nil || got != backend {
			t.Errorf("Encode(%+q) = %+q, %v; want %+q", contract, got, err, backend)
		}
		if got := c.Decode(backend); got != contract {
			t.Errorf("Decode(%+q) = %+q, want %+q", backend, got, contract)
		}
	}
	if _, err := c.Encode("a/b"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Encode(a/b) = %v, want fs.ErrInvalid", err)
	}
}

func TestNewRejectsBadSwaps(t *testing.T) {
	for _, s := range []Swap{{'/', Quote}, {'/', FullStop}, {'.', 'x'}, {'/', 'A'}, {'/', '/'}, {'x', '/'}, {'x', 0}, {'/', utf8.MaxRune + 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%q) did not panic", s)
				}
			}()
			New(s)
		}()
	}
}

// validContract reports whether s is a contract name.
func validContract(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\x00")
}

// FuzzCodec checks both round trips: contract -> backend -> contract for
// every contract name, backend -> contract -> backend for every non-empty
// valid UTF-8 backend name, that Encode's output is valid UTF-8 and that
// Decode's output is a contract name.
func FuzzCodec(f *testing.F) {
	for _, tc := range pairs {
		f.Add(tc.contract)
		f.Add(tc.backend)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if validContract(s) {
			m, err := mega.Encode(s)
			if err != nil {
				t.Fatalf("Encode(%+q): %v", s, err)
			}
			if !utf8.ValidString(m) {
				t.Fatalf("Encode(%+q) = %+q, not valid UTF-8", s, m)
			}
			if back := mega.Decode(m); back != s {
				t.Fatalf("Decode(Encode(%+q)) = Decode(%+q) = %+q", s, m, back)
			}
		} else if m, err := mega.Encode(s); err == nil {
			t.Fatalf("Encode(%+q) = %+q, want an error", s, m)
		}
		if s != "" && utf8.ValidString(s) {
			c := mega.Decode(s)
			if !validContract(c) {
				t.Fatalf("Decode(%+q) = %+q, not a contract name", s, c)
			}
			back, err := mega.Encode(c)
			if err != nil || back != s {
				t.Fatalf("Encode(Decode(%+q)) = Encode(%+q) = %+q, %v", s, c, back, err)
			}
		}
	})
}

var sink string

// BenchmarkCodec measures a plain name (the fast path every listed name
// takes) and one that needs every rule.
func BenchmarkCodec(b *testing.B) {
	for _, bc := range []struct{ name, contract string }{
		{"plain", "file-0000001.jpg"},
		{"odd", "c\xff ‛FF a／b ␀.txt"},
	} {
		backend, err := mega.Encode(bc.contract)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("Encode/"+bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink, _ = mega.Encode(bc.contract)
			}
		})
		b.Run("Decode/"+bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = mega.Decode(backend)
			}
		})
	}
}
