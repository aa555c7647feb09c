package mega

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// The session cache file (CacheDir/session.bin) holds what a later process
// needs to continue without a login: the MEGA session and the exported node
// tree with its sequence number. It is encrypted and authenticated with a key
// derived from the remote's credentials, bound to the e-mail and API URL:
//
//	header (clear, authenticated with every segment):
//	  magic    "FERRYMC1"
//	  kdf      1 byte: 1 = Argon2id of the password,
//	                   2 = HKDF-SHA256 of the cache_key and the password
//	  time     uint32 BE   Argon2 passes (0 with kdf 2)
//	  memory   uint32 BE   Argon2 memory in KiB (0 with kdf 2)
//	  threads  1 byte      (0 with kdf 2)
//	  salt     16 bytes    KDF salt, random when the file was first made
//	  fileID   16 bytes    random per write: HKDF salt of the write's AES key
//	segments, in order:
//	  last     1 byte (1 on the final segment, else 0)
//	  length   uint32 BE   ciphertext length, 16..cacheSegment+16
//	  sealed   AES-256-GCM(plaintext), nonce = BE64(index) ‖ 0 0 0 ‖ last,
//	           additional data = header ‖ lower(e-mail) ‖ 0 ‖ API URL
//
// The final segment carries the flag in its nonce, so truncation and
// reordering are detected; any change to the header or the binding changes
// the additional data.
//
// A remote made by `ferry config` has a cache_key: 32 random bytes kept
// (obscured, or encrypted with the configuration) next to its password.
// The cache key is then HKDF of cache_key and password: nothing to
// brute-force for someone who has the cache directory but not the config,
// and no cost per process. A remote without one (options from flags or
// the environment) stretches the password with Argon2id (m=19 MiB, t=2,
// p=1, OWASP's minimum), 20-40 ms per process. Either way, the derived key
// is kept in memory so later writes by the same process only draw a new
// fileID.
//
// The plaintext is:
//
//	uvarint length ‖ mega.Session.MarshalBinary()
//	1 byte: 1 if a tree follows, else 0
//	mega.Client.ExportTree output, to the end
const (
	cacheMagic     = "FERRYMC1"
	cacheKDFArgon  = 1
	cacheKDFHKDF   = 2
	cacheHeaderLen = len(cacheMagic) + 1 + 4 + 4 + 1 + 16 + 16
	cacheSegment   = 256 << 10
	cacheTagLen    = 16

	// Argon2id parameters written to new files.
	cacheArgonTime    = 2
	cacheArgonMemory  = 19 << 10 // KiB
	cacheArgonThreads = 1

	// Bounds accepted when reading, so a damaged header cannot make a
	// process allocate gigabytes or spin for minutes.
	maxArgonTime   = 16
	maxArgonMemory = 1 << 20 // KiB
	maxSessionLen  = 64 << 10
)

// errCacheAuth reports a cache that does not decrypt: wrong password or
// cache_key, another account or API URL, or damage.
var errCacheAuth = errors.New("session cache does not decrypt (wrong password or cache_key, another account, or a damaged file)")

// cacheSecrets are the credentials a cache key is derived from.
type cacheSecrets struct {
	password string
	cacheKey string // the remote's cache_key; "" when it has none
}

// kdfParams are the key derivation and salt of a cache file.
type kdfParams struct {
	kdf          uint8 // cacheKDFArgon or cacheKDFHKDF
	time, memory uint32
	threads      uint8
	salt         [16]byte
}

// cacheKey is a derived key with the parameters it came from.
type cacheKey struct {
	params kdfParams
	key    []byte // 32 bytes
}

// deriveCacheKey derives the key of a cache file with parameters p.
func deriveCacheKey(sec cacheSecrets, p kdfParams) (*cacheKey, error) {
	if p.kdf == cacheKDFArgon {
		return &cacheKey{params: p, key: argon2.IDKey([]byte(sec.password), p.salt[:], p.time, p.memory, p.threads, 32)}, nil
	}
	if sec.cacheKey == "" {
		return nil, errors.New("the session cache was sealed with a cache_key and this remote has none")
	}
	k, err := hkdf.Key(sha256.New, []byte(sec.cacheKey+"\x00"+sec.password), p.salt[:], "ferry mega session cache key", 32)
	if err != nil {
		return nil, err
	}
	return &cacheKey{params: p, key: k}, nil
}

