package megaservertest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// FillFolders logs in to the server at url as email and adds nodes
// folders to the Cloud Drive with raw `p` batches, fast enough to build
// trees of 100,000 nodes for benchmarks: groups of one top folder holding
// 99 subfolders, 50 groups per request, two requests in flight. name(i)
// names node i; nodes with i%100 == 0 are the top folders.
func FillFolders(ctx context.Context, url, email, password string, nodes int, name func(i int) string) error {
	ts := &TestServer{URL: url}
	s, err := ts.TryLogin(ctx, email, password, "")
	if err != nil {
		return err
	}
	var tree megaapi.FetchReply
	if err := ts.call(ctx, s.SID, map[string]any{"a": "f", "c": 1}, &tree); err != nil {
		return err
	}
	root := ""
	for _, n := range tree.Nodes {
		if n.Type == megaapi.TypeRoot {
			root = n.Handle
		}
	}
	if root == "" {
		return errors.New("f: no Cloud Drive root")
	}
	const group, perRequest = 100, 50
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	for first := 0; first < nodes; first += group * perRequest {
		g.Go(func() error {
			var ns []map[string]any
			for i := first; i < min(first+group*perRequest, nodes); i++ {
				n := map[string]any{"t": 1}
				if top := fmt.Sprintf("g%d", i/group); i%group == 0 {
					n["h"] = top
				} else {
					n["h"], n["p"] = "xxxxxxxx", top
				}
				key := make([]byte, 16)
				rand.Read(key)
				a, err := megacrypto.EncryptAttrs(key, megacrypto.Attrs{Name: name(i)})
				if err != nil {
					return err
				}
				wk, err := megacrypto.EncryptKey(s.MasterKey, key)
				if err != nil {
					return err
				}
				n["a"], n["k"] = a, megacrypto.B64Encode(wk)
				ns = append(ns, n)
			}
			var rep struct {
				F []megaapi.Node `json:"f"`
			}
			if err := ts.call(gctx, s.SID, map[string]any{"a": "p", "t": root, "n": ns}, &rep); err != nil {
				return fmt.Errorf("p: %w", err)
			}
			if len(rep.F) != len(ns) {
				return fmt.Errorf("p: %d nodes created, want %d", len(rep.F), len(ns))
			}
			return nil
		})
	}
	return g.Wait()
}
