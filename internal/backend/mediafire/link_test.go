package mediafire

import (
	"strings"
	"testing"
)

func TestParseLink(t *testing.T) {
	for _, tc := range []struct {
		arg, user, pass, root string
		hasPass               bool
		bad                   string
	}{
		{arg: "mf://duplicity%40example.com@mediafire.com/some_folder", user: "duplicity@example.com", root: "some_folder"},
		{arg: "mf://a%40b.c:s3cret%20pass@mediafire.com/x/y/", user: "a@b.c", pass: "s3cret pass", hasPass: true, root: "x/y"},
		{arg: "MF://a%40b.c@mediafire.com", user: "a@b.c", root: ""},
		{arg: "mf://mediafire.com/x", bad: "no account"},
		{arg: "mf://a%40b.c@/x", bad: "no host"},
		{arg: "mf://a%40b.c:pw@mediafire.com/x?y=1", bad: "query"},
		{arg: "mf://a%40b.c:pw@mediafire.com/../x", bad: "path"},
	} {
		user, pass, hasPass, root, err := parseLink(tc.arg)
		if tc.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("parseLink(%q): error %v, want one saying %q", tc.arg, err, tc.bad)
			}
			if err != nil && strings.Contains(err.Error(), ":pw@") {
				t.Errorf("parseLink(%q): error shows the password: %v", tc.arg, err)
			}
			continue
		}
		if err != nil || user != tc.user || pass != tc.pass || hasPass != tc.hasPass || root != tc.root {
			t.Errorf("parseLink(%q) = %q, %q, %v, %q, %v", tc.arg, user, pass, hasPass, root, err)
		}
	}
	if !IsLink("mf://x@y/z") || IsLink("mega:x") || IsLink("/tmp/mf://") {
		t.Error("IsLink")
	}
}

func TestRedactLink(t *testing.T) {
	for in, want := range map[string]string{
		"mf://a%40b.c:s3cret@mediafire.com/x": "mf://a%40b.c:***@mediafire.com/x",
		"mf://a%40b.c@mediafire.com/x":        "mf://a%40b.c@mediafire.com/x",
		"mf://mediafire.com/x@y":              "mf://mediafire.com/x@y",
	} {
		if got := RedactLink(in); got != want {
			t.Errorf("RedactLink(%q) = %q, want %q", in, got, want)
		}
	}
}
