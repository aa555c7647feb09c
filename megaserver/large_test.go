package megaserver_test

import (
	"encoding/json"
	"testing"
	"time"

	"ferry/mega/megaapi"
	"ferry/megaserver/megaservertest"
)

// TestLargeTree builds a 100,000-node tree and fetches it: `f` streams it
// from the store without building the reply in memory.
func TestLargeTree(t *testing.T) {
	if testing.Short() {
		t.Skip("large tree")
	}
	ts := megaservertest.Start(t)
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	root := c.root()
	batches, perBatch := 10, 10000
	if raceEnabled {
		batches = 2
	}
	attr, key := randB64(16), randB64(16)
	target := root
	start := time.Now()
	for b := range batches {
		nodes := make([]any, perBatch)
		for i := range nodes {
			nodes[i] = map[string]any{"h": "xxxxxxxx", "t": 1, "a": attr, "k": key}
		}
		var rep megaapi.PutNodesReply
		c.do(map[string]any{"a": "p", "t": target, "n": nodes}, &rep)
		if len(rep.Nodes) != perBatch {
			t.Fatalf("batch %d: %d nodes", b, len(rep.Nodes))
		}
		target = rep.Nodes[b*997%perBatch].Handle // nest the next batch somewhere inside
	}
	t.Logf("created %d nodes in %v", batches*perBatch, time.Since(start))
	start = time.Now()
	_, body := c.post(c.nextID(), `[{"a":"f","c":1}]`)
	t.Logf("f: %d bytes in %v", len(body), time.Since(start))
	var res []struct {
		F []struct {
			H string `json:"h"`
			P string `json:"p"`
		} `json:"f"`
		SN string `json:"sn"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatalf("f reply: %v", err)
	}
	nodes := res[0].F
	if len(nodes) != batches*perBatch+3 {
		t.Fatalf("%d nodes, want %d", len(nodes), batches*perBatch+3)
	}
	seen := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		if n.P != "" && !seen[n.P] {
			t.Fatalf("node %s before its parent %s", n.H, n.P)
		}
		seen[n.H] = true
	}
}
