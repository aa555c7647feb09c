package mediafire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"ferry/internal/retry"
	"ferry/mediafire/mfapi"
)

// maxReply bounds a reply body; listings of 1000 entries are far smaller.
const maxReply = 32 << 20

// Log attribute keys.
const (
	logKeyMethod = "method"
	logKeyStatus = "status"
	logKeyCode   = "code"
	logKeyDur    = "dur"
	logKeyErr    = "err"
	logKeyLogin  = "login"
)

// TransportError is a request that got no usable reply: the connection
// failed or dropped, or the reply was not a JSON envelope (an HTML error
// page from a proxy, a truncated body). It is retryable. It names the
// API method and never the URL, which may hold a token.
type TransportError struct {
	Method string
	Status int   // the HTTP status when a reply arrived; 0 otherwise
	Err    error // the cause, with no URL
}

func (e *TransportError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("mediafire %s: HTTP %d: %v", e.Method, e.Status, e.Err)
	}
	return fmt.Sprintf("mediafire %s: %v", e.Method, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// Retryable reports true unless the request's context ended.
func (e *TransportError) Retryable() bool {
	return !errors.Is(e.Err, context.Canceled) && !errors.Is(e.Err, context.DeadlineExceeded)
}

// errNotJSON is the cause of a TransportError for a reply that is not JSON.
var errNotJSON = errors.New("reply is not JSON (an error page, or a truncated body)")

// scrub strips the URL (which may carry an action token) from an
// *url.Error.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if errors.Is(ue.Err, io.EOF) {
			// The server closed the connection before answering.
			return fmt.Errorf("%s: connection closed before the reply: %w", ue.Op, io.ErrUnexpectedEOF)
		}
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// reply is a parsed reply and its HTTP status.
type reply struct {
	*mfapi.Response
	status int
}

// post sends one request and parses the reply envelope. uri is the path
// from "/api/"; body nil sends query in the URL (uploads), otherwise the
// form body is query. It never returns a nil reply with a nil error.
func (c *Client) post(ctx context.Context, method, base, uri, query string, body io.Reader, size int64, header http.Header) (*reply, error) {
	u := base + uri
	var rd io.Reader
	ctype := "application/x-www-form-urlencoded"
	if body != nil {
		u += "?" + query
		rd = body
		ctype = "application/octet-stream"
	} else {
		rd = strings.NewReader(query)
		size = int64(len(query))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, rd)
	if err != nil {
		return nil, &TransportError{Method: method, Err: scrub(err)}
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
	}
	req.Header.Set("Content-Type", ctype)
	for k, v := range header {
		req.Header[k] = v
	}
	c.counts.add(method)
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.log.DebugContext(ctx, "mediafire call", slog.String(logKeyMethod, method), slog.Duration(logKeyDur, time.Since(start)), slog.Any(logKeyErr, scrub(err)))
		return nil, &TransportError{Method: method, Err: scrub(err)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return nil, &TransportError{Method: method, Status: resp.StatusCode, Err: scrub(err)}
	}
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		c.log.DebugContext(ctx, "mediafire call", slog.String(logKeyMethod, method), slog.Int(logKeyStatus, resp.StatusCode), slog.Duration(logKeyDur, time.Since(start)), slog.String(logKeyErr, "not JSON"))
		return nil, &TransportError{Method: method, Status: resp.StatusCode, Err: errNotJSON}
	}
	r, err := mfapi.ParseResponse(b)
	if err != nil {
		return nil, &TransportError{Method: method, Status: resp.StatusCode, Err: fmt.Errorf("%w: %v", errNotJSON, err)}
	}
	c.log.DebugContext(ctx, "mediafire call", slog.String(logKeyMethod, method), slog.Int(logKeyStatus, resp.StatusCode),
		slog.Int(logKeyCode, int(r.Error)), slog.Duration(logKeyDur, time.Since(start)))
	return &reply{Response: r, status: resp.StatusCode}, nil
}