// newKDFParams returns the parameters for a new file with a fresh salt:
// HKDF when there is a cache_key, else Argon2id.
func newKDFParams(sec cacheSecrets) (kdfParams, error) {
	p := kdfParams{kdf: cacheKDFHKDF}
	if sec.cacheKey == "" {
		p = kdfParams{kdf: cacheKDFArgon, time: cacheArgonTime, memory: cacheArgonMemory, threads: cacheArgonThreads}
	}
	_, err := rand.Read(p.salt[:])
	return p, err
}

// cacheBinding is the additional data binding a cache to one account on
// one API.
func cacheBinding(email, apiURL string) []byte {
	return []byte(strings.ToLower(strings.TrimSpace(email)) + "\x00" + apiURL)
}

// encodeHeader returns the header for p and fileID.
func encodeHeader(p kdfParams, fileID [16]byte) []byte {
	h := make([]byte, 0, cacheHeaderLen)
	h = append(h, cacheMagic...)
	h = append(h, p.kdf)
	h = binary.BigEndian.AppendUint32(h, p.time)
	h = binary.BigEndian.AppendUint32(h, p.memory)
	h = append(h, p.threads)
	h = append(h, p.salt[:]...)
	h = append(h, fileID[:]...)
	return h
}

// decodeHeader parses and bounds-checks a header.
func decodeHeader(h []byte) (p kdfParams, fileID [16]byte, err error) {
	if len(h) != cacheHeaderLen || string(h[:len(cacheMagic)]) != cacheMagic {
		return p, fileID, errors.New("not a ferry session cache")
	}
	b := h[len(cacheMagic):]
	p.kdf = b[0]
	p.time = binary.BigEndian.Uint32(b[1:])
	p.memory = binary.BigEndian.Uint32(b[5:])
	p.threads = b[9]
	copy(p.salt[:], b[10:26])
	copy(fileID[:], b[26:42])
	switch p.kdf {
	case cacheKDFArgon:
		if p.time < 1 || p.time > maxArgonTime || p.memory < 8 || p.memory > maxArgonMemory || p.threads < 1 {
			return p, fileID, errors.New("key derivation parameters out of range")
		}
	case cacheKDFHKDF:
		if p.time != 0 || p.memory != 0 || p.threads != 0 {
			return p, fileID, errors.New("key derivation parameters out of range")
		}
	default:
		return p, fileID, fmt.Errorf("unknown key derivation %d", p.kdf)
	}
	return p, fileID, nil
}

// segmentAEAD returns the AES-256-GCM of one write: its key is HKDF-SHA256
// of the derived key with the write's fileID as salt.
func segmentAEAD(k *cacheKey, fileID [16]byte) (cipher.AEAD, error) {
	sub, err := hkdf.Key(sha256.New, k.key, fileID[:], "ferry mega session cache v1", 32)
	if err != nil {
		return nil, err
	}
	blk, err := aes.NewCipher(sub)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(blk)
}

// segmentNonce is BE64(index) ‖ 0 0 0 ‖ last.
func segmentNonce(nonce *[12]byte, index uint64, last bool) []byte {
	binary.BigEndian.PutUint64(nonce[:8], index)
	nonce[8], nonce[9], nonce[10], nonce[11] = 0, 0, 0, 0
	if last {
		nonce[11] = 1
	}
	return nonce[:]
}

// sealWriter encrypts a stream into segments.
type sealWriter struct {
	w     io.Writer
	aead  cipher.AEAD
	ad    []byte
	buf   []byte // pending plaintext, up to cacheSegment
	out   []byte // sealed segment scratch
	index uint64
	nonce [12]byte
	err   error
}

func newSealWriter(w io.Writer, aead cipher.AEAD, ad []byte) *sealWriter {
	return &sealWriter{w: w, aead: aead, ad: ad,
		buf: make([]byte, 0, cacheSegment), out: make([]byte, 5, 5+cacheSegment+cacheTagLen)}
}

// Write buffers p, sealing every full segment that more data follows.
func (s *sealWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 && s.err == nil {
		if len(s.buf) == cacheSegment {
			s.seal(false)
			continue
		}
		c := copy(s.buf[len(s.buf):cacheSegment], p)
		s.buf = s.buf[:len(s.buf)+c]
		p = p[c:]
		n += c
	}
	return n, s.err
}

