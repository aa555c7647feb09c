package mediafire

import (
	"strings"

	"ferry/internal/backend/encoding"
)

// nameCodec is the first step of the name mapping: invalid UTF-8 and the
// whole names "." and ".." as package encoding codes them. MediaFire
// names cannot hold "/" or NUL, so it swaps nothing.
var nameCodec = encoding.New()

// The second step (escapeName, unescapeName) undoes what the service
// cannot hold of the first step's output, reversibly:
//
//   - "." and ".." (which the codec makes of "．" and "．．") become "．"
//     and "．．" again, and a run of Q's followed by "．" or "．．" as a
//     whole name gets one more Q; Q is encoding.Quote;
//   - a backslash, which the service refuses, becomes '＼' (U+FF3C) after
//     a run of Q's doubled, and a '＼' after a run of Q's doubled plus one,
//     as package encoding swaps runes.
const (
	backslash  = '\\'
	lookalike  = '＼' // U+FF3C FULLWIDTH REVERSE SOLIDUS
	quoteRune  = encoding.Quote
	fullStop   = string(encoding.FullStop)
	quoteStr   = string(quoteRune)
	escapeable = `\＼`
)

// encodeName is the MediaFire name of contract name name.
func encodeName(name string) (string, error) {
	u, err := nameCodec.Encode(name)
	if err != nil {
		return "", err
	}
	return escapeName(u), nil
}

// decodeName is the contract name of MediaFire name m.
func decodeName(m string) string { return nameCodec.Decode(unescapeName(m)) }

func escapeName(u string) string {
	switch u {
	case ".":
		return fullStop
	case "..":
		return fullStop + fullStop
	}
	if rest := strings.TrimLeft(u, quoteStr); rest == fullStop || rest == fullStop+fullStop {
		return quoteStr + u
	}
	if !strings.ContainsAny(u, escapeable) {
		return u
	}
	var b strings.Builder
	q := 0 // Q's seen and not yet written
	for _, r := range u {
		switch r {
		case quoteRune:
			q++
			continue
		case backslash:
			b.WriteString(strings.Repeat(quoteStr, 2*q))
			b.WriteRune(lookalike)
		case lookalike:
			b.WriteString(strings.Repeat(quoteStr, 2*q+1))
			b.WriteRune(lookalike)
		default:
			b.WriteString(strings.Repeat(quoteStr, q))
			b.WriteRune(r)
		}
		q = 0
	}
	b.WriteString(strings.Repeat(quoteStr, q))
	return b.String()
}

func unescapeName(m string) string {
	switch m {
	case fullStop:
		return "."
	case fullStop + fullStop:
		return ".."
	}
	if rest := strings.TrimLeft(m, quoteStr); rest != m && (rest == fullStop || rest == fullStop+fullStop) {
		return m[len(quoteStr):]
	}
	if !strings.ContainsRune(m, lookalike) {
		return m
	}
	var b strings.Builder
	q := 0
	for _, r := range m {
		switch r {
		case quoteRune:
			q++
			continue
		case lookalike:
			b.WriteString(strings.Repeat(quoteStr, q/2))
			if q%2 == 0 {
				b.WriteRune(backslash)
			} else {
				b.WriteRune(lookalike)
			}
		default:
			b.WriteString(strings.Repeat(quoteStr, q))
			b.WriteRune(r)
		}
		q = 0
	}
	b.WriteString(strings.Repeat(quoteStr, q))
	return b.String()
}
