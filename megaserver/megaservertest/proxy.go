package megaservertest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// Proxy is an HTTP proxy in front of a test server, for tests that need
// to stand between client and server: to restart the server behind a
// fixed address, hold a request, or cut a reply. It keeps the Host
// header, so the server's upload and download URLs point at the proxy.
type Proxy struct {
	// URL is the proxy's base URL: give it to the client as the API URL.
	URL string

	target atomic.Pointer[string]
	cfg    ProxyConfig
}

// ProxyConfig holds a Proxy's hooks; the zero value forwards everything
// unchanged.
type ProxyConfig struct {
	// Before, if set, runs before each request is forwarded (it may
	// block, to hold the request).
	Before func(r *http.Request)
	// Reply, if set, writes the reply to w from the server's response,
	// instead of copying it (it may cut it or close the connection).
	Reply func(w http.ResponseWriter, r *http.Request, resp *http.Response)
}

// StartProxy starts a proxy on 127.0.0.1 forwarding to target (a
// TestServer's URL); it is closed by t.Cleanup.
func StartProxy(t testing.TB, target string, cfg ProxyConfig) *Proxy {
	t.Helper()
	p := &Proxy{cfg: cfg}
	p.SetTarget(target)
	hs := httptest.NewServer(p)
	t.Cleanup(hs.Close)
	p.URL = hs.URL
	return p
}

// SetTarget points the proxy at another server (one restarted on the same
// data directory, say).
func (p *Proxy) SetTarget(url string) { p.target.Store(&url) }

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.cfg.Before != nil {
		p.cfg.Before(r)
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, *p.target.Load()+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	req.Host = r.Host
	req.ContentLength = r.ContentLength
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if p.cfg.Reply != nil {
		p.cfg.Reply(w, r, resp)
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}
