package mega

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"ferry/internal/retry"
	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// maxHashcash bounds the proof-of-work challenges answered per attempt.
const maxHashcash = 4

// cs performs one command request: POST {api}/cs?id=<seq>&sid=<sid> with
// body (a JSON array of commands). It is the only place that talks to /cs.
//
// The same id is sent on every retry, so the server's replay cache answers
// a retried mutation instead of executing it twice. Transient failures
// (EAGAIN, ERATELIMIT, HTTP 5xx, dropped connections, truncated replies)
// are retried per the client's policy, HTTP 402 hashcash challenges are
// solved on all cores, and a whole-request error code becomes an error.
//
// read gets a decoder positioned inside the reply array, before the first
// command's result; it must consume that result (and may stream it). read
// can run more than once (once per attempt) and must start afresh each time.
// sid is the session to act in ("" before login).
func (c *Client) cs(ctx context.Context, sid, name string, body []byte, read func(dec *json.Decoder) error) error {
	id := strconv.FormatUint(c.seq.Add(1), 10)
	u := c.api + "/cs?id=" + id
	if c.folder != "" {
		u += "&n=" + url.QueryEscape(c.folder) // a folder link's context; never a session
	} else if sid != "" {
		u += "&sid=" + url.QueryEscape(sid)
	}
	start := time.Now()
	var hashcash string
	err := retry.Do(ctx, c.retryPolicy("cs "+name), func(ctx context.Context) error {
		for challenge := 0; ; challenge++ {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
			if err != nil {
				return retry.Permanent(fmt.Errorf("cs %s: %w", name, scrub(err)))
			}
			req.Header.Set("Content-Type", "application/json")
			if hashcash != "" {
				req.Header.Set("X-Hashcash", hashcash)
			}
			resp, err := c.hc.Do(req)
			if err != nil {
				return fmt.Errorf("cs %s: %w", name, scrub(err))
			}
			if resp.StatusCode == http.StatusPaymentRequired {
				discard(resp)
				if challenge >= maxHashcash {
					return retry.Permanent(fmt.Errorf("cs %s: server keeps sending hashcash challenges", name))
				}
				hashcash, err = c.solveHashcash(ctx, resp.Header.Get("X-Hashcash"))
				if err != nil {
					return retry.Permanent(fmt.Errorf("cs %s: %w", name, err))
				}
				continue
			}
			if resp.StatusCode != http.StatusOK {
				discard(resp)
				return retry.NewStatusError("cs "+name, resp)
			}
			err = readReply(name, resp.Body, read)
			discard(resp)
			return err
		}
	})
	if c.debug {
		c.log.LogAttrs(ctx, slog.LevelDebug, "mega api call",
			slog.String(logKeyCmd, name), slog.String(logKeyID, id),
			slog.String(logKeyArgs, redactJSON(body)),
			slog.Duration(logKeyDuration, time.Since(start)), slog.Any(logKeyErr, err))
	}
	return err
}

// call runs one command in the current session and decodes its result
// into out (which may be nil).
func (c *Client) call(ctx context.Context, name string, cmd, out any) error {
	return c.callAs(ctx, c.session().sid, name, cmd, out)
}

// callAs is call in session sid ("" for none).
func (c *Client) callAs(ctx context.Context, sid, name string, cmd, out any) error {
	body, err := json.Marshal([1]any{cmd})
	if err != nil {
		return fmt.Errorf("cs %s: encode request: %w", name, err)
	}
	return c.cs(ctx, sid, name, body, func(dec *json.Decoder) error {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("cs %s: read reply: %w", name, truncated(err))
		}
		if c.debug {
			c.log.LogAttrs(ctx, slog.LevelDebug, "mega api reply",
				slog.String(logKeyCmd, name), slog.String(logKeyReply, redactJSON(raw)))
		}
		return decodeResult(name, raw, out)
	})
}

// readReply checks the reply's framing: a bare number is a whole-request
// error; an array is handed to read.
func readReply(name string, r io.Reader, read func(dec *json.Decoder) error) error {
	br := bufio.NewReaderSize(r, 4096)
	first, err := peekNonSpace(br)
	if err != nil {
		return fmt.Errorf("cs %s: read reply: %w", name, truncated(err))
	}
	switch {
	case first == '-' || ('0' <= first && first <= '9'):
		b, err := io.ReadAll(io.LimitReader(br, 64))
		if err != nil {
			return fmt.Errorf("cs %s: read reply: %w", name, truncated(err))
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || n >= 0 {
			return fmt.Errorf("cs %s: malformed reply %q", name, abbrev(b))
		}
		return fmt.Errorf("cs %s: %w", name, apiError("", megaapi.ErrorCode(n)))
	case first == '{':
		var e struct {
			Err *int `json:"err"`
		}
		if err := json.NewDecoder(io.LimitReader(br, 1<<10)).Decode(&e); err != nil || e.Err == nil || *e.Err >= 0 {
			return fmt.Errorf("cs %s: malformed reply: want an array or an error code", name)
		}
		return fmt.Errorf("cs %s: %w", name, apiError("", megaapi.ErrorCode(*e.Err)))
	case first != '[':
		b, _ := br.Peek(32)
		return fmt.Errorf("cs %s: malformed reply starting %q", name, abbrev(b))
	}
	dec := json.NewDecoder(br)
	if _, err := dec.Token(); err != nil { // '['
		return fmt.Errorf("cs %s: read reply: %w", name, truncated(err))
	}
	if !dec.More() {
		// More is false both for a real "]" and when the body ends early
		// (a reply "[0]" cut after "["): only the former is malformed.
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("cs %s: read reply: %w", name, truncated(err))
		}
		return fmt.Errorf("cs %s: malformed reply: empty result array", name)
	}
	return read(dec)
}

