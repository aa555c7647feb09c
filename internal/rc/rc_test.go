package rc

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
)

func newTestDaemon(t *testing.T) (*Client, backend.Backend) {
	t.Helper()
	mem := memory.New()
	opens := 0
	open := func(_ context.Context, fs string) (backend.Backend, string, error) {
		opens++
		name, p, ok := strings.Cut(fs, ":")
		if !ok || name != "mem" {
			return nil, "", errors.New("unknown remote " + fs)
		}
		return mem, p, nil
	}
	reg := NewRegistry()
	AddOperations(reg, open)
	reg.Add(Call{Path: "test/slow", Fn: func(ctx context.Context, in Params) (Params, error) {
		select {
		case <-time.After(50 * time.Millisecond):
			return Params{"done": true}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}})
	srv := NewServer(reg, "u", "p", nil)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return &Client{URL: hs.URL, User: "u", Pass: "p"}, mem
}

func TestOperations(t *testing.T) {
	c, mem := newTestDaemon(t)
	ctx := t.Context()
	if _, err := mem.Put(ctx, "dir/a.txt", strings.NewReader("hello"), 5, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	out, err := c.Call(ctx, "operations/list", Params{"fs": "mem:", "remote": "dir"})
	if err != nil {
		t.Fatal(err)
	}
	list, _ := out["list"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["Name"] != "a.txt" || list[0].(map[string]any)["Size"] != float64(5) {
		t.Fatalf("operations/list = %v", out)
	}
	if _, err := c.Call(ctx, "operations/mkdir", Params{"fs": "mem:x", "remote": "y"}); err != nil {
		t.Fatal(err)
	}
	if e, err := mem.Stat(ctx, "x/y"); err != nil || !e.IsDir {
		t.Fatalf("mkdir: stat x/y = %v, %v", e, err)
	}
	if _, err := c.Call(ctx, "operations/deletefile", Params{"fs": "mem:", "remote": "dir/a.txt"}); err != nil {
		t.Fatal(err)
	}
	// Errors: missing file (404), missing parameter (400), unknown call.
	tests := []struct {
		path   string
		in     Params
		status int
		msg    string
	}{
		{"operations/deletefile", Params{"fs": "mem:", "remote": "dir/a.txt"}, 404, "not exist"},
		{"operations/list", Params{"remote": "dir"}, 400, `parameter "fs": missing`},
		{"operations/list", Params{"fs": 7}, 400, `parameter "fs": want a string`},
		{"operations/nope", Params{}, 404, "couldn't find method"},
		{"operations/publiclink", Params{"fs": "mem:", "remote": "x"}, 500, "no public links: unsupported operation"},
	}
	for _, tc := range tests {
		_, err := c.Call(ctx, tc.path, tc.in)
		var e *Error
		if !errors.As(err, &e) || e.Status != tc.status || !strings.Contains(e.Msg, tc.msg) {
			t.Errorf("%s %v: err %v, want HTTP %d containing %q", tc.path, tc.in, err, tc.status, tc.msg)
		}
	}
}

func TestAuthRequired(t *testing.T) {
	c, _ := newTestDaemon(t)
	c.Pass = "wrong"
	_, err := c.Call(t.Context(), "rc/noop", Params{})
	var e *Error
	if !errors.As(err, &e) || e.Status != 401 {
		t.Fatalf("wrong password: %v, want HTTP 401", err)
	}
}

func TestAsyncJob(t *testing.T) {
	c, _ := newTestDaemon(t)
	ctx := t.Context()
	out, err := c.Call(ctx, "test/slow", Params{"_async": true})
	if err != nil {
		t.Fatal(err)
	}
	id := out["jobid"]
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := c.Call(ctx, "job/status", Params{"jobid": id})
		if err != nil {
			t.Fatal(err)
		}
		if st["finished"] == true {
			if st["success"] != true || st["output"].(map[string]any)["done"] != true {
				t.Fatalf("job/status = %v", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job did not finish: %v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := c.Call(ctx, "job/status", Params{"jobid": 999}); err == nil {
		t.Error("job/status of an unknown job succeeded")
	}
}
