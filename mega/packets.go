package mega

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"ferry/internal/retry"
	"ferry/mega/megaapi"
)

// maxSCReply bounds an sc reply held in memory.
const maxSCReply = 256 << 20

// Poll fetches and applies every action packet pending since SN, without
// waiting for new ones, and reports whether any arrived. If the server no
// longer has the packets since SN (ETOOMANY) Poll re-fetches the whole tree.
// An expired session gives ErrSessionExpired.
//
// Packets caused by this client's own commands come back too; applying them
// is idempotent, and the local tree already reflects them.
func (c *Client) Poll(ctx context.Context) (changed bool, err error) {
	changed, _, err = c.pollOnce(ctx)
	if changed && c.onChange != nil {
		c.onChange()
	}
	return changed, err
}

// Watch keeps the local tree current until ctx ends: it applies pending
// packets, then long-polls the server's wait URL for more. Transient
// failures are retried with backoff for as long as ctx lives. Watch
// returns ctx's error when ctx ends, or ErrSessionExpired (or another
// permanent error). Options.OnChange is called after each change.
func (c *Client) Watch(ctx context.Context) error {
	fails := 0
	for {
		changed, w, err := c.pollOnce(ctx)
		if changed && c.onChange != nil {
			c.onChange()
		}
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && !retry.IsRetryable(err) && !errors.Is(err, errWaitFailed):
			return fmt.Errorf("watch: %w", err)
		case err != nil:
			c.log.Warn("watch: polling failed; backing off", logKeyErr, err)
			if !sleep(ctx, c.policy.Delay(fails)) {
				return ctx.Err()
			}
			fails++
			continue
		}
		fails = 0
		if w == "" {
			if !sleep(ctx, time.Second) {
				return ctx.Err()
			}
			continue
		}
		if err := c.wait(ctx, w); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.log.Debug("watch: wait request failed", logKeyErr, err)
			if !sleep(ctx, c.policy.Delay(0)) {
				return ctx.Err()
			}
			continue
		}
		// News: let the burst it may start arrive before fetching it.
		if !sleep(ctx, watchSettle) {
			return ctx.Err()
		}
	}
}

// watchSettle is how long Watch waits, once the wait URL told it of
// news, before it fetches the packets. A burst of changes (a program
// writing many files through a mount: each upload is news) then comes
// in a few batches instead of one poll, one sc request and one wait
// request per change, which the burst's own commands would wait behind;
// what another client changed is seen this much later.
const watchSettle = 100 * time.Millisecond

// errWaitFailed marks failures of the wait URL, which Watch tolerates.
var errWaitFailed = errors.New("wait request failed")

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// pollOnce applies all pending packets and returns the wait URL.
func (c *Client) pollOnce(ctx context.Context) (changed bool, w string, err error) {
	c.scMu.Lock()
	defer c.scMu.Unlock()
	st, err := c.loggedIn()
	if err != nil {
		return false, "", fmt.Errorf("poll: %w", err)
	}
	for range 1000 {
		var sn string
		var gen uint64
		stale := false
		c.withTree(func(t *tree) { sn, gen, stale = t.sn, c.gen, t.stale })
		if sn == "" {
			return changed, "", fmt.Errorf("poll: %w", ErrNoTree)
		}
		if stale {
			c.log.Info("poll: too many local changes since the last poll; re-fetching the tree")
			if err := c.FetchTree(ctx); err != nil {
				return changed, "", fmt.Errorf("poll: %w", err)
			}
			changed = true
			continue
		}
		rep, err := c.sc(ctx, st.sid, sn)
		if errors.Is(err, megaapi.ETOOMANY) {
			c.log.Info("poll: server dropped the pending events; re-fetching the tree")
			if err := c.FetchTree(ctx); err != nil {
				return changed, "", fmt.Errorf("poll: %w", err)
			}
			changed = true
			continue
		}
		if err != nil {
			return changed, "", fmt.Errorf("poll: %w", err)
		}
		if len(rep.Packets) > 0 {
			c.applyPackets(st, sn, rep.SN, rep.Packets)
			changed = true
			continue
		}
		c.caughtUp(sn, rep.SN, gen)
		return changed, rep.W, nil
	}
	return changed, "", errors.New("poll: server keeps sending packets")
}

// sc requests the packets after sn.
func (c *Client) sc(ctx context.Context, sid, sn string) (megaapi.ScReply, error) {
	u := c.api + "/sc?sn=" + url.QueryEscape(sn) + "&sid=" + url.QueryEscape(sid)
	var rep megaapi.ScReply
	start := time.Now()
	var size int
	err := retry.Do(ctx, c.retryPolicy("sc"), func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, http.NoBody)
		if err != nil {
			return retry.Permanent(fmt.Errorf("sc: %w", scrub(err)))
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return fmt.Errorf("sc: %w", scrub(err))
		}
		if resp.StatusCode != http.StatusOK {
			discard(resp)
			return retry.NewStatusError("sc", resp)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxSCReply))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("sc: read reply: %w", truncated(err))
		}
		size = len(body)
		body = bytes.TrimSpace(body)
		if len(body) == 0 {
			return fmt.Errorf("sc: empty reply: %w", io.ErrUnexpectedEOF)
		}
		if body[0] == '-' || ('0' <= body[0] && body[0] <= '9') {
			n, err := strconv.Atoi(string(body))
			if err != nil || n >= 0 {
				return fmt.Errorf("sc: malformed reply %q", abbrev(body))
			}
			return apiError("sc", megaapi.ErrorCode(n))
		}
		rep = megaapi.ScReply{}
		if err := json.Unmarshal(body, &rep); err != nil {
			return fmt.Errorf("sc: malformed reply: %w", jsonErr(err))
		}
		return nil
	})
	if c.debug {
		c.log.LogAttrs(ctx, slog.LevelDebug, "mega sc poll", slog.Int(logKeyBytes, size),
			slog.Int(logKeyPackets, len(rep.Packets)), slog.Duration(logKeyDuration, time.Since(start)),
			slog.Any(logKeyErr, err))
	}
	return rep, err
}

