package repo

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"time"

	"golang.org/x/crypto/argon2"
)

// KDF are the Argon2id parameters that turn a password into the key that
// wraps the master keys. New keys use Options.KDF; opening a key uses the
// parameters its keys/ object records.
type KDF struct {
	Time      uint32 // passes
	MemoryKiB uint32 // memory in KiB
	Threads   uint8
}

// DefaultKDF is what a zero Options.KDF means: 1 pass over 64 MiB with 2
// threads (about 0.2 s on this 2-core machine under load).
var DefaultKDF = KDF{Time: 1, MemoryKiB: 64 << 10, Threads: 2}

// maxKDFMemoryKiB bounds what a key object may ask for (4 GiB), so a
// damaged or hostile object cannot exhaust memory.
const maxKDFMemoryKiB = 4 << 20

func (k KDF) orDefault() KDF {
	if k == (KDF{}) {
		return DefaultKDF
	}
	return k
}

func (k KDF) check() error {
	switch {
	case k.Time == 0 || k.Time > 100:
		return fmt.Errorf("argon2id time %d out of range 1..100", k.Time)
	case k.MemoryKiB < 8 || k.MemoryKiB > maxKDFMemoryKiB:
		return fmt.Errorf("argon2id memory %d KiB out of range 8..%d", k.MemoryKiB, maxKDFMemoryKiB)
	case k.Threads == 0:
		return errors.New("argon2id threads 0")
	}
	return nil
}

// keyFile is a keys/<id> object: JSON, not encrypted. Data holds the
// master keys JSON, sealed with the key Argon2id derives from the password
// and Salt.
type keyFile struct {
	KDF       string    `json:"kdf"`
	Time      uint32    `json:"time"`
	MemoryKiB uint32    `json:"memory_kib"`
	Threads   uint8     `json:"threads"`
	Salt      []byte    `json:"salt"`
	Created   time.Time `json:"created"`
	Host      string    `json:"host,omitempty"`
	User      string    `json:"user,omitempty"`
	Data      []byte    `json:"data"`
}

// KeyInfo describes one keys/ object.
type KeyInfo struct {
	ID      string // the object's name under keys/
	Created time.Time
	Host    string
	User    string
	Current bool // the key this Repository was opened with
}

// makeKeyFile wraps mk with password and returns the object's bytes.
func makeKeyFile(mk *masterKeys, password []byte, kdf KDF) ([]byte, error) {
	kdf = kdf.orDefault()
	if err := kdf.check(); err != nil {
		return nil, fmt.Errorf("repo: %w", err)
	}
	kf := keyFile{KDF: "argon2id", Time: kdf.Time, MemoryKiB: kdf.MemoryKiB, Threads: kdf.Threads,
		Salt: make([]byte, 16), Created: time.Now().UTC()}
	if _, err := rand.Read(kf.Salt); err != nil {
		return nil, fmt.Errorf("repo: random salt: %w", err)
	}
	kf.Host, _ = os.Hostname()
	if u, err := user.Current(); err == nil {
		kf.User = u.Username
	}
	plain, err := json.Marshal(mk)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(argon2.IDKey(password, kf.Salt, kf.Time, kf.MemoryKiB, kf.Threads, 32))
	if err != nil {
		return nil, err
	}
	if kf.Data, err = seal(aead, nil, plain); err != nil {
		return nil, err
	}
	clear(plain)
	return json.MarshalIndent(kf, "", "  ")
}

// openKeyFile unwraps the master keys in a keys/ object with password.
// A password that does not fit is errAuth.
func openKeyFile(b, password []byte) (*masterKeys, *keyFile, error) {
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return nil, nil, fmt.Errorf("not a key object: %w", err)
	}
	if kf.KDF != "argon2id" {
		return nil, nil, fmt.Errorf("unknown kdf %q", kf.KDF)
	}
	if err := (KDF{kf.Time, kf.MemoryKiB, kf.Threads}).check(); err != nil {
		return nil, nil, err
	}
	if len(kf.Salt) < 16 {
		return nil, nil, fmt.Errorf("salt of %d bytes, want at least 16", len(kf.Salt))
	}
	aead, err := newAEAD(argon2.IDKey(password, kf.Salt, kf.Time, kf.MemoryKiB, kf.Threads, 32))
	if err != nil {
		return nil, nil, err
	}
	plain, err := open(aead, nil, kf.Data)
	if err != nil {
		return nil, nil, err
	}
	defer clear(plain)
	var mk masterKeys
	if err := json.Unmarshal(plain, &mk); err != nil {
		return nil, nil, fmt.Errorf("master keys: %w", err)
	}
	if err := mk.valid(); err != nil {
		return nil, nil, err
	}
	return &mk, &kf, nil
}

// saveKey writes a new keys/ object wrapping the master keys with
// password and returns its name.
func (r *Repository) saveKey(ctx context.Context, password []byte) (string, *keyFile, error) {
	b, err := makeKeyFile(r.keys, password, r.opts.KDF)
	if err != nil {
		return "", nil, err
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return "", nil, err
	}
	id := hashID(b).String()
	if err := r.putObject(ctx, "keys/"+id, b); err != nil {
		return "", nil, err
	}
	r.cache.put("keys/"+id, b)
	return id, &kf, nil
}

