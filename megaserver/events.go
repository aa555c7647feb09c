package megaserver

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"time"

	bolt "go.etcd.io/bbolt"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// Event channel. Every state change of a user's tree increments that user's
// counter and stores the resulting action packets under the new counter
// value in bucketJournal. `sn` is b64(LE64(counter)). The journal keeps the
// last journalKeep batches per user; a poll from before that answers -6 and
// the client re-fetches the tree.

const (
	defaultJournalKeep = 10000
	scMaxBatches       = 1000
	scMaxBytes         = 8 << 20
	waitTokenSize      = userHandleLen + 8 + 12
)

func journalKey(user string, n uint64) []byte {
	k := make([]byte, 0, len(user)+8)
	k = append(k, user...)
	return binary.BigEndian.AppendUint64(k, n)
}

// appendJournal stores one batch of packets under the user's next counter
// and forgets the batch keep entries older.
func appendJournal(tx *bolt.Tx, user string, packets []json.RawMessage, keep uint64) error {
	st := getState(tx, user)
	st.Counter++
	if err := putState(tx, user, st); err != nil {
		return err
	}
	b := tx.Bucket(bucketJournal)
	var v []byte
	for i, p := range packets {
		if i > 0 {
			v = append(v, ',')
		}
		v = append(v, p...)
	}
	if err := b.Put(journalKey(user, st.Counter), v); err != nil {
		return err
	}
	if st.Counter > keep {
		return b.Delete(journalKey(user, st.Counter-keep))
	}
	return nil
}

func encodeSN(n uint64) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], n)
	return megacrypto.B64Encode(b[:])
}

func decodeSN(s string) (uint64, bool) {
	b, err := megacrypto.B64Decode(s)
	if err != nil || len(b) != 8 {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b), true
}

// wake releases every wait request of user.
func (s *Server) wake(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.notify[user]; ok {
		close(ch)
		delete(s.notify, user)
	}
}

func (s *Server) notifyChan(user string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.notify[user]
	if !ok {
		ch = make(chan struct{})
		s.notify[user] = ch
	}
	return ch
}

func (s *Server) counter(user string) (uint64, error) {
	var n uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		n = getState(tx, user).Counter
		return nil
	})
	return n, err
}

// waitChange blocks until user's counter differs from sn, the wait times
// out, ctx ends or the server closes.
func (s *Server) waitChange(ctx context.Context, user string, sn uint64) {
	timer := time.NewTimer(s.opts.WaitTimeout)
	defer timer.Stop()
	for {
		ch := s.notifyChan(user)
		cur, err := s.counter(user)
		if err != nil || cur != sn {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		case <-s.closing:
			return
		}
	}
}

// serveSC answers a poll: packets newer than sn, or a wait URL.
func (s *Server) serveSC(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		writeRaw(w, http.StatusMethodNotAllowed, "", nil)
		return
	}
	q := r.URL.Query()
	if ph := q.Get("n"); ph != "" {
		s.serveSCLink(w, r, ph) // a folder link wins over a sid, as on /cs
		return
	}
	sess, err := s.lookupSession(q.Get("sid"))
	if err != nil {
		writeCode(w, int(megaapi.CodeOf(err)))
		return
	}
	sn, ok := decodeSN(q.Get("sn"))
	if !ok {
		writeCode(w, int(megaapi.ETOOMANY))
		return
	}
	body, err := s.scReply(sess.user, sn, s.baseURL(r))
	if err != nil {
		writeCode(w, int(s.codeOf(err)))
		return
	}
	writeRaw(w, http.StatusOK, "application/json", body)
}

// codeOf maps an error to a MEGA code, logging unexpected ones.
func (s *Server) codeOf(err error) megaapi.ErrorCode {
	code := megaapi.CodeOf(err)
	if code == megaapi.OK {
		s.log.Error("request failed", logKeyErr, err)
		code = megaapi.EINTERNAL
	}
	return code
}

// scReply builds an sc answer for user at sn.
func (s *Server) scReply(user string, sn uint64, base string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		cur := getState(tx, user).Counter
		if sn > cur {
			return megaapi.ETOOMANY
		}
		if sn == cur {
			var err error
			out, err = json.Marshal(megaapi.ScReply{SN: encodeSN(sn), W: base + "/wsc/" + s.waitToken(user, sn)})
			return err
		}
		b := tx.Bucket(bucketJournal)
		var buf bytes.Buffer
		buf.WriteString(`{"a":[`)
		last := sn
		for n := sn + 1; n <= cur; n++ {
			v := b.Get(journalKey(user, n))
			if v == nil {
				if n == sn+1 {
					return megaapi.ETOOMANY // older than the journal
				}
				break
			}
			if n > sn+1 && (n-sn > scMaxBatches || buf.Len()+len(v) > scMaxBytes) {
				break
			}
			if n > sn+1 {
				buf.WriteByte(',')
			}
			buf.Write(v)
			last = n
		}
		buf.WriteString(`],"sn":"`)
		buf.WriteString(encodeSN(last))
		buf.WriteString(`"}`)
		out = buf.Bytes()
		return nil
	})
	return out, err
}

// waitToken is a stateless wait URL id: user || LE64(sn) || MAC.
func (s *Server) waitToken(user string, sn uint64) string {
	b := make([]byte, 0, waitTokenSize)
	b = append(b, user...)
	b = binary.LittleEndian.AppendUint64(b, sn)
	b = append(b, s.mac("wsc", b)[:12]...)
	return megacrypto.B64Encode(b)
}

func (s *Server) parseWaitToken(tok string) (user string, sn uint64, ok bool) {
	b, err := megacrypto.B64Decode(tok)
	if err != nil || len(b) != waitTokenSize {
		return "", 0, false
	}
	msg := b[:userHandleLen+8]
	if !hmac.Equal(b[userHandleLen+8:], s.mac("wsc", msg)[:12]) {
		return "", 0, false
	}
	return string(b[:userHandleLen]), binary.LittleEndian.Uint64(b[userHandleLen:]), true
}

// mac is HMAC-SHA256 under the server secret with a purpose label.
func (s *Server) mac(purpose string, msg []byte) []byte {
	h := hmac.New(sha256.New, s.secret)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write(msg)
	return h.Sum(nil)
}

// serveWait handles the wait URL from sc (/wsc/<id>): it blocks until the
// user's tree changes or WaitTimeout passes, then answers 0. The SDK form
// /wsc?sn=&sid= blocks the same way and then answers like sc.
func (s *Server) serveWait(w http.ResponseWriter, r *http.Request, id string) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		writeRaw(w, http.StatusMethodNotAllowed, "", nil)
		return
	}
	q := r.URL.Query()
	if id == "" || q.Get("sid") != "" {
		sess, err := s.lookupSession(q.Get("sid"))
		if err != nil {
			writeCode(w, int(megaapi.CodeOf(err)))
			return
		}
		sn, ok := decodeSN(q.Get("sn"))
		if !ok {
			writeCode(w, int(megaapi.ETOOMANY))
			return
		}
		s.waitChange(r.Context(), sess.user, sn)
		body, err := s.scReply(sess.user, sn, s.baseURL(r))
		if err != nil {
			writeCode(w, int(s.codeOf(err)))
			return
		}
		writeRaw(w, http.StatusOK, "application/json", body)
		return
	}
	if user, sn, ok := s.parseWaitToken(id); ok {
		s.waitChange(r.Context(), user, sn)
	}
	writeRaw(w, http.StatusOK, "application/json", []byte("0"))
}