// Close seals the final segment (possibly empty). It does not close w.
func (s *sealWriter) Close() error {
	if s.err == nil {
		s.seal(true)
	}
	return s.err
}

func (s *sealWriter) seal(last bool) {
	out := s.aead.Seal(s.out[:5], segmentNonce(&s.nonce, s.index, last), s.buf, s.ad)
	out[0] = 0
	if last {
		out[0] = 1
	}
	binary.BigEndian.PutUint32(out[1:5], uint32(len(out)-5))
	s.index++
	s.buf = s.buf[:0]
	if _, err := s.w.Write(out); err != nil {
		s.err = err
	}
}

// openReader decrypts and verifies a segment stream. Its Read returns
// errCacheAuth for a forged or damaged segment and io.ErrUnexpectedEOF when
// the final segment is missing; io.EOF only after the final segment.
type openReader struct {
	r     *bufio.Reader
	aead  cipher.AEAD
	ad    []byte
	ct    []byte
	pt    []byte // unread plaintext of the current segment
	ptBuf []byte
	index uint64
	nonce [12]byte
	done  bool
	err   error
}

func newOpenReader(r *bufio.Reader, aead cipher.AEAD, ad []byte) *openReader {
	return &openReader{r: r, aead: aead, ad: ad,
		ct: make([]byte, cacheSegment+cacheTagLen), ptBuf: make([]byte, 0, cacheSegment)}
}

func (o *openReader) Read(p []byte) (int, error) {
	for len(o.pt) == 0 {
		if o.err != nil {
			return 0, o.err
		}
		if o.done {
			o.err = io.EOF
			return 0, io.EOF
		}
		o.err = o.next()
	}
	n := copy(p, o.pt)
	o.pt = o.pt[n:]
	return n, nil
}

// next reads and opens one segment.
func (o *openReader) next() error {
	var hdr [5]byte
	if _, err := io.ReadFull(o.r, hdr[:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("session cache truncated: %w", err)
	}
	last := hdr[0] == 1
	size := binary.BigEndian.Uint32(hdr[1:])
	if hdr[0] > 1 || size < cacheTagLen || size > cacheSegment+cacheTagLen {
		return errCacheAuth
	}
	ct := o.ct[:size]
	if _, err := io.ReadFull(o.r, ct); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("session cache truncated: %w", err)
	}
	pt, err := o.aead.Open(o.ptBuf[:0], segmentNonce(&o.nonce, o.index, last), ct, o.ad)
	if err != nil {
		return errCacheAuth
	}
	if !last && len(pt) != cacheSegment {
		return errCacheAuth
	}
	o.index++
	o.pt = pt
	if last {
		if _, err := o.r.Peek(1); err != io.EOF {
			return errors.New("session cache has trailing data")
		}
		o.done = true
	}
	return nil
}

// cachedState is the decrypted head of a cache file; Tree reads the
// exported tree (nil when the file has none).
type cachedState struct {
	Session []byte
	Tree    io.Reader
	Key     *cacheKey
}

// readCache opens the cache file at path. It derives the key from sec
// unless known already has the file's parameters. The caller must close
// the returned file after reading Tree. A missing file is fs.ErrNotExist.
func readCache(path string, sec cacheSecrets, binding []byte, known *cacheKey) (*cachedState, *os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := decodeCache(f, sec, binding, known)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return st, f, nil
}

