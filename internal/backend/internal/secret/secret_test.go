package secret

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestNeverPrints checks fmt's verbs and slog on a String and on a
// struct holding one.
func TestNeverPrints(t *testing.T) {
	const pw = "hunter2-password"
	s := String(pw)
	conf := struct {
		User string
		Pass String
	}{"a@example.org", s}
	for _, verb := range []string{"%v", "%s", "%q", "%#v", "%+v"} {
		for _, v := range []any{s, conf, &conf} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, pw) {
				t.Errorf("Sprintf(%q, %T) = %q: shows the secret", verb, v, out)
			}
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "pass", s)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "pass", s)
	if strings.Contains(buf.String(), pw) {
		t.Errorf("log shows the secret: %s", buf.String())
	}
	if string(s) != pw {
		t.Errorf("string(s) = %q, want %q", string(s), pw)
	}
}
