package dupurl

import (
	"strings"
	"testing"
)

var mega = Scheme{Prefix: "mega://", Service: "mega", Example: "mega://user%40example.com@mega.nz/folder", HostUse: "write mega.nz"}

func TestParse(t *testing.T) {
	t.Setenv(PasswordEnv, "from-env")
	u, err := mega.Parse("MEGA://ann%40example.com@mega.nz/backups/host1")
	if err != nil || u.User != "ann@example.com" || u.HasPass || u.Path != "/backups/host1" {
		t.Fatalf("Parse: %+v %v", u, err)
	}
	if p := u.Password("opt"); p != "from-env" {
		t.Errorf("password %q, want $FTP_PASSWORD's", p)
	}
	u, err = mega.Parse("mega://ann%40example.com:s3cret@mega.nz/x")
	if err != nil || u.Password("opt") != "s3cret" {
		t.Fatalf("Parse with a password: %+v %v", u, err)
	}
	t.Setenv(PasswordEnv, "")
	if p := (URL{}).Password("opt"); p != "opt" {
		t.Errorf("fallback %q", p)
	}
	for arg, want := range map[string]string{
		"mega://mega.nz/x":               "no account",
		"mega://a%40b@/x":                "no host",
		"mega://a%40b@mega.nz/x?y=1":     "query",
		"mega://a%40b:pw@mega.nz/x#frag": "fragment",
		"mega://a%40b:p%zzw@mega.nz/x":   "invalid",
	} {
		_, err := mega.Parse(arg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error saying %q", arg, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("Parse(%q): the error shows the password: %v", arg, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"mega://a%40b:secret@mega.nz/x": "mega://a%40b:***@mega.nz/x",
		"mega://a%40b@mega.nz/x":        "mega://a%40b@mega.nz/x",
		"mega://mega.nz/x:y@z":          "mega://mega.nz/x:y@z",
	} {
		if got := mega.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	if !mega.Match("Mega://x") || mega.Match("mf://x") || mega.Match("meg") {
		t.Error("Match")
	}
}
