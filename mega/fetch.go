package mega

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"ferry/mega/megaapi"
)

// FetchTree loads the whole node tree with `f`, replacing the local tree.
// The reply is decoded as a stream, node by node.
func (c *Client) FetchTree(ctx context.Context) error {
	st, err := c.loggedIn()
	if err != nil {
		return fmt.Errorf("fetch tree: %w", err)
	}
	body, err := json.Marshal([1]any{megaapi.FetchRequest{A: "f", C: 1}})
	if err != nil {
		return fmt.Errorf("fetch tree: %w", err)
	}
	var t *tree
	err = c.cs(ctx, st.sid, "f", body, func(dec *json.Decoder) error {
		t = newTree()
		return decodeFetch(dec, newKeyring(st, t))
	})
	if err != nil {
		return fmt.Errorf("fetch tree: %w", err)
	}
	c.treeMu.Lock()
	c.tree = t
	c.treeMu.Unlock()
	c.log.Debug("fetched tree", logKeyNodes, len(t.nodes), logKeySN, t.sn)
	return nil
}

// decodeFetch streams an `f` result into kr.t.
func decodeFetch(dec *json.Decoder, kr *keyring) error {
	t := kr.t
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("cs f: read reply: %w", truncated(err))
	}
	switch v := tok.(type) {
	case float64:
		if v < 0 {
			return apiError("f", megaapi.ErrorCode(v))
		}
		return fmt.Errorf("cs f: malformed reply: result %v", v)
	case json.Delim:
		if v != '{' {
			return fmt.Errorf("cs f: malformed reply: result starts with %v", v)
		}
	default:
		return fmt.Errorf("cs f: malformed reply: result is a %T", tok)
	}
	var links []megaapi.PublicLink
	var pending []*Node // nodes waiting for a share key from `ok`
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("cs f: read reply: %w", truncated(err))
		}
		key, _ := tok.(string)
		switch key {
		case "f":
			if err := expectDelim(dec, '['); err != nil {
				return err
			}
			p, err := decodeNodes(dec, kr)
			pending = append(pending, p...)
			if err != nil {
				return err
			}
			if err := expectDelim(dec, ']'); err != nil {
				return err
			}
		case "ok":
			var oks []megaapi.ShareKey
			if err := dec.Decode(&oks); err != nil {
				return fmt.Errorf("cs f: share keys: %w", jsonErr(err))
			}
			for _, sk := range oks {
				kr.addShareKey(sk)
			}
		case "sn":
			if err := dec.Decode(&t.sn); err != nil {
				return fmt.Errorf("cs f: sn: %w", jsonErr(err))
			}
		case "ph":
			if err := dec.Decode(&links); err != nil {
				return fmt.Errorf("cs f: public links: %w", jsonErr(err))
			}
		default:
			if err := skipValue(dec); err != nil {
				return err
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return err
	}
	for _, n := range pending {
		w := megaapi.Node{Handle: n.Handle, Parent: n.Parent, Owner: n.Owner, Type: int(n.Type),
			Attr: n.attr, Key: n.wireKey, Size: n.Size, TS: n.CreatedAt.Unix()}
		t.put(kr.decode(&w))
	}
	for _, l := range links {
		if n := t.nodes[l.Handle]; n != nil {
			cp := *n
			cp.PublicHandle = l.PH
			t.put(&cp)
		}
	}
	if kr.linkKey != nil {
		// A folder link's tree is the linked folder's subtree: its root
		// is the one folder whose parent is not in it.
		for _, n := range t.nodes {
			if t.nodes[n.Parent] != nil || n.Type != FolderNode {
				continue
			}
			if t.root != "" {
				return errors.New("cs f: malformed reply: a folder link's tree with several roots")
			}
			t.root = n.Handle
		}
		if t.root == "" {
			return errors.New("cs f: malformed reply: a folder link's tree without its folder")
		}
		return nil
	}
	if t.root == "" {
		return errors.New("cs f: malformed reply: no root node")
	}
	if t.sn == "" {
		return errors.New("cs f: malformed reply: no sn")
	}
	return nil
}

// nodeBatch is how many wire nodes decodeNodes hands to a decrypter at once.
const nodeBatch = 256

// decodeNodes streams the nodes of an `f` list into kr.t: this goroutine
// parses JSON while GOMAXPROCS-1 (at least one) others decrypt keys and
// attributes, and one more inserts the results. It returns the nodes that
// wait for a share key. All its goroutines have ended when it returns.
func decodeNodes(dec *json.Decoder, kr *keyring) (pending []*Node, err error) {
	workers := max(runtime.GOMAXPROCS(0)-1, 1)
	batches := make(chan []megaapi.Node, workers)
	results := make(chan []*Node, workers)
	var decrypters, inserter sync.WaitGroup
	for range workers {
		decrypters.Go(func() {
			for b := range batches {
				out := make([]*Node, len(b))
				for i := range b {
					out[i] = kr.decode(&b[i])
				}
				results <- out
			}
		})
	}
	inserter.Go(func() {
		for ns := range results {
			for _, n := range ns {
				if errors.Is(n.Err, errNeedShareKey) {
					pending = append(pending, n)
				}
				kr.t.put(n)
			}
		}
	})
	batch := make([]megaapi.Node, 0, nodeBatch)
	for dec.More() {
		batch = append(batch, megaapi.Node{})
		if err = dec.Decode(&batch[len(batch)-1]); err != nil {
			err = fmt.Errorf("cs f: node: %w", jsonErr(err))
			batch = batch[:0]
			break
		}
		if len(batch) == nodeBatch {
			batches <- batch
			batch = make([]megaapi.Node, 0, nodeBatch)
		}
	}
	if len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	decrypters.Wait()
	close(results)
	inserter.Wait()
	return pending, err
}

// expectDelim reads the delimiter d.
func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("cs f: read reply: %w", jsonErr(err))
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return fmt.Errorf("cs f: malformed reply: got %v, want %v", tok, d)
	}
	return nil
}

// skipValue consumes one JSON value without keeping it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("cs f: read reply: %w", jsonErr(err))
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// jsonErr classifies a decoder error: truncation stays retryable, a type
// or syntax error is a malformed reply.
func jsonErr(err error) error {
	err = truncated(err)
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) {
		return fmt.Errorf("malformed reply: %w", err)
	}
	return err
}
