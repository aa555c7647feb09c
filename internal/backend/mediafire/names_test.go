package mediafire

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// mediafireName reports whether m is a name the service holds: valid
// UTF-8, no "/", "\" or NUL, not "." or "..".
func mediafireName(m string) bool {
	return m != "" && m != "." && m != ".." && utf8.ValidString(m) && !strings.ContainsAny(m, "/\\\x00")
}

func TestNamesRoundTrip(t *testing.T) {
	for _, tc := range []struct{ contract, mf string }{
		{"plain.txt", "plain.txt"},
		{`back\slash`, "back＼slash"},
		{"back＼look", "back‛＼look"},
		{"‛\\", "‛‛＼"},
		{"‛＼", "‛‛‛＼"},
		{"．", "．"},
		{"．．", "．．"},
		{"‛．", "‛．"},
		{"‛‛．．", "‛‛．．"},
		{"c\xff.txt", "c‛FF.txt"},
		{"a／b.txt", "a／b.txt"},
		{"  leading", "  leading"},
		{"...", "..."},
	} {
		m, err := encodeName(tc.contract)
		if err != nil {
			t.Errorf("encodeName(%q): %v", tc.contract, err)
			continue
		}
		if m != tc.mf {
			t.Errorf("encodeName(%q) = %q, want %q", tc.contract, m, tc.mf)
		}
		if !mediafireName(m) {
			t.Errorf("encodeName(%q) = %q, which the service cannot hold", tc.contract, m)
		}
		if got := decodeName(m); got != tc.contract {
			t.Errorf("decodeName(%q) = %q, want %q", m, got, tc.contract)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "a\x00b"} {
		if m, err := encodeName(bad); err == nil {
			t.Errorf("encodeName(%q) = %q, want an error", bad, m)
		}
	}
}

// FuzzNames checks that the mapping is a bijection between contract names
// and names the service holds: every contract name encodes to a
// MediaFire name that decodes back, and every MediaFire name decodes to
// a contract name that encodes back to it.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"a", `\`, "＼", "‛＼", "‛\\", "．", "‛．．", ".", "..", "\xff", "‛FF", "‛‛", "x‛"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if m, err := encodeName(s); err == nil {
			if !mediafireName(m) {
				t.Fatalf("encodeName(%q) = %q, which the service cannot hold", s, m)
			}
			if got := decodeName(m); got != s {
				t.Fatalf("decodeName(encodeName(%q)) = %q via %q", s, got, m)
			}
		}
		if mediafireName(s) {
			c := decodeName(s)
			m, err := encodeName(c)
			if err != nil || m != s {
				t.Fatalf("encodeName(decodeName(%q)) = %q, %v via %q", s, m, err, c)
			}
		}
	})
}