// decodeCache reads the header and the session from r.
func decodeCache(r io.Reader, sec cacheSecrets, binding []byte, known *cacheKey) (*cachedState, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	header := make([]byte, cacheHeaderLen)
	if _, err := io.ReadFull(br, header); err != nil {
		return nil, errors.New("not a ferry session cache (too short)")
	}
	params, fileID, err := decodeHeader(header)
	if err != nil {
		return nil, err
	}
	key := known
	if key == nil || key.params != params {
		if key, err = deriveCacheKey(sec, params); err != nil {
			return nil, err
		}
	}
	aead, err := segmentAEAD(key, fileID)
	if err != nil {
		return nil, err
	}
	ad := append(bytes.Clone(header), binding...)
	pr := bufio.NewReaderSize(newOpenReader(br, aead, ad), 64<<10)
	n, err := binary.ReadUvarint(pr)
	if err != nil {
		return nil, fmt.Errorf("session cache: %w", plainErr(err))
	}
	if n == 0 || n > maxSessionLen {
		return nil, errors.New("session cache: bad session length")
	}
	sess := make([]byte, n)
	if _, err := io.ReadFull(pr, sess); err != nil {
		return nil, fmt.Errorf("session cache: %w", plainErr(err))
	}
	hasTree, err := pr.ReadByte()
	if err != nil {
		return nil, fmt.Errorf("session cache: %w", plainErr(err))
	}
	st := &cachedState{Session: sess, Key: key}
	switch hasTree {
	case 0:
		// Read to the end so a forged or truncated tail is still noticed.
		if _, err := pr.ReadByte(); err != io.EOF {
			if err == nil {
				err = errors.New("data after the session")
			}
			return nil, fmt.Errorf("session cache: %w", err)
		}
	case 1:
		st.Tree = pr
	default:
		return nil, errors.New("session cache: bad tree flag")
	}
	return st, nil
}

// plainErr maps io.EOF inside the plaintext to io.ErrUnexpectedEOF.
func plainErr(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Temporary cache files: writeCache's, named by tempPattern, locked by
// their writer (lockTemp) until renamed into place. A process killed
// before the rename leaves one behind; removeStaleTemps removes those.
const (
	tempPattern = ".session-*.tmp"
	// staleTempAge is how long a temporary file must have been left
	// unmodified before it may be removed. Its writer's lock already
	// protects it; the age covers the instant between creating the file
	// and locking it, and platforms without flock.
	staleTempAge = time.Minute
)

// writeCache writes a cache file atomically: a temporary file in the same
// directory (mode 0600, locked while written), fsynced, renamed over path,
// and the directory fsynced. writeTree, if not nil, writes the exported
// tree.
func writeCache(path string, key *cacheKey, binding, session []byte, writeTree func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, tempPattern)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := lockTemp(f); err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	var fileID [16]byte
	if _, err := rand.Read(fileID[:]); err != nil {
		return err
	}
	header := encodeHeader(key.params, fileID)
	aead, err := segmentAEAD(key, fileID)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	if _, err := bw.Write(header); err != nil {
		return err
	}
	sw := newSealWriter(bw, aead, append(bytes.Clone(header), binding...))
	var head []byte
	head = binary.AppendUvarint(head, uint64(len(session)))
	head = append(head, session...)
	if writeTree != nil {
		head = append(head, 1)
	} else {
		head = append(head, 0)
	}
	if _, err := sw.Write(head); err != nil {
		return err
	}
	if writeTree != nil {
		if err := writeTree(sw); err != nil {
			return err
		}
	}
	if err := sw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	// Renamed before it is closed, so its lock covers it until it is no
	// longer a temporary file.
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: not every filesystem syncs directories
		d.Close()
	}
	return nil
}

// removeStaleTemps removes the temporary cache files in dir that killed
// processes left behind: those unmodified for staleTempAge whose lock it
// can take (a writer holds its file's lock until the rename, and a dead
// process holds none). It returns how many it removed; errors reading dir
// or removing a file are returned, files that vanish meanwhile are not.
func removeStaleTemps(dir string, now time.Time) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	removed := 0
	var errs []error
	for _, de := range entries {
		if ok, _ := filepath.Match(tempPattern, de.Name()); !ok || !de.Type().IsRegular() {
			continue
		}
		ok, err := removeIfStale(filepath.Join(dir, de.Name()), now)
		if ok {
			removed++
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// removeIfStale removes the temporary file at path if it is stale (see
// removeStaleTemps), holding its lock while it checks and removes.
func removeIfStale(path string, now time.Time) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil // renamed or removed meanwhile
		}
		return false, err
	}
	defer f.Close() // releases the lock
	if ok, err := tryLockTemp(f); !ok || err != nil {
		return false, err // a writer is at work
	}
	// Checked under the lock: the file is the one opened (not renamed
	// away and replaced) and has not been written to for a while.
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	cur, err := os.Lstat(path)
	if err != nil || !os.SameFile(fi, cur) || now.Sub(fi.ModTime()) < staleTempAge {
		return false, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	return true, nil
}
