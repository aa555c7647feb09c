// Package encoding maps names between the storage contract and a backend
// that cannot hold every contract name, or holds names the contract
// cannot show, with a reversible, collision-free code.
//
// A contract name (what package backend and everything above it sees) is
// any non-empty byte string without "/" or NUL that is not "." or "..";
// it may be invalid UTF-8, because local file systems allow that. A
// backend name (what MEGA stores, for example) is valid UTF-8 and may
// hold "/", NUL, or be "." or "..", because other clients make such
// names. A Codec is a bijection between the two sets:
//
//	Decode(Encode(c)) == c   for every contract name c
//	Encode(Decode(m)) == m   for every non-empty valid UTF-8 backend name m
//
// so no two names on one side meet on the other, a sync converges and a
// round trip gives the original bytes. Names that need none of the rules
// below (the overwhelming majority) are returned unchanged, without
// allocating.
//
// # Tokens and the quote rune
//
// A name is read as tokens with utf8.DecodeRuneInString: a token is a
// valid rune or one byte that does not start one. Q is the quote rune
// '‛' (U+201B), as in rclone's lib/encoder. Every rule below acts on a
// maximal run of Q's and the token after it; a run followed by anything
// else is copied unchanged. The counts of Q's carry the information, so
// a name that already holds Q's never collides with an encoded one.
//
// # Invalid bytes
//
// Only contract names hold invalid bytes. "hexhi" is two characters of
// [0-9A-F] whose value is 0x80 or more (the first is one of 89ABCDEF).
//
//	contract            backend
//	Q^j + byte b        Q^(2j+1) + b in two uppercase hex digits   c\xff.txt <-> c‛FF.txt
//	Q^j + hexhi         Q^(2j) + hexhi                             ‛FF       <-> ‛‛FF
//
// Decoding is the inverse: Q^m + hexhi is a byte after (m-1)/2 Q's when
// m is odd, and the two characters after m/2 Q's when m is even.
//
// One exception keeps this a bijection. A decoded byte must stay an
// invalid token in the contract name; the backend name ‛C3‛A9 would
// otherwise decode to the bytes C3 A9, which are "é", which is also the
// decoding of the backend name "é". So let P be the bytes just before
// the run of Q's in the contract name that are a proper prefix of a
// valid UTF-8 sequence (a lead byte and up to two continuation bytes,
// utf8.FullRune false). When P followed by the hexhi's value is a
// complete valid rune, the hexhi is in "merge context", where:
//
//	contract            backend
//	Q^0 + hexhi         hexhi
//	Q^1 + hexhi         Q^1 + hexhi
//	Q^j + hexhi, j>=2   Q^(2j-2) + hexhi
//	Q^j + byte, j>=1    Q^(2j+1) + hex     (as outside the context)
//
// (Q^0 + byte cannot occur there: P and that byte would be a valid
// rune.) So ‛C3‛A9 decodes to the byte C3, a Q and "A9". P is computed
// from the contract name on both sides, so both agree on the context.
// The fuzz target FuzzCodec found this case.
//
// # Swapped runes
//
// A Codec swaps runes a backend holds but the contract cannot or should
// not show for look-alikes; MEGA's codec has two pairs, "/" <-> '／'
// (U+FF0F) and NUL <-> '␀' (U+2400). For a pair (B backend, C contract):
//
//	contract            backend
//	Q^(2i) + C          Q^i + B     a/b   <-> a／b
//	Q^(2i+1) + C        Q^i + C     ‛／   <-> ／
//
// A contract name holding "/" or NUL, or any B, is invalid (fs.ErrInvalid).
//
// # Whole names
//
// "." and ".." are checked first, on the whole name, before the token
// rules, with '．' (U+FF0E) as the look-alike:
//
//	contract            backend
//	．                  .
//	Q^(m+1) + ．        Q^m + ．       (m >= 0)
//	．．                ..
//	Q^(m+1) + ．．      Q^m + ．．     (m >= 0)
//
// and Q^m + "." or Q^m + ".." with m >= 1 are ordinary names, unchanged
// both ways.
//
// # Example
//
//	c := encoding.New(encoding.Slash, encoding.NUL)
//	m, _ := c.Encode("c\xff.txt") // "c‛FF.txt", rclone's form
//	c.Decode("a/b.txt")           // "a／b.txt"
//	c.Decode("..")                // "．．"
package encoding
