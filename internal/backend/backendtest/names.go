package backendtest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"ferry/internal/backend"
)

// oddNames are file names every backend must store and give back
// unchanged (the contract allows any name without "/" or NUL that is not
// "." or ".."); a backend that cannot store a character encodes it.
var oddNames = []string{
	"with space",
	"  leading spaces",
	"trailing spaces  ",
	" both ",
	"ünïcödé Ελληνικά 日本語",
	"cafe\u0301 (combining acute)",
	"caf\u00e9 (precomposed)",
	"emoji 📁🚀✨👩‍👩‍👧",
	`"double quotes"`,
	"'single quotes'",
	"back`tick",
	"question?mark",
	"less<than",
	"greater>than",
	"amp&ersand",
	"plus+sign",
	"percent%20encoded%2F",
	"hash#tag",
	`back\slash`,
	"colon:name",
	"star*pipe|",
	"semi;colon,comma=equals@at$dollar~tilde",
	"[brackets]{braces}(parens)",
	".leading-dot",
	"..two-leading-dots",
	"trailing-dot.",
	"-leading-dash",
	"long-" + strings.Repeat("x", 191) + ".txt", // 200 bytes
	strings.Repeat("é", 100),                    // 200 bytes, 100 runes
}

// oddDir is a directory name mixing several of the odd characters.
const oddDir = " dir ü ? # % & + \\ : 'q' \"dq\" "

// testOddNames round-trips every odd name through Put, List, Stat, Open and
// Remove, at the root and inside an oddly named directory.
func testOddNames(t *testing.T, b backend.Backend, _ *Config) {
	ctx := t.Context()
	for _, dir := range []string{"", oddDir} {
		var want []string
		for i, name := range oddNames {
			p := backend.Join(dir, name)
			if p != dir+strings.Repeat("/", min(len(dir), 1))+name {
				t.Fatalf("backend.Join(%q, %q) = %q: the name is not a single element", dir, name, p)
			}
			data := []byte(fmt.Sprintf("%d:%s", i, name))
			e := put(t, b, p, data, mtime1)
			wantEntry(t, b, fmt.Sprintf("Put(%q)", p), e, p, false, int64(len(data)), mtime1)
			wantEntry(t, b, fmt.Sprintf("Stat(%q)", p), stat(t, b, p), p, false, int64(len(data)), mtime1)
			wantFile(t, b, p, data)
			want = append(want, p)
		}
		if dir != "" {
			wantDir(t, b, dir)
			if got := paths(list(t, b, "")); !slices.Equal(got, []string{dir + "/"}) {
				t.Errorf("List(\"\") = %q, want [%q]", got, dir+"/")
			}
		}
		slices.Sort(want)
		es := list(t, b, dir)
		if got := paths(es); !slices.Equal(got, want) {
			t.Errorf("List(%q):\n got %q\nwant %q", dir, got, want)
		}
		for _, p := range want {
			if err := b.Remove(ctx, p); err != nil {
				t.Errorf("Remove(%q): %v", p, err)
				continue
			}
			wantNotExist(t, b, p)
		}
		if es := list(t, b, dir); len(es) != 0 {
			t.Errorf("List(%q) after removing everything = %q, want empty", dir, paths(es))
		}
	}

	// Odd names as directories too.
	for _, name := range []string{"ünï cödé", "q?<>&+%#", ".hidden", "emoji 🚀"} {
		p := backend.Join(name, "sub", name)
		put(t, b, p, []byte(name), mtime1)
		wantDir(t, b, name)
		wantDir(t, b, backend.Join(name, "sub"))
		if got := paths(list(t, b, backend.Join(name, "sub"))); !slices.Equal(got, []string{p}) {
			t.Errorf("List(%q) = %q, want [%q]", backend.Join(name, "sub"), got, p)
		}
		wantFile(t, b, p, []byte(name))
	}
}
