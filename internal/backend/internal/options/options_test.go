package options

import (
	"strings"
	"testing"
)

func TestAccount(t *testing.T) {
	user, pass, url, err := Account("mega", "m", map[string]string{User: " a@b ", Pass: "pw", URL: "http://h:1/"}, "https://d")
	if err != nil || user != "a@b" || pass != "pw" || url != "http://h:1" {
		t.Fatalf("Account = %q %q %q %v", user, pass, url, err)
	}
	if _, _, url, _ := Account("mega", "m", map[string]string{User: "a", Pass: "pw"}, "https://d"); url != "https://d" {
		t.Errorf("default URL: %q", url)
	}
	for _, c := range []struct {
		cfg  map[string]string
		want string
	}{
		{map[string]string{Pass: "pw"}, `mega remote "m": option "user" (the account's e-mail) is required`},
		{map[string]string{User: "a"}, `mega remote "m": option "pass" is required`},
		{map[string]string{User: "a", Pass: "secret", URL: "ftp://x"}, `mega remote "m": option "url": "ftp://x" is not an http(s) URL`},
	} {
		_, _, _, err := Account("mega", "m", c.cfg, "https://d")
		if err == nil || err.Error() != c.want || strings.Contains(err.Error(), "secret") {
			t.Errorf("Account(%v) = %v, want %s", c.cfg, err, c.want)
		}
	}
}

func TestBool(t *testing.T) {
	for v, want := range map[string]bool{"": false, " true ": true, "false": false, "1": true} {
		if got, err := Bool("mega", "m", "debug", v); err != nil || got != want {
			t.Errorf("Bool(%q) = %v, %v", v, got, err)
		}
	}
	if _, err := Bool("mediafire", "f", "hard_delete", "maybe"); err == nil || err.Error() != `mediafire remote "f": option "hard_delete": "maybe" is not true or false` {
		t.Errorf("Bool(maybe) = %v", err)
	}
}