// decodeResult interprets one command's result: a negative number is an
// error, another number plain success; anything else is decoded into out.
func decodeResult(name string, raw json.RawMessage, out any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return fmt.Errorf("cs %s: malformed reply: empty result", name)
	}
	if raw[0] == '-' || ('0' <= raw[0] && raw[0] <= '9') {
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return fmt.Errorf("cs %s: malformed reply %q", name, abbrev(raw))
		}
		if n < 0 {
			return apiError(name, megaapi.ErrorCode(n))
		}
		if p, ok := out.(*int64); ok {
			*p = n
		}
		return nil
	}
	if bytes.HasPrefix(raw, []byte(`{"err":`)) {
		var e struct {
			Err int `json:"err"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Err < 0 {
			return apiError(name, megaapi.ErrorCode(e.Err))
		}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("cs %s: malformed reply: %w", name, err)
	}
	return nil
}

// peekNonSpace skips JSON whitespace and returns the next byte unread.
func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			br.Discard(1)
		default:
			return b[0], nil
		}
	}
}

// truncated turns an io.EOF in the middle of a reply into
// io.ErrUnexpectedEOF, which is retryable.
func truncated(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// solveHashcash answers an X-Hashcash challenge on all cores.
func (c *Client) solveHashcash(ctx context.Context, header string) (string, error) {
	e, token, err := megacrypto.ParseHashcash(header)
	if err != nil {
		return "", fmt.Errorf("hashcash challenge: %w", err)
	}
	c.log.Info("solving hashcash challenge", logKeyEasiness, int(e))
	sol, err := megacrypto.SolveHashcash(ctx, token, e, runtime.GOMAXPROCS(0))
	if err != nil {
		return "", fmt.Errorf("hashcash: %w", err)
	}
	return sol, nil
}

// retryPolicy returns the client's policy, naming op to the context's
// retry.Observer, or logging each retry of op when there is none (a
// program that observes retries logs them itself).
func (c *Client) retryPolicy(op string) retry.Policy {
	p := c.policy
	p.Op = op
	user := p.OnUnobserved
	p.OnUnobserved = func(attempt int, err error, d time.Duration) {
		c.log.Debug("retrying", logKeyOp, op, logKeyAttempt, attempt, logKeyErr, err, logKeyDelay, d)
		if user != nil {
			user(attempt, err, d)
		}
	}
	return p
}

// discard drains a little of a response body, so the connection can be
// reused, and closes it.
func discard(resp *http.Response) {
	io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}

// scrub removes secrets (the sid in the query, tokens in the path) from
// the URL that net/http puts into its errors.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redactURL(ue.URL)
	}
	return err
}

// redactURL keeps a URL's scheme, host and first path segment.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(url)"
	}
	p := strings.TrimPrefix(u.Path, "/")
	first, rest, _ := strings.Cut(p, "/")
	out := u.Scheme + "://" + u.Host + "/" + first
	if rest != "" {
		out += "/…"
	}
	if u.RawQuery != "" {
		out += "?…"
	}
	return out
}

// secretFields are JSON object keys whose values never reach a log.
var secretFields = map[string]bool{
	"uh": true, "sek": true, "mfa": true, "k": true, "key": true, "privk": true,
	"csid": true, "tsid": true, "sid": true, "ok": true, "ha": true, "sk": true,
}

// redactJSON renders JSON for a debug log with secrets replaced.
func redactJSON(b []byte) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Sprintf("(%d bytes)", len(b))
	}
	v = redactValue("", v)
	out, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("(%d bytes)", len(b))
	}
	if len(out) > 1024 {
		return string(out[:1024]) + "…"
	}
	return string(out)
}

func redactValue(key string, v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = redactValue(k, x)
		}
		return t
	case []any:
		for i, x := range t {
			t[i] = redactValue(key, x)
		}
		return t
	case string:
		switch {
		case secretFields[key]:
			return "REDACTED"
		case strings.HasPrefix(t, "http://") || strings.HasPrefix(t, "https://"):
			return redactURL(t) // upload, download and wait URLs carry tokens
		case key == "h" && len(t) > 11:
			return "REDACTED" // upload completion token
		}
	}
	return v
}

// abbrev shortens b for error messages.
func abbrev(b []byte) string {
	const n = 40
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
