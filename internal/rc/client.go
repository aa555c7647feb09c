package rc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Client calls a daemon.
type Client struct {
	URL        string // "http://127.0.0.1:5572"
	User, Pass string
	HTTP       *http.Client // nil = http.DefaultClient
}

// Error is a call's failure as the daemon reported it.
type Error struct {
	Path   string
	Status int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("rc %s: %s (HTTP %d)", e.Path, e.Msg, e.Status) }

// Call runs path with in and returns its output.
func (c *Client) Call(ctx context.Context, path string, in Params) (Params, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+"/"+strings.Trim(path, "/"), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(c.User, c.Pass)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("rc %s: %w (is \"ferry rcd\" running?)", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("rc %s: %w", path, err)
	}
	var out Params
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("rc %s: HTTP %d with a malformed reply: %w", path, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := out["error"].(string)
		return out, &Error{Path: path, Status: resp.StatusCode, Msg: msg}
	}
	return out, nil
}
