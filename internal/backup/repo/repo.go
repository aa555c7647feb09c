package repo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backup/chunker"
)

// Errors callers branch on.
var (
	// ErrNotFound: there is no repository (no config object) at the path.
	ErrNotFound = errors.New("repo: no repository here")
	// ErrExists: Init found a config object already.
	ErrExists = errors.New("repo: a repository exists here already")
	// ErrRecreated: another run created a repository at the same location
	// at the same time as this one and its config won; nothing of this run
	// was indexed. Run again: the repository is opened then.
	ErrRecreated = errors.New("repo: another run created a repository here at the same time; this run's data was not indexed: run it again")
	// ErrWrongPassword: no keys/ object opens with the password.
	ErrWrongPassword = errors.New("repo: wrong password (no key opens with it)")
	// ErrKeyInUse: RemoveKey of the key the Repository was opened with.
	ErrKeyInUse = errors.New("repo: the key in use cannot be removed")
	// ErrLastKey: RemoveKey of the only key.
	ErrLastKey = errors.New("repo: the last key cannot be removed")
	// ErrKeyNotFound: RemoveKey of a key that does not exist.
	ErrKeyNotFound = errors.New("repo: no such key")
	// ErrBlobNotFound: LoadBlob or Lookup of a blob no index or pack holds.
	ErrBlobNotFound = errors.New("repo: blob not found")
	// ErrCorrupt: a stored object or blob does not decrypt, parse or match
	// its ID.
	ErrCorrupt = errors.New("repo: corrupt object")
)

// Default pack sizes: the target size of a pack for remote backends and
// for a local one.
const (
	DefaultPackSize      = 64 << 20
	DefaultLocalPackSize = 16 << 20
)

// Options configure Init and Open. The zero value works: no local cache,
// packs assembled in os.TempDir, 64 MiB packs, automatic compression.
type Options struct {
	// CacheDir is the cache directory: temporary packs are assembled
	// there, and, when set, the local cache lives in CacheDir/backup/<repo
	// id>/. Empty: os.TempDir for packs, and no local cache.
	CacheDir string
	// PackSize is the target pack size in bytes (DefaultPackSize when 0).
	// Init records it in the config; Open uses the config's unless this is
	// set.
	PackSize int64
	// Compression is "auto" (zstd where it helps, the default), "off" or
	// "max". Init records it; Open uses the config's unless this is set.
	Compression string
	// KDF are the Argon2id parameters of keys this Repository writes
	// (DefaultKDF when zero). Tests use small ones.
	KDF KDF
	// Chunker are the chunker bounds Init records (chunker.DefaultParams
	// when zero).
	Chunker chunker.Params
	// Uploads bounds the packs uploaded at once (2 when 0). A SaveBlob
	// that fills a pack while all are busy waits for one to finish, so
	// CacheDir holds at most Uploads packs uploading, one waiting per
	// SaveBlob caller, and one filling per blob type.
	Uploads int
	// ScanPacks makes Open list every pack, to find those no index lists
	// (left by a run killed before its Flush), even when the local cache
	// says no run of this machine was left unfinished. Without a cache, on
	// the first Open with a cache, and after a run that did not finish,
	// Open lists them anyway. Prune and check set it, so Packs shows every
	// pack.
	ScanPacks bool
	// Logger receives operator messages; nil discards them.
	Logger *slog.Logger
}

// config is the config object, encrypted with the master key.
type config struct {
	Version     int            `json:"version"`
	ID          ID             `json:"id"`
	Chunker     chunker.Params `json:"chunker"`
	PackSize    int64          `json:"pack_size"`
	Compression string         `json:"compression"`
}

const formatVersion = 1

// Stats count a Repository's work since Init or Open.
type Stats struct {
	ObjectsWritten  int64 // objects Put (packs, indexes, snapshots, keys, marks, config)
	ObjectsRead     int64 // objects or ranges read from the backend
	BytesUploaded   int64
	BytesDownloaded int64
	CacheHits       int64 // objects read from the local cache instead
	BlobsNew        int64 // SaveBlob calls that stored a blob
	BlobsKnown      int64 // SaveBlob calls whose blob was there already
	BytesNew        int64 // plaintext bytes of new blobs
	BytesStored     int64 // stored (compressed, encrypted) bytes of new blobs
}

type stats struct {
	objectsWritten, objectsRead, bytesUploaded, bytesDownloaded, cacheHits atomic.Int64
	blobsNew, blobsKnown, bytesNew, bytesStored                            atomic.Int64
}