// wait blocks on a wait URL until the server has news or times out.
func (c *Client) wait(ctx context.Context, w string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w, http.NoBody)
	if err != nil {
		return fmt.Errorf("%w: %w", errWaitFailed, scrub(err))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", errWaitFailed, scrub(err))
	}
	discard(resp)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: %w", errWaitFailed, retry.NewStatusError("wait", resp))
	}
	return nil
}

// caughtUp handles an sc reply without packets for the tree at sn old:
// the server had nothing after old when it answered, so every local
// mutation applied before the request (gen at most gen) is part of the
// state at old. Those are forgotten rather than redone over packets that
// came after them; sn advances to sn if the reply moved it.
func (c *Client) caughtUp(old, sn string, gen uint64) {
	c.treeMu.Lock()
	defer c.treeMu.Unlock()
	t := c.tree
	if t == nil || t.sn != old {
		return
	}
	if sn != "" {
		t.sn = sn
	}
	if len(t.pending) > 0 && t.pending[0].gen <= gen {
		t.rollback()
		t.redo(func(op *localOp) bool { return op.gen > gen })
	}
}

// applyPackets applies one sc batch that follows sn old and stores newSN.
// A batch for a tree that was replaced meanwhile is dropped. The batch is
// applied to the server's state at old: local mutations not yet in old
// are rolled back first and redone afterwards, so neither can a stale
// packet undo a newer local change nor can replaying the client's own
// packets meet a tree they were not made for.
func (c *Client) applyPackets(st state, old, newSN string, raws []json.RawMessage) {
	ps := make([]megaapi.Packet, 0, len(raws))
	for _, r := range raws {
		var p megaapi.Packet
		if err := json.Unmarshal(r, &p); err != nil {
			c.log.Warn("ignoring a malformed action packet", logKeyErr, err)
			continue
		}
		ps = append(ps, p)
	}
	c.treeMu.Lock()
	defer c.treeMu.Unlock()
	t := c.tree
	if t == nil || t.sn != old {
		return
	}
	t.rollback()
	if n := t.apply(newKeyring(st, t), ps); n > 0 {
		c.log.Warn("ignored action packets that would put a folder inside itself", logKeyNodes, n)
	}
	if newSN != "" {
		t.sn = newSN
	}
	t.redo(nil)
}

// apply applies one batch of action packets (mega-protocol.md §7.4): `d`
// marks a subtree for removal, `t` upserts nodes and cancels their
// removal (a move is d with m:1 followed by t), `u` replaces attributes,
// `ph` sets or clears public handles, `s2` brings a share key. Nodes still
// marked at the end of the batch are removed. Applying a packet twice is harmless. A node that a `t`
// would put inside its own subtree is left where it is (the server never
// sends that for the state the batch follows); apply returns how many.
func (t *tree) apply(kr *keyring, ps []megaapi.Packet) (cycles int) {
	pending := make(map[string]bool)
	for i := range ps {
		p := &ps[i]
		switch p.A {
		case "t":
			if p.T == nil {
				continue
			}
			for j := range p.T.Nodes {
				n := kr.decode(&p.T.Nodes[j])
				old := t.nodes[n.Handle]
				if old != nil {
					n.PublicHandle = old.PublicHandle
				}
				if n.Parent != "" && (old == nil || old.Parent != n.Parent) && t.within(n.Parent, n.Handle) {
					cycles++
					delete(pending, n.Handle) // stays where it is
					continue
				}
				t.put(n)
				delete(pending, n.Handle)
			}
		case "u":
			old := t.nodes[p.N]
			if old == nil {
				continue
			}
			n := *old
			if p.U != "" {
				n.Owner = p.U
			}
			if p.At != "" && n.key != nil {
				n.attr = p.At
				kr.decryptAttrs(&n)
			}
			t.put(&n)
		case "d":
			if t.nodes[p.N] == nil {
				continue
			}
			for _, h := range t.subtree(p.N) {
				pending[h] = true
			}
		case "s2":
			// A folder shared by another session of this account: learn
			// its share key (checked against its handle auth).
			if p.OK != "" && p.N != "" {
				kr.addShareKey(megaapi.ShareKey{Handle: p.N, Key: p.OK, HA: p.HA})
			}
		case "ph":
			old := t.nodes[p.H]
			if old == nil {
				continue
			}
			n := *old
			if p.D == 1 {
				n.PublicHandle = ""
			} else {
				n.PublicHandle = p.PH
			}
			t.put(&n)
		}
	}
	for h := range pending {
		if n := t.nodes[h]; n != nil {
			t.unlink(n)
			delete(t.nodes, h)
		}
		if len(t.kids[h]) == 0 {
			delete(t.kids, h)
			t.forgetNames(h)
		}
	}
	return cycles
}