// foundKey is the keys/ object a password opened.
type foundKey struct {
	name  string
	data  []byte       // the object as stored
	names map[ID]int64 // every keys/ object named by an ID, for pruning the cache
}

// findKey tries password on every keys/ object and returns the master
// keys and the first object it opens. Objects hint (a local cache, or
// nil) holds are not downloaded.
func findKey(ctx context.Context, r *Repository, hint *cache, password []byte) (*masterKeys, foundKey, error) {
	names, err := r.listNames(ctx, "keys")
	if err != nil {
		return nil, foundKey{}, err
	}
	if len(names) == 0 {
		return nil, foundKey{}, fmt.Errorf("repo: %s has a config but no keys/: %w", r.be, ErrWrongPassword)
	}
	slices.Sort(names)
	ids := map[ID]int64{}
	for _, name := range names {
		if id, err := ParseID(name); err == nil {
			ids[id] = 0
		}
	}
	// Try the cached keys first: a password that opens one costs no
	// download at all.
	slices.SortStableFunc(names, func(a, b string) int {
		ca, cb := hint.has("keys/"+a), hint.has("keys/"+b)
		switch {
		case ca && !cb:
			return -1
		case cb && !ca:
			return 1
		}
		return 0
	})
	var errs []error
	for _, name := range names {
		b, ok := hint.get("keys/" + name)
		if ok && !namedByHash(name, b) {
			// Damaged in the cache (ferry names keys by their SHA-256).
			hint.remove("keys/" + name)
			ok = false
		}
		if !ok {
			if b, err = r.getObject(ctx, "keys/"+name); err != nil {
				return nil, foundKey{}, err
			}
		}
		mk, _, err := openKeyFile(b, password)
		if err == nil {
			return mk, foundKey{name: name, data: b, names: ids}, nil
		}
		if !errors.Is(err, errAuth) {
			errs = append(errs, fmt.Errorf("keys/%s: %w", name, err))
		}
	}
	if len(errs) > 0 {
		r.log.Warn("unreadable key objects", "errors", errors.Join(errs...).Error())
	}
	return nil, foundKey{}, ErrWrongPassword
}

// Keys lists the keys/ objects, each with what it says of its making.
func (r *Repository) Keys(ctx context.Context) ([]KeyInfo, error) {
	names, err := r.listNames(ctx, "keys")
	if err != nil {
		return nil, err
	}
	var out []KeyInfo
	for _, name := range names {
		b, err := r.getObject(ctx, "keys/"+name)
		if err != nil {
			return nil, err
		}
		var kf keyFile
		if err := json.Unmarshal(b, &kf); err != nil {
			return nil, fmt.Errorf("repo: keys/%s: not a key object: %w", name, err)
		}
		out = append(out, KeyInfo{ID: name, Created: kf.Created, Host: kf.Host, User: kf.User, Current: name == r.currentKey()})
	}
	slices.SortFunc(out, func(a, b KeyInfo) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// AddKey writes a new keys/ object that opens the repository with
// password, beside the existing ones.
func (r *Repository) AddKey(ctx context.Context, password []byte) (KeyInfo, error) {
	if len(password) == 0 {
		return KeyInfo{}, errors.New("repo: empty password")
	}
	id, kf, err := r.saveKey(ctx, password)
	if err != nil {
		return KeyInfo{}, err
	}
	return KeyInfo{ID: id, Created: kf.Created, Host: kf.Host, User: kf.User}, nil
}

// RemoveKey deletes keys/<id>. It refuses the key this Repository was
// opened with (ErrKeyInUse) and the last key (ErrLastKey).
func (r *Repository) RemoveKey(ctx context.Context, id string) error {
	if id == r.currentKey() {
		return fmt.Errorf("repo: key %s: %w", id, ErrKeyInUse)
	}
	names, err := r.listNames(ctx, "keys")
	if err != nil {
		return err
	}
	if !slices.Contains(names, id) {
		return fmt.Errorf("repo: key %s: %w", id, ErrKeyNotFound)
	}
	if len(names) <= 1 {
		return fmt.Errorf("repo: key %s: %w", id, ErrLastKey)
	}
	r.cache.remove("keys/" + id)
	return r.removeObject(ctx, "keys/"+id)
}

// ChangePassword adds a key for password and then removes the key this
// Repository was opened with, which the new one replaces.
func (r *Repository) ChangePassword(ctx context.Context, password []byte) error {
	if len(password) == 0 {
		return errors.New("repo: empty password")
	}
	r.keyMu.Lock() // one password change at a time
	defer r.keyMu.Unlock()
	old := r.currentKey()
	id, _, err := r.saveKey(ctx, password)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.keyID = id
	r.mu.Unlock()
	r.cache.remove("keys/" + old)
	if err := r.removeObject(ctx, "keys/"+old); err != nil {
		return fmt.Errorf("repo: new key %s written, old key %s not removed: %w", id, old, err)
	}
	return nil
}

// namedByHash reports whether name is the SHA-256 of b, as ferry names
// the key objects it writes; only those are cached.
func namedByHash(name string, b []byte) bool {
	id, err := ParseID(name)
	return err == nil && hashID(b) == id
}

func (r *Repository) currentKey() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keyID
}