// Repository is an open repository. It is safe for concurrent use.
type Repository struct {
	be   backend.Backend
	opts Options
	log  *slog.Logger
	keys *masterKeys
	c    *crypter
	cfg  config

	// created holds the sealed config Init wrote, until the first Flush
	// has found it still in place (a concurrent Init may replace it).
	created []byte

	cache *cache // nil without Options.CacheDir

	keyMu sync.Mutex // serialises ChangePassword

	mu       sync.Mutex
	keyID    string               // guarded by mu: the keys/ object in use
	idx      *index               // guarded by mu
	pending  map[blobKey]bool     // guarded by mu: blobs in packs not yet uploaded
	fresh    []packEntry          // guarded by mu: packs uploaded since the last Flush (for the next index)
	failed   error                // guarded by mu: the first background upload error
	dirty    bool                 // guarded by mu: the unfinished mark is in the cache
	fetching map[ID]chan struct{} // guarded by mu: tree packs being downloaded into the cache; closed when done
	marked   map[ID]bool          // guarded by mu: packs named by deleted/ marks at Open
	indexes  map[ID][]ID          // guarded by mu: the packs each index object read at Open or written since lists

	packMu  [3]sync.Mutex // packMu[t] guards packers[t]
	packers [3]*packer    // the open pack of each blob type

	uploads   inflight
	uploadSem chan struct{}

	st stats
}

// Init creates a repository on be: fresh master keys from crypto/rand, a
// keys/ object wrapping them with password, and the config. ErrExists if
// a config is there already.
func Init(ctx context.Context, be backend.Backend, password []byte, o Options) (*Repository, error) {
	if len(password) == 0 {
		return nil, errors.New("repo: empty password")
	}
	r := newRepository(be, o)
	if _, err := be.Stat(ctx, "config"); err == nil {
		return nil, fmt.Errorf("%s: %w", be, ErrExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("repo: %w", err)
	}
	mk, err := newMasterKeys()
	if err != nil {
		return nil, err
	}
	if err := r.setKeys(mk); err != nil {
		return nil, err
	}
	r.cfg = config{Version: formatVersion, Chunker: o.Chunker, PackSize: o.PackSize, Compression: o.Compression}
	if _, err := rand.Read(r.cfg.ID[:]); err != nil {
		return nil, fmt.Errorf("repo: random id: %w", err)
	}
	if r.cfg.Chunker == (chunker.Params{}) {
		r.cfg.Chunker = chunker.DefaultParams()
	}
	if r.cfg.PackSize == 0 {
		r.cfg.PackSize = DefaultPackSize
	}
	if r.cfg.Compression == "" {
		r.cfg.Compression = "auto"
	}
	if err := checkConfig(&r.cfg); err != nil {
		return nil, err
	}
	if err := r.openCache(); err != nil {
		return nil, err
	}
	id, _, err := r.saveKey(ctx, password)
	if err != nil {
		return nil, err
	}
	r.keyID = id
	b, err := json.Marshal(&r.cfg)
	if err != nil {
		return nil, err
	}
	sealed, err := r.c.seal(nil, b)
	if err != nil {
		return nil, err
	}
	if err := r.putObject(ctx, "config", sealed); err != nil {
		return nil, err
	}
	// Two Inits of one empty location at once both find no config and
	// both write one; the last wins. The loser learns it here or, if the
	// winner wrote after this check, at its first Flush (confirmCreated),
	// before anything of it is indexed.
	if b, err := r.getObject(ctx, "config"); err != nil {
		return nil, err
	} else if !bytes.Equal(b, sealed) {
		r.be.Remove(ctx, "keys/"+id) // its master keys lost: a key that opens nothing
		return nil, fmt.Errorf("%s: %w", be, ErrExists)
	}
	r.created = sealed
	r.cache.put("config", sealed)
	r.saveCacheHint()
	r.log.Info("repository created", "repo", be.String(), "id", r.cfg.ID.Short())
	return r, nil
}

// confirmCreated checks, once after Init, that the config on the backend
// is still the one Init wrote (ErrRecreated if another run's replaced it).
func (r *Repository) confirmCreated(ctx context.Context) error {
	if r.created == nil {
		return nil
	}
	b, err := r.getObject(ctx, "config")
	if err != nil {
		return err
	}
	if !bytes.Equal(b, r.created) {
		return ErrRecreated
	}
	r.created = nil
	return nil
}

// Open opens the repository on be with password: ErrNotFound if there is
// no config, ErrWrongPassword if no key opens with password. It reads
// every index (from the local cache when it has them) and the prune
// marks, and finds packs no index lists (left by a run that was killed),
// so their blobs are reused.
func Open(ctx context.Context, be backend.Backend, password []byte, o Options) (*Repository, error) {
	r := newRepository(be, o)
	if _, err := be.Stat(ctx, "config"); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", be, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("repo: %w", err)
	}
	// The cache of the repository last opened at this backend, if any: it
	// may hold the config and the keys, which are then not downloaded.
	hint := r.cacheHint()
	mk, key, err := findKey(ctx, r, hint, password)
	if err != nil {
		return nil, err
	}
	if err := r.setKeys(mk); err != nil {
		return nil, err
	}
	r.keyID = key.name
	sealed, ok := hint.get("config")
	if !ok || r.decodeConfig(sealed) != nil {
		if sealed, err = r.getObject(ctx, "config"); err != nil {
			return nil, err
		}
		if err := r.decodeConfig(sealed); err != nil {
			return nil, err
		}
	}
	if err := checkConfig(&r.cfg); err != nil {
		return nil, err
	}
	if o.PackSize != 0 {
		r.cfg.PackSize = o.PackSize
	}
	if o.Compression != "" {
		r.cfg.Compression = o.Compression
		if err := checkConfig(&r.cfg); err != nil {
			return nil, err
		}
	}
	if err := r.openCache(); err != nil {
		return nil, err
	}
	r.cache.put("config", sealed)
	if namedByHash(key.name, key.data) {
		r.cache.put("keys/"+key.name, key.data)
	}
	r.cache.prune("keys", key.names)
	r.saveCacheHint()
	r.removeStaleTemp()
	if err := r.loadIndexes(ctx); err != nil {
		return nil, err
	}
	if err := r.loadMarks(ctx); err != nil {
		return nil, err
	}
	if o.ScanPacks || r.cache == nil || !r.cache.has(markScanned) || r.cache.has(markUnfinished) {
		if err := r.findUnindexed(ctx); err != nil {
			return nil, err
		}
		r.cache.put(markScanned, nil)
	} else {
		r.pruneTreeCache()
	}
	return r, nil
}

