package mega

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"ferry/mega/megacrypto"
)

func TestParseLink(t *testing.T) {
	fk := megacrypto.B64Encode(bytes.Repeat([]byte{7}, 32))
	sk := megacrypto.B64Encode(bytes.Repeat([]byte{9}, 16))
	tests := []struct {
		name, in string
		folder   bool
		node     string
	}{
		{"file", "https://mega.nz/file/AbCdEf12#" + fk, false, ""},
		{"folder", "https://mega.nz/folder/AbCdEf12#" + sk, true, ""},
		{"folder with file", "https://mega.nz/folder/AbCdEf12#" + sk + "/file/ZZZZZZZZ", true, "ZZZZZZZZ"},
		{"folder with folder", "https://mega.nz/folder/AbCdEf12#" + sk + "/folder/Zz-_ZZZZ", true, "Zz-_ZZZZ"},
		{"legacy file", "https://mega.nz/#!AbCdEf12!" + fk, false, ""},
		{"legacy folder", "https://mega.nz/#F!AbCdEf12!" + sk, true, ""},
		{"legacy folder with node", "https://mega.co.nz/#F!AbCdEf12!" + sk + "!ZZZZZZZZ", true, "ZZZZZZZZ"},
		{"legacy co.nz", "https://mega.co.nz/#!AbCdEf12!" + fk, false, ""},
		{"local server", "http://127.0.0.1:4430/folder/AbCdEf12#" + sk, true, ""},
		{"www, trailing space", " https://www.mega.nz/file/AbCdEf12#" + fk + "\n", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseLink(tt.in)
			if err != nil {
				t.Fatalf("ParseLink(%q): %v", tt.in, err)
			}
			if l.Folder != tt.folder || l.Handle != "AbCdEf12" || l.Node != tt.node {
				t.Errorf("got folder=%v handle=%q node=%q, want %v AbCdEf12 %q", l.Folder, l.Handle, l.Node, tt.folder, tt.node)
			}
			back, err := ParseLink(l.String())
			if err != nil || back.Folder != l.Folder || back.Handle != l.Handle || back.Node != l.Node || !bytes.Equal(back.Key, l.Key) {
				t.Errorf("ParseLink(String()=%q) = %+v, %v", l.String(), back, err)
			}
			if local, err := ParseLink(l.URL("http://127.0.0.1:9")); err != nil || !bytes.Equal(local.Key, l.Key) {
				t.Errorf("ParseLink(URL(local)) = %+v, %v", local, err)
			}
		})
	}
}

func TestParseLinkErrors(t *testing.T) {
	fk := megacrypto.B64Encode(bytes.Repeat([]byte{7}, 32))
	sk := megacrypto.B64Encode(bytes.Repeat([]byte{9}, 16))
	tests := []struct{ name, in, want string }{
		{"empty", "", "want https://"},
		{"not a url", "m:photos", "want https://"},
		{"ftp", "ftp://mega.nz/file/AbCdEf12#" + fk, "want https://"},
		{"no key", "https://mega.nz/file/AbCdEf12", "no key"},
		{"empty key", "https://mega.nz/file/AbCdEf12#", "empty key"},
		{"short handle", "https://mega.nz/file/AbC#" + fk, "public handle"},
		{"folder key on a file", "https://mega.nz/file/AbCdEf12#" + sk, "key of 16 bytes, want 32"},
		{"file key on a folder", "https://mega.nz/folder/AbCdEf12#" + fk, "key of 32 bytes, want 16"},
		{"bad key", "https://mega.nz/file/AbCdEf12#" + strings.Repeat("*", 43), "not base64"},
		{"other path", "https://mega.nz/photos/AbCdEf12#" + fk, "want a path"},
		{"bad suffix", "https://mega.nz/folder/AbCdEf12#" + sk + "/x/ZZZZZZZZ", "after the key"},
		{"bad node", "https://mega.nz/folder/AbCdEf12#" + sk + "/file/Z", "node handle"},
		{"legacy short", "https://mega.nz/#!AbCdEf12", "want #!<handle>!<key>"},
		{"no host", "https:///file/AbCdEf12#" + fk, "no host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLink(tt.in)
			if !errors.Is(err, ErrLink) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseLink(%q) = %v, want ErrLink saying %q", tt.in, err, tt.want)
			}
			if strings.Contains(err.Error(), fk) || strings.Contains(err.Error(), sk) {
				t.Errorf("error quotes the key: %v", err)
			}
		})
	}
}

func TestLinkBase(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "https://mega.nz",
		DefaultAPIURL:               "https://mega.nz",
		DefaultAPIURL + "/":         "https://mega.nz",
		"https://eu.api.mega.co.nz": "https://mega.nz",
		"http://127.0.0.1:4430":     "http://127.0.0.1:4430",
		"http://127.0.0.1:4430/":    "http://127.0.0.1:4430",
		"https://mega.example.org":  "https://mega.example.org",
	} {
		if got := LinkBase(in); got != want {
			t.Errorf("LinkBase(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParseLink: ParseLink never panics, accepts only well-formed links
// (a handle of 8 characters, a key of the kind's size), and what it
// accepts prints back to an equal link.
func FuzzParseLink(f *testing.F) {
	fk := megacrypto.B64Encode(bytes.Repeat([]byte{7}, 32))
	sk := megacrypto.B64Encode(bytes.Repeat([]byte{9}, 16))
	for _, s := range []string{
		"https://mega.nz/file/AbCdEf12#" + fk,
		"https://mega.nz/folder/AbCdEf12#" + sk + "/file/ZZZZZZZZ",
		"https://mega.nz/#!AbCdEf12!" + fk,
		"https://mega.co.nz/#F!AbCdEf12!" + sk + "!ZZZZZZZZ",
		"http://127.0.0.1:1/folder/AbCdEf12#" + sk,
		"https://mega.nz/#F!!", "https://mega.nz/folder/#/file/", "http://#", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLink(s)
		if err != nil {
			if !errors.Is(err, ErrLink) {
				t.Fatalf("error %v does not wrap ErrLink", err)
			}
			return
		}
		want := 32
		if l.Folder {
			want = 16
		}
		if len(l.Handle) != 8 || len(l.Key) != want || (l.Node != "" && len(l.Node) != 8) || (!l.Folder && l.Node != "") {
			t.Fatalf("ParseLink(%q) accepted %+v", s, l)
		}
		back, err := ParseLink(l.String())
		if err != nil || back.Folder != l.Folder || back.Handle != l.Handle || back.Node != l.Node || !bytes.Equal(back.Key, l.Key) {
			t.Fatalf("round trip of %q: %+v, %v", l.String(), back, err)
		}
	})
}
