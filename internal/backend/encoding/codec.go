package encoding

import (
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf8"
)

// The fixed runes of the code (see the package doc).
const (
	// Quote is Q, rclone's QuoteRune.
	Quote = '‛' // U+201B SINGLE HIGH-REVERSED-9 QUOTATION MARK
	// FullStop stands for "." in the whole names "." and "..".
	FullStop = '．' // U+FF0E FULLWIDTH FULL STOP

	quote     = string(Quote)
	dot1      = string(FullStop)
	dot2      = dot1 + dot1
	hexDigits = "0123456789ABCDEF"
)

// Swap pairs a rune a backend's names may hold but contract names cannot
// or should not (Backend) with the look-alike the contract shows for it
// (Contract).
type Swap struct {
	Backend, Contract rune
}

// The swaps MEGA needs.
var (
	// Slash shows "/" in a backend name as '／' (U+FF0F FULLWIDTH SOLIDUS).
	Slash = Swap{Backend: '/', Contract: '／'}
	// NUL shows NUL in a backend name as '␀' (U+2400 SYMBOL FOR NULL).
	NUL = Swap{Backend: 0, Contract: '␀'}
)

// Codec encodes contract names for one backend and decodes that
// backend's names. It is immutable and safe for concurrent use.
type Codec struct {
	swaps []Swap
	// ascii marks the ASCII bytes that leave the fast path: "/", NUL and
	// the ASCII runes of the swaps.
	ascii [utf8.RuneSelf]bool
}

// New returns a Codec with the given swaps. It panics if a swap's rune is
// invalid, is one the code itself uses (Q, '．', '.', a hex digit), or
// appears in two places: those are programming errors.
func New(swaps ...Swap) *Codec {
	c := &Codec{swaps: append([]Swap(nil), swaps...)}
	c.ascii['/'], c.ascii[0] = true, true
	seen := map[rune]bool{}
	for _, s := range swaps {
		for _, r := range []rune{s.Backend, s.Contract} {
			if !utf8.ValidRune(r) || r == Quote || r == FullStop || r == '.' ||
				strings.ContainsRune(hexDigits, r) || seen[r] {
				panic(fmt.Sprintf("encoding: bad swap %q <-> %q", s.Backend, s.Contract))
			}
			seen[r] = true
			if r < utf8.RuneSelf {
				c.ascii[r] = true
			}
		}
		if s.Contract == '/' || s.Contract == 0 {
			panic(fmt.Sprintf("encoding: swap %q <-> %q shows a rune no contract name holds", s.Backend, s.Contract))
		}
	}
	return c
}