// login opens a new session in slot sl, which the caller holds.
func (c *Client) login(ctx context.Context, sl *slot) error {
	const method = "user/get_session_token"
	sl.sess = nil
	v := url.Values{}
	v.Set("application_id", c.opts.AppID)
	v.Set("token_version", "2")
	v.Set("response_format", "json")
	v.Set("email", c.opts.Email)
	v.Set("password", string(c.pass))
	v.Set("signature", mfapi.LoginSignature(c.opts.Email, string(c.pass), c.opts.AppID, c.opts.APIKey))
	r, err := c.post(ctx, method, c.base, c.prefix+method+".php", v.Encode(), nil, 0, nil)
	if err != nil {
		return err
	}
	if err := r.Err(method, r.status); err != nil {
		return err
	}
	var st mfapi.SessionToken
	if err := r.Decode(&st); err != nil || st.SessionToken == "" {
		return &TransportError{Method: method, Status: r.status, Err: errors.New("login reply has no session_token")}
	}
	s := &session{token: secret(st.SessionToken), time: string(st.Time)}
	if st.SecretKey != "" {
		if s.key, err = mfapi.ParseSecretKey(string(st.SecretKey)); err != nil {
			return &TransportError{Method: method, Status: r.status, Err: err}
		}
		if s.time == "" {
			return &TransportError{Method: method, Status: r.status, Err: errors.New("login reply has a secret_key but no time")}
		}
	}
	sl.sess = s
	n := c.logins.Add(1)
	sl.seq = n
	c.log.DebugContext(ctx, "mediafire login", slog.Int64(logKeyLogin, n))
	return nil
}

// callOnce makes one signed call on a session of the pool, logging in
// first if the slot has none. resync reports that the session was thrown away because
// of this call (the reply was lost or said 105/127), so repeating the
// call at once, on a new session, is the fix.
func (c *Client) callOnce(ctx context.Context, method string, params url.Values) (r *reply, resync bool, err error) {
	sl, err := c.acquire(ctx)
	if err != nil {
		return nil, false, err
	}
	defer c.release(sl)
	if sl.sess == nil {
		if err := c.login(ctx, sl); err != nil {
			return nil, false, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err // never start a call on a done ctx
	}
	s := sl.sess
	v := make(url.Values, len(params)+2)
	for k, vs := range params {
		v[k] = vs
	}
	v.Set("response_format", "json")
	v.Set("session_token", string(s.token))
	query := v.Encode()
	uri := c.prefix + method + ".php"
	if s.key != 0 {
		query += "&signature=" + mfapi.CallSignature(s.key, s.time, uri, query)
	}
	r, err = c.post(ctx, method, c.base, uri, query, nil, 0, nil)
	if err != nil {
		// The server may have processed the call and rotated the key.
		sl.sess = nil
		return nil, true, err
	}
	if r.NewKey && s.key != 0 {
		s.key = mfapi.NextKey(s.key)
	}
	if err := r.Err(method, r.status); err != nil {
		if code := mfapi.CodeOf(err); code.Resync() {
			sl.sess = nil
			if code == mfapi.ErrTokenInvalid {
				c.retire(sl)
			}
			return nil, true, err
		}
		return nil, false, err
	}
	return r, false, nil
}

// callOpts adjust call.
type callOpts struct {
	// doneOnRepeat, if set, reports an error of a repeated attempt that
	// means the first attempt, whose reply was lost, already did the work
	// (110 on a delete).
	doneOnRepeat func(error) bool
}

// call makes a signed call with retries: a call that lost its session
// (resync) is repeated at once on a new one; then retryable failures are
// retried with backoff. out, if not nil, receives the reply's fields.
func (c *Client) call(ctx context.Context, method string, params url.Values, out any, opt ...callOpts) error {
	var o callOpts
	if len(opt) > 0 {
		o = opt[0]
	}
	tried := false
	return retry.Do(ctx, c.policy(method), func(ctx context.Context) error {
		r, resync, err := c.callOnce(ctx, method, params)
		if err != nil && resync && ctx.Err() == nil {
			tried = true
			r, _, err = c.callOnce(ctx, method, params)
		}
		if err != nil {
			if tried && o.doneOnRepeat != nil && o.doneOnRepeat(err) {
				return nil
			}
			var te *TransportError
			if errors.As(err, &te) || mfapi.CodeOf(err).Retryable() {
				tried = true // a later attempt repeats a call that may have happened
			}
			return err
		}
		if out != nil {
			if err := r.Decode(out); err != nil {
				return retry.Permanent(fmt.Errorf("mediafire %s: decode reply: %w", method, err))
			}
		}
		return nil
	})
}