// decodeConfig decrypts and checks the config object.
func (r *Repository) decodeConfig(sealed []byte) error {
	b, err := r.c.open(nil, sealed)
	if err != nil {
		return fmt.Errorf("repo: config: %w: %w", ErrCorrupt, err)
	}
	var c config
	if err := json.Unmarshal(b, &c); err != nil {
		return fmt.Errorf("repo: config: %w: %w", ErrCorrupt, err)
	}
	if err := checkConfig(&c); err != nil {
		return err
	}
	r.cfg = c
	return nil
}

func checkConfig(c *config) error {
	switch {
	case c.Version != formatVersion:
		return fmt.Errorf("repo: config: format version %d, this ferry reads %d", c.Version, formatVersion)
	case c.Chunker.Min <= 0 || c.Chunker.Min > c.Chunker.Avg || c.Chunker.Avg > c.Chunker.Max || c.Chunker.Max > maxBlobSize:
		return fmt.Errorf("repo: config: chunker bounds %+v are not 0 < min <= avg <= max <= %d", c.Chunker, maxBlobSize)
	case c.PackSize < 1<<10 || c.PackSize > 1<<31:
		return fmt.Errorf("repo: config: pack size %d out of range 1 KiB..2 GiB", c.PackSize)
	}
	switch c.Compression {
	case "auto", "off", "max":
	default:
		return fmt.Errorf("repo: compression %q: want auto, off or max", c.Compression)
	}
	return nil
}

func newRepository(be backend.Backend, o Options) *Repository {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := o.Uploads
	if n <= 0 {
		n = 2
	}
	return &Repository{be: be, opts: o, log: log, idx: newIndex(), pending: map[blobKey]bool{},
		marked: map[ID]bool{}, indexes: map[ID][]ID{}, uploadSem: make(chan struct{}, n)}
}

func (r *Repository) setKeys(mk *masterKeys) error {
	c, err := newCrypter(mk)
	if err != nil {
		return err
	}
	r.keys, r.c = mk, c
	return nil
}

// ID returns the repository's ID (random, from Init; it names the local
// cache directory).
func (r *Repository) ID() ID { return r.cfg.ID }

