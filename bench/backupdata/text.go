package backupdata

import (
	"math/rand/v2"
	"strconv"
)

// syllables build the vocabulary of the text files. Words are two or
// three syllables, so the vocabulary is large enough (a few thousand
// words) that text does not collapse into a handful of repeated strings.
var syllables = []string{
	"ar", "bel", "cor", "dan", "el", "fir", "gal", "hon", "ix", "jun",
	"ka", "lum", "mor", "nex", "ob", "pra", "qui", "ros", "sil", "tor",
	"ul", "ven", "wis", "xar", "yel", "zon", "chunk", "pack", "blob",
	"tree", "node", "file", "read", "write", "cache", "index", "hash",
	"key", "sync", "lock", "page", "span", "byte", "peer", "load", "save",
}

var (
	levels     = []string{"INFO", "INFO", "INFO", "INFO", "DEBUG", "DEBUG", "WARN", "ERROR"}
	keywords   = []string{"if", "for", "return", "var", "func", "switch", "case", "defer", "go", "else"}
	operators  = []string{" = ", " := ", " + ", " - ", " == ", " != ", " < ", " && ", " || "}
	hexDigits  = "0123456789abcdef"
	extensions = []string{"go", "log", "txt", "c", "py", "md"}
)

// textGen writes plausible text, alternating in long runs between two
// styles: log lines (timestamps, levels, messages, key=value pairs with
// numbers and hex ids) and source code (indented statements, identifiers,
// literals, comments). Both compress with zstd about 3-4x: there is
// structure to find, but every line carries fresh numbers and word
// choices, so there is little to find across files.
type textGen struct {
	r     *rand.Rand
	vocab []string
	ts    int64 // log timestamp, milliseconds
	style int   // 0 log, 1 source
	left  int   // lines left in the current style
	depth int   // source indentation
}

// vocabulary returns the word list shared by every text file (the same
// for every seed: it is part of the "language", not of a file).
func vocabulary() []string {
	r := rand.New(rand.NewPCG(0x766f636162, 0))
	seen := make(map[string]bool)
	var v []string
	for len(v) < 3000 {
		n := 2 + r.IntN(2)
		w := ""
		for range n {
			w += syllables[r.IntN(len(syllables))]
		}
		if !seen[w] {
			seen[w] = true
			v = append(v, w)
		}
	}
	return v
}

var sharedVocabulary = vocabulary()

// messages returns the log messages shared by every text file: log lines
// repeat a program's few hundred messages with different values.
func messages() []string {
	r := rand.New(rand.NewPCG(0x6d7367, 0))
	m := make([]string, 500)
	for i := range m {
		s := ""
		for j := range 2 + r.IntN(6) {
			if j > 0 {
				s += " "
			}
			s += sharedVocabulary[r.IntN(1+r.IntN(len(sharedVocabulary)))]
		}
		m[i] = s
	}
	return m
}

var sharedMessages = messages()

func newTextGen(seed1, seed2 uint64) *textGen {
	r := rand.New(rand.NewPCG(seed1, seed2))
	return &textGen{r: r, vocab: sharedVocabulary, ts: 1767225600000 + r.Int64N(1e10)}
}

// word returns a vocabulary word, skewed towards the start of the list
// as natural word frequencies are.
func (g *textGen) word() string {
	i := g.r.IntN(len(g.vocab))
	if g.r.IntN(3) > 0 {
		i = g.r.IntN(1 + i/32)
	}
	return g.vocab[i]
}

func (g *textGen) hex(b []byte, n int) []byte {
	for range n {
		b = append(b, hexDigits[g.r.IntN(16)])
	}
	return b
}

// line appends one line to b.
func (g *textGen) line(b []byte) []byte {
	if g.left == 0 {
		g.style = g.r.IntN(2)
		g.left = 50 + g.r.IntN(400)
	}
	g.left--
	if g.style == 0 {
		return g.logLine(b)
	}
	return g.sourceLine(b)
}

func (g *textGen) logLine(b []byte) []byte {
	g.ts += int64(g.r.IntN(2000))
	b = strconv.AppendInt(b, g.ts/1000, 10)
	b = append(b, '.')
	ms := g.ts % 1000
	b = append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	b = append(b, ' ')
	b = append(b, levels[g.r.IntN(len(levels))]...)
	b = append(b, ' ')
	b = append(b, g.word()...)
	b = append(b, '/')
	b = append(b, g.word()...)
	b = append(b, ".go:"...)
	b = strconv.AppendInt(b, int64(1+g.r.IntN(900)), 10)
	b = append(b, ' ')
	b = append(b, sharedMessages[g.r.IntN(1+g.r.IntN(len(sharedMessages)))]...)
	if g.r.IntN(2) == 0 {
		b = append(b, ' ')
		b = append(b, g.word()...)
	}
	for range g.r.IntN(4) {
		b = append(b, ' ')
		b = append(b, g.word()...)
		b = append(b, '=')
		switch g.r.IntN(4) {
		case 0:
			b = g.hex(b, 8)
		case 1:
			b = strconv.AppendInt(b, int64(g.r.IntN(100000)), 10)
		case 2:
			b = strconv.AppendInt(b, int64(g.r.IntN(1000)), 10)
			b = append(b, "ms"...)
		default:
			b = append(b, g.word()...)
		}
	}
	return append(b, '\n')
}

func (g *textGen) ident(b []byte) []byte {
	b = append(b, g.word()...)
	if g.r.IntN(2) == 0 {
		w := g.word()
		b = append(b, w[0]-'a'+'A')
		b = append(b, w[1:]...)
	}
	return b
}

func (g *textGen) sourceLine(b []byte) []byte {
	for range g.depth {
		b = append(b, '\t')
	}
	switch k := g.r.IntN(10); {
	case k == 0 && g.depth < 5:
		b = append(b, keywords[g.r.IntN(4)]...)
		b = append(b, ' ')
		b = g.ident(b)
		b = append(b, operators[g.r.IntN(len(operators))]...)
		b = strconv.AppendInt(b, int64(g.r.IntN(64)), 10)
		b = append(b, " {"...)
		g.depth++
	case k == 1 && g.depth > 0:
		b = b[:len(b)-1]
		b = append(b, '}')
		g.depth--
	case k == 2:
		b = append(b, "// "...)
		for range 3 + g.r.IntN(8) {
			b = append(b, g.word()...)
			b = append(b, ' ')
		}
	case k == 3:
		b = g.ident(b)
		b = append(b, " := \""...)
		b = append(b, g.word()...)
		b = append(b, ' ')
		b = g.hex(b, 4)
		b = append(b, '"')
	default:
		b = g.ident(b)
		b = append(b, operators[g.r.IntN(len(operators))]...)
		b = g.ident(b)
		b = append(b, '(')
		for i := range g.r.IntN(4) {
			if i > 0 {
				b = append(b, ", "...)
			}
			if g.r.IntN(3) == 0 {
				b = strconv.AppendInt(b, int64(g.r.IntN(4096)), 10)
			} else {
				b = g.ident(b)
			}
		}
		b = append(b, ')')
	}
	return append(b, '\n')
}

// fill fills p with text: whole lines, the last one cut at len(p).
// pending carries a cut line's rest into the next call.
func (g *textGen) fill(p, pending []byte) (rest []byte) {
	n := copy(p, pending)
	pending = pending[n:]
	buf := pending[:0:0]
	for n < len(p) {
		buf = g.line(buf[:0])
		c := copy(p[n:], buf)
		n += c
		if c < len(buf) {
			return buf[c:]
		}
	}
	if len(pending) > 0 {
		return pending
	}
	return nil
}