// plain reports whether name is the same on both sides: no rune that
// leaves the fast path, no invalid UTF-8, and not a whole-name rule's
// name. (Q-prefixed whole names hold Q, so only four need checking.)
func (c *Codec) plain(name string) bool {
	for i := 0; i < len(name); {
		if b := name[i]; b < utf8.RuneSelf {
			if c.ascii[b] {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(name[i:])
		if r == Quote || (r == utf8.RuneError && size == 1) || c.swap(r) >= 0 {
			return false
		}
		i += size
	}
	if len(name) > len(dot2) {
		return true
	}
	switch name {
	case ".", "..", dot1, dot2:
		return false
	}
	return true
}

// swap returns the index of the swap r belongs to (either side), or -1.
func (c *Codec) swap(r rune) int {
	for i, s := range c.swaps {
		if r == s.Backend || r == s.Contract {
			return i
		}
	}
	return -1
}

// Encode returns the backend name for contract name name. A name that is
// not a contract name ("", ".", "..", or holding "/", NUL or a swapped
// backend rune) is an error wrapping fs.ErrInvalid.
func (c *Codec) Encode(name string) (string, error) {
	switch name {
	case "", ".", "..":
		return "", invalid(name, "not a name")
	}
	if c.plain(name) {
		return name, nil
	}
	if m, ok := encodeWhole(name); ok {
		return m, nil
	}
	out := make([]byte, 0, len(name)+8)
	for i := 0; i < len(name); {
		start := i
		j := 0
		for strings.HasPrefix(name[i:], quote) {
			i += len(quote)
			j++
		}
		if i == len(name) {
			out = quotes(out, j)
			break
		}
		r, size := utf8.DecodeRuneInString(name[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(quotes(out, 2*j+1), hexDigits[name[i]>>4], hexDigits[name[i]&15])
		case hexHi(name[i:]):
			k := 2 * j
			if j > 0 && merges(name[:start], hexValue(name[i:])) {
				k = max(2*j-2, 1) // merge context: Q^1 stays, Q^j is Q^(2j-2)
			}
			out = append(quotes(out, k), name[i:i+2]...)
			size = 2
		case r == '/' || r == 0:
			return "", invalid(name, fmt.Sprintf("holds %q", r))
		default:
			s := c.swap(r)
			switch {
			case s < 0:
				out = append(quotes(out, j), name[i:i+size]...)
			case r == c.swaps[s].Backend:
				return "", invalid(name, fmt.Sprintf("holds %q", r))
			case j%2 == 0:
				out = utf8.AppendRune(quotes(out, j/2), c.swaps[s].Backend)
			default:
				out = utf8.AppendRune(quotes(out, j/2), r)
			}
		}
		i += size
	}
	return string(out), nil
}

// Decode returns the contract name for backend name name, which should
// be valid UTF-8 (invalid bytes are copied unchanged). "" decodes to "".
func (c *Codec) Decode(name string) string {
	if c.plain(name) {
		return name
	}
	if n, ok := decodeWhole(name); ok {
		return n
	}
	out := make([]byte, 0, len(name)+8)
	for i := 0; i < len(name); {
		k := 0
		for strings.HasPrefix(name[i:], quote) {
			i += len(quote)
			k++
		}
		if i == len(name) {
			out = quotes(out, k)
			break
		}
		if hexHi(name[i:]) {
			v := hexValue(name[i:])
			switch {
			case k%2 == 1 && (k > 1 || !merges(tail(out), v)):
				out = append(quotes(out, k/2), v)
			case k%2 == 1: // k == 1 in merge context: literal
				out = append(quotes(out, 1), name[i:i+2]...)
			case k > 0 && merges(tail(out), v):
				out = append(quotes(out, k/2+1), name[i:i+2]...)
			default:
				out = append(quotes(out, k/2), name[i:i+2]...)
			}
			i += 2
			continue
		}
		r, size := utf8.DecodeRuneInString(name[i:])
		switch s := c.swap(r); {
		case s < 0:
			out = append(quotes(out, k), name[i:i+size]...)
		case r == c.swaps[s].Backend:
			out = utf8.AppendRune(quotes(out, 2*k), c.swaps[s].Contract)
		default:
			out = utf8.AppendRune(quotes(out, 2*k+1), r)
		}
		i += size
	}
	return string(out)
}

// encodeWhole applies the whole-name rules to contract name name.
func encodeWhole(name string) (string, bool) {
	switch name {
	case dot1:
		return ".", true
	case dot2:
		return "..", true
	}
	rest := strings.TrimLeft(name, quote)
	if rest == name || (rest != dot1 && rest != dot2) {
		return "", false
	}
	return name[len(quote):], true
}

// decodeWhole applies the whole-name rules to backend name name.
func decodeWhole(name string) (string, bool) {
	switch name {
	case ".":
		return dot1, true
	case "..":
		return dot2, true
	}
	if rest := strings.TrimLeft(name, quote); rest == dot1 || rest == dot2 {
		return quote + name, true
	}
	return "", false
}

// quotes appends n Q's to out.
func quotes(out []byte, n int) []byte {
	for range n {
		out = append(out, quote...)
	}
	return out
}

// hexHi reports whether s starts with two uppercase hex digits whose
// value is 0x80 or more.
func hexHi(s string) bool {
	return len(s) >= 2 && strings.IndexByte("89ABCDEF", s[0]) >= 0 && strings.IndexByte(hexDigits, s[1]) >= 0
}

// hexValue is the value of the hexhi at the start of s.
func hexValue(s string) byte {
	return byte(strings.IndexByte(hexDigits, s[0])<<4 | strings.IndexByte(hexDigits, s[1]))
}

// merges reports whether b would complete a valid rune after the contract
// prefix prefix: prefix ends with P, a proper prefix of a valid UTF-8
// sequence, and P+b is a whole valid rune (the "merge context").
func merges(prefix string, b byte) bool {
	for n := 1; n <= min(3, len(prefix)); n++ {
		p := prefix[len(prefix)-n:]
		if utf8.FullRuneInString(p) {
			continue
		}
		q := p + string([]byte{b})
		_, size := utf8.DecodeRuneInString(q)
		return utf8.FullRuneInString(q) && size == len(q)
	}
	return false
}

// tail is the end of out that merges looks at.
func tail(out []byte) string { return string(out[max(0, len(out)-3):]) }

// invalid is the error for a string that is not a contract name.
func invalid(name, why string) error {
	return fmt.Errorf("name %q: %s: %w", name, why, fs.ErrInvalid)
}