// ChunkerKey returns the 32-byte key of the chunker's gear table.
func (r *Repository) ChunkerKey() []byte { return r.keys.Chunker }

// ChunkerParams returns the chunk size bounds the config records.
func (r *Repository) ChunkerParams() chunker.Params { return r.cfg.Chunker }

// Backend returns the backend the repository lives on.
func (r *Repository) Backend() backend.Backend { return r.be }

// Stats returns the counters of the work done so far.
func (r *Repository) Stats() Stats {
	return Stats{
		ObjectsWritten: r.st.objectsWritten.Load(), ObjectsRead: r.st.objectsRead.Load(),
		BytesUploaded: r.st.bytesUploaded.Load(), BytesDownloaded: r.st.bytesDownloaded.Load(),
		CacheHits: r.st.cacheHits.Load(), BlobsNew: r.st.blobsNew.Load(), BlobsKnown: r.st.blobsKnown.Load(),
		BytesNew: r.st.bytesNew.Load(), BytesStored: r.st.bytesStored.Load(),
	}
}

// putObject stores a small object from memory.
func (r *Repository) putObject(ctx context.Context, p string, b []byte) error {
	if _, err := r.be.Put(ctx, p, bytes.NewReader(b), int64(len(b)), time.Now()); err != nil {
		return fmt.Errorf("repo: write %s: %w", p, err)
	}
	r.st.objectsWritten.Add(1)
	r.st.bytesUploaded.Add(int64(len(b)))
	return nil
}

// maxObjectSize bounds the small objects (config, keys, index, snapshots,
// marks) read whole into memory.
const maxObjectSize = 1 << 30

// getObject reads a small object whole. A missing object is
// fs.ErrNotExist.
func (r *Repository) getObject(ctx context.Context, p string) ([]byte, error) {
	rc, err := r.be.Open(ctx, p, 0, -1)
	if err != nil {
		return nil, fmt.Errorf("repo: read %s: %w", p, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxObjectSize+1))
	if err == nil {
		err = rc.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("repo: read %s: %w", p, err)
	}
	if len(b) > maxObjectSize {
		return nil, fmt.Errorf("repo: read %s: larger than %d bytes", p, maxObjectSize)
	}
	r.st.objectsRead.Add(1)
	r.st.bytesDownloaded.Add(int64(len(b)))
	return b, nil
}

func (r *Repository) removeObject(ctx context.Context, p string) error {
	if err := r.be.Remove(ctx, p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("repo: remove %s: %w", p, err)
	}
	return nil
}

// listNames returns the names of the files in dir (none if dir is
// missing).
func (r *Repository) listNames(ctx context.Context, dir string) ([]string, error) {
	es, err := r.be.List(ctx, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("repo: list %s: %w", dir, err)
	}
	var names []string
	for _, e := range es {
		if !e.IsDir && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// listIDs returns the objects in dir whose names are IDs, with their
// sizes, skipping (and logging) other names.
func (r *Repository) listIDs(ctx context.Context, dir string) (map[ID]int64, error) {
	es, err := r.be.List(ctx, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return map[ID]int64{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("repo: list %s: %w", dir, err)
	}
	out := make(map[ID]int64, len(es))
	for _, e := range es {
		if e.IsDir {
			continue
		}
		id, err := ParseID(e.Name())
		if err != nil {
			r.log.Warn("ignoring a file that is not a repository object", "path", e.Path)
			continue
		}
		out[id] = e.Size
	}
	return out, nil
}

// staleTemp is the age after which a temporary pack in the cache dir is
// taken for a leftover of a killed process and removed at Open.
const staleTemp = 24 * time.Hour

// removeStaleTemp removes temporary packs older than staleTemp.
func (r *Repository) removeStaleTemp() {
	if r.opts.CacheDir == "" {
		return
	}
	files, _ := filepath.Glob(filepath.Join(r.opts.CacheDir, "ferry-pack-*.tmp"))
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && time.Since(fi.ModTime()) > staleTemp {
			os.Remove(f)
		}
	}
}

// tempDir is where packs are assembled.
func (r *Repository) tempDir() (string, error) {
	if r.opts.CacheDir == "" {
		return os.TempDir(), nil
	}
	if err := os.MkdirAll(r.opts.CacheDir, 0o700); err != nil {
		return "", fmt.Errorf("repo: cache dir: %w", err)
	}
	return r.opts.CacheDir, nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
