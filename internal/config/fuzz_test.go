package config

import (
	"bytes"
	"testing"
)

// FuzzParse checks that the parser never panics and that whatever it
// accepts formats to text that parses to the same remotes and formats
// identically again.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		sample,
		"[a]\ntype = mega\nuser = \"  x \"\n",
		"# only a comment\n",
		"[a]\r\nk=v\r\n;c\r\n",
		"[a]\nk = \"\\x00\\n\"\n",
		"\ufeff[ü b]\n k = = \n",
		"[a]\nk\n",
		"x = y\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.conf", data)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		out := file.Bytes()
		again, err := Parse("fuzz.conf", out)
		if err != nil {
			t.Fatalf("formatted text does not parse: %v\n%q\nfrom %q", err, out, data)
		}
		if !bytes.Equal(again.Bytes(), out) {
			t.Fatalf("format not stable:\n%q\n%q", out, again.Bytes())
		}
		for _, name := range file.Names() {
			a, b := file.Remote(name), again.Remote(name)
			if b == nil {
				t.Fatalf("remote %q lost", name)
			}
			for _, k := range a.Keys() {
				va, _ := a.Get(k)
				vb, ok := b.Get(k)
				if !ok || va != vb {
					t.Fatalf("[%s] %s: %q became %q", name, k, va, vb)
				}
			}
		}
	})
}

// FuzzDecrypt checks that damaged encrypted files give errors, not panics.
func FuzzDecrypt(f *testing.F) {
	f.Add([]byte(encryptedHeader + "\nAAAA\n# end\n"))
	f.Add([]byte(encryptedHeader + "\n" + "QUJD\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !isEncrypted(data) {
			return
		}
		// A cheap "password" function that fails keeps argon2 out of the loop.
		_, _, err := decrypt("fuzz.conf", data, func() (string, error) { return "", errStop })
		if err == nil {
			t.Fatal("decrypted without a password")
		}
	})
}

var errStop = &ParseError{Msg: "stop"}
