package megaserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"ferry/mega/megaapi"
)

// Idempotence. A client that loses a reply resends the same request with
// the same `id` (go-mega, megajs and the SDK all do). Two layers make the
// retry safe:
//
//   - replayCache keeps recent whole replies in memory by (session, id) and
//     answers an identical retry with the identical bytes;
//   - every state-changing command stores its result in bucketReplay in the
//     same transaction as the change, so even after a restart (kill -9
//     between commit and reply) a retry gets the original result instead of
//     creating a second node.

const (
	replayCacheEntries  = 4096
	replayMaxReply      = 256 << 10
	replayTTL           = 10 * time.Minute
	replayRecordTTL     = time.Hour
	replayPruneInterval = 10 * time.Minute
)

type replayEntry struct {
	key   string
	hash  [32]byte // SHA256 of the request body
	reply []byte
	at    time.Time
}

// replayCache is a bounded FIFO of recent replies.
type replayCache struct {
	mu    sync.Mutex // guards m and queue
	m     map[string]*replayEntry
	queue []*replayEntry // oldest first; may hold entries already replaced
	max   int
}

func newReplayCache(max int) *replayCache {
	return &replayCache{m: make(map[string]*replayEntry), max: max}
}

func (c *replayCache) get(key string, hash [32]byte) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || e.hash != hash {
		return nil, false
	}
	return e.reply, true
}

func (c *replayCache) put(key string, hash [32]byte, reply []byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &replayEntry{key: key, hash: hash, reply: reply, at: now}
	c.m[key] = e
	c.queue = append(c.queue, e)
	for len(c.m) > c.max && len(c.queue) > 0 {
		c.popLocked()
	}
}

// popLocked drops the oldest queued entry.
func (c *replayCache) popLocked() {
	old := c.queue[0]
	c.queue[0] = nil
	c.queue = c.queue[1:]
	if c.m[old.key] == old {
		delete(c.m, old.key)
	}
}

func (c *replayCache) expire(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.queue) > 0 && now.Sub(c.queue[0].at) > replayTTL {
		c.popLocked()
	}
	if cap(c.queue) > 4*c.max {
		c.queue = append([]*replayEntry(nil), c.queue...)
	}
}

// ---- persistent per-command results ----

// replayRecordKey is sidhash[:16] || len(id) || id || BE32(index), or nil
// when the request cannot be replayed (no session or no id).
func replayRecordKey(c *call) []byte {
	if c.sess == nil || c.reqID == "" || len(c.reqID) > maxRequestIDLen {
		return nil
	}
	k := make([]byte, 0, 16+1+len(c.reqID)+4)
	k = append(k, c.sess.hash[:16]...)
	k = append(k, byte(len(c.reqID)))
	k = append(k, c.reqID...)
	return binary.BigEndian.AppendUint32(k, uint32(c.idx))
}

// Replay record value: BE64(unix nanos) || SHA256(command)[:16] || result.
const replayRecordHeader = 8 + 16

func (s *Server) lookupReplayRecord(key []byte, cmdHash [32]byte) ([]byte, bool) {
	var out []byte
	_ = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketReplay).Get(key)
		if len(v) < replayRecordHeader || !bytes.Equal(v[8:24], cmdHash[:16]) {
			return nil
		}
		out = bytes.Clone(v[replayRecordHeader:])
		return nil
	})
	return out, out != nil
}

func putReplayRecord(tx *bolt.Tx, key []byte, cmdHash [32]byte, now time.Time, reply []byte) error {
	v := make([]byte, 0, replayRecordHeader+len(reply))
	v = binary.BigEndian.AppendUint64(v, uint64(now.UnixNano()))
	v = append(v, cmdHash[:16]...)
	v = append(v, reply...)
	return tx.Bucket(bucketReplay).Put(key, v)
}

// pruneReplayRecords deletes results older than replayRecordTTL.
func (s *Server) pruneReplayRecords(now time.Time) error {
	cutoff := uint64(now.Add(-replayRecordTTL).UnixNano())
	return s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketReplay).Cursor()
		for k, v := c.First(); k != nil; {
			if len(v) < 8 || binary.BigEndian.Uint64(v) < cutoff {
				if err := c.Delete(); err != nil {
					return err
				}
				k, v = c.Seek(k)
				continue
			}
			k, v = c.Next()
		}
		return nil
	})
}

// replayed returns the stored result of this very command if an earlier
// identical request already executed it.
func (s *Server) replayed(c *call) (result, bool) {
	key := replayRecordKey(c)
	if key == nil {
		return result{}, false
	}
	body, ok := s.lookupReplayRecord(key, sha256.Sum256(c.raw))
	return result{body: body}, ok
}

// ---- mutations ----

// mutation collects what a state-changing command does besides writing
// the store: action packets for the user's event journal and work to run
// after the commit (removing deleted blobs).
type mutation struct {
	user    string
	tag     string
	packets []json.RawMessage
	after   []func()
}

// emit adds an action packet, stamping the originating user and tag.
func (m *mutation) emit(p megaapi.Packet) {
	p.OU = m.user
	p.I = m.tag
	b, err := json.Marshal(p)
	if err != nil {
		panic(err) // Packet has only strings and numbers
	}
	m.packets = append(m.packets, b)
}

// emitJSON adds an action packet that megaapi.Packet cannot express; v
// must marshal to an object whose first key is "a" and carry `ou` and `i`
// itself.
func (m *mutation) emitJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // packets have only strings and numbers
	}
	m.packets = append(m.packets, b)
}

// mutate runs fn in a batched write transaction together with the user's
// journal entry and the command's replay record, then wakes the user's
// event waiters. fn returns the command's JSON reply or an error (a MEGA
// code, or anything else for EINTERNAL); on error nothing is written. fn may
// run more than once and must not have side effects outside tx and m.
func (s *Server) mutate(c *call, fn func(tx *bolt.Tx, m *mutation) ([]byte, error)) result {
	if res, ok := s.replayed(c); ok {
		return res
	}
	key := replayRecordKey(c)
	cmdHash := sha256.Sum256(c.raw)
	if c.ctx.Err() != nil {
		return codeResult(megaapi.EAGAIN) // never start a mutation for a client that left
	}
	var m *mutation
	var reply []byte
	err := s.commits.Do(func(tx *bolt.Tx) error {
		m = &mutation{user: c.sess.user, tag: c.tag}
		var err error
		if reply, err = fn(tx, m); err != nil {
			return err
		}
		if len(m.packets) > 0 {
			if err := appendJournal(tx, m.user, m.packets, s.journalKeep); err != nil {
				return err
			}
		}
		if key != nil {
			return putReplayRecord(tx, key, cmdHash, s.now(), reply)
		}
		return nil
	})
	if err != nil {
		return s.errResult(c, err)
	}
	if len(m.packets) > 0 {
		s.wake(m.user)
	}
	for _, f := range m.after {
		f()
	}
	return result{body: reply}
}
