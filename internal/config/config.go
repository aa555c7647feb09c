package config

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// Environment variables read by this package's helpers.
const (
	// EnvConfig overrides the config file's location.
	EnvConfig = "FERRY_CONFIG"
	// EnvConfigPass supplies the configuration password of an encrypted
	// config file.
	EnvConfigPass = "FERRY_CONFIG_PASS"
)

// DefaultPath is the config file used without --config: $FERRY_CONFIG, else
// $XDG_CONFIG_HOME/ferry/ferry.conf, else ~/.config/ferry/ferry.conf.
func DefaultPath() string {
	if p := os.Getenv(EnvConfig); p != "" {
		return p
	}
	base := os.Getenv("XDG_CONFIG_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "ferry.conf"
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "ferry", "ferry.conf")
}

// File is a loaded config file. It is not safe for concurrent use.
type File struct {
	path    string
	remotes []*Remote
	trailer []string // comment lines after the last option

	// loaded is the hash of the bytes read from disk, nil if the file did
	// not exist; Save refuses to overwrite a file that changed since.
	loaded []byte
	exists bool
	// key is the encryption key when the file is encrypted (nil: plain).
	key *fileKey
}

// Remote is one section of the file: a named remote and its options, as
// stored (Secret options are obscured).
type Remote struct {
	Name     string
	line     int // line of the [name] header, 0 if added in memory
	comments []string
	entries  []entry
}

type entry struct {
	key, value string
	line       int
	comments   []string
}

// ErrPasswordRequired is returned by Load for an encrypted file when no
// password function is given.
var ErrPasswordRequired = errors.New("config file is encrypted: set " + EnvConfigPass + " or run interactively")

// ErrWrongPassword is returned by Load when the configuration password does
// not decrypt the file.
var ErrWrongPassword = errors.New("wrong configuration password (or the file is damaged)")

// Load reads the config file at path. A missing file is an empty config
// (Exists reports false), not an error. For an encrypted file, password is
// called once to get the configuration password; a nil password gives
// ErrPasswordRequired. Errors name the file and, for syntax errors, the
// line (*ParseError).
func Load(path string, password func() (string, error)) (*File, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &File{path: path}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	f, err := decode(path, data, password)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	f.loaded = sum[:]
	f.exists = true
	return f, nil
}

// Parse reads plain (not encrypted) INI text; name is used in errors.
func Parse(name string, data []byte) (*File, error) { return parse(name, data) }

// decode parses data, decrypting it first if it is encrypted.
func decode(path string, data []byte, password func() (string, error)) (*File, error) {
	if !isEncrypted(data) {
		return parse(path, data)
	}
	if password == nil {
		return nil, fmt.Errorf("%s: %w", path, ErrPasswordRequired)
	}
	plain, key, err := decrypt(path, data, password)
	if err != nil {
		return nil, err
	}
	f, err := parse(path, plain)
	if err != nil {
		return nil, err
	}
	f.key = key
	return f, nil
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// Exists reports whether the file existed when loaded or has been saved.
func (f *File) Exists() bool { return f.exists }

// Encrypted reports whether the file has a configuration password.
func (f *File) Encrypted() bool { return f.key != nil }

// SetPassword sets the configuration password used by the next Save; ""
// removes it, so the file is saved in plain text (secrets still obscured).
func (f *File) SetPassword(password string) error {
	if password == "" {
		f.key = nil
		return nil
	}
	k, err := newFileKey(password)
	if err != nil {
		return err
	}
	f.key = k
	return nil
}

// Bytes returns the file's content as plain INI text (secrets obscured, not
// encrypted).
func (f *File) Bytes() []byte { return f.format() }

// Names returns the remotes' names in file order.
func (f *File) Names() []string {
	names := make([]string, len(f.remotes))
	for i, r := range f.remotes {
		names[i] = r.Name
	}
	return names
}

// Remote returns the remote called name, or nil.
func (f *File) Remote(name string) *Remote {
	for _, r := range f.remotes {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// ErrExists is returned when adding a remote whose name is taken.
var ErrExists = errors.New("remote already exists")

// Add adds an empty remote called name.
func (f *File) Add(name string) (*Remote, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if f.Remote(name) != nil {
		return nil, fmt.Errorf("%q: %w", name, ErrExists)
	}
	r := &Remote{Name: name}
	f.remotes = append(f.remotes, r)
	return r, nil
}

// Delete removes the remote called name and reports whether it existed.
func (f *File) Delete(name string) bool {
	i := slices.IndexFunc(f.remotes, func(r *Remote) bool { return r.Name == name })
	if i < 0 {
		return false
	}
	f.remotes = slices.Delete(f.remotes, i, i+1)
	return true
}

// Rename renames remote old to name, keeping its place in the file.
func (f *File) Rename(old, name string) error {
	r := f.Remote(old)
	if r == nil {
		return fmt.Errorf("remote %q not found", old)
	}
	if err := CheckName(name); err != nil {
		return err
	}
	if old == name {
		return nil
	}
	if f.Remote(name) != nil {
		return fmt.Errorf("%q: %w", name, ErrExists)
	}
	r.Name = name
	return nil
}

// Copy adds remote name with the options of remote old.
func (f *File) Copy(old, name string) error {
	r := f.Remote(old)
	if r == nil {
		return fmt.Errorf("remote %q not found", old)
	}
	c, err := f.Add(name)
	if err != nil {
		return err
	}
	for _, e := range r.entries {
		c.entries = append(c.entries, entry{key: e.key, value: e.value})
	}
	return nil
}

// Type returns the remote's "type" option.
func (r *Remote) Type() string {
	v, _ := r.Get("type")
	return v
}

// Get returns the stored value of key (obscured for secrets).
func (r *Remote) Get(key string) (string, bool) {
	if e := r.entry(key); e != nil {
		return e.value, true
	}
	return "", false
}

// Set stores value under key, keeping the key's place if it exists.
func (r *Remote) Set(key, value string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if e := r.entry(key); e != nil {
		e.value = value
		return nil
	}
	r.entries = append(r.entries, entry{key: key, value: value})
	return nil
}

// Unset removes key and reports whether it was set.
func (r *Remote) Unset(key string) bool {
	i := slices.IndexFunc(r.entries, func(e entry) bool { return e.key == key })
	if i < 0 {
		return false
	}
	r.entries = slices.Delete(r.entries, i, i+1)
	return true
}

// Keys returns the remote's option names in file order, "type" included.
func (r *Remote) Keys() []string {
	keys := make([]string, len(r.entries))
	for i, e := range r.entries {
		keys[i] = e.key
	}
	return keys
}

// Map returns the stored options as a map, "type" included.
func (r *Remote) Map() map[string]string {
	m := make(map[string]string, len(r.entries))
	for _, e := range r.entries {
		m[e.key] = e.value
	}
	return m
}

// Line returns the line on which key was read, or of the [name] header for
// key "", or 0 if it was set in memory.
func (r *Remote) Line(key string) int {
	if key == "" {
		return r.line
	}
	if e := r.entry(key); e != nil {
		return e.line
	}
	return 0
}

func (r *Remote) entry(key string) *entry {
	for i := range r.entries {
		if r.entries[i].key == key {
			return &r.entries[i]
		}
	}
	return nil
}

// ErrChanged is returned by Save when the file on disk changed since it was
// loaded.
var ErrChanged = errors.New("config file changed on disk since it was read; not overwriting it (run the command again)")

// Save writes the file atomically with mode 0600, encrypted if it has a
// configuration password, creating its directory (0700) if needed. It
// refuses to overwrite a file that changed on disk since Load.
func (f *File) Save() error {
	target := f.path
	if t, err := filepath.EvalSymlinks(f.path); err == nil {
		target = t // replace a symlink's target, not the link
	}
	cur, err := os.ReadFile(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if f.loaded != nil {
			return fmt.Errorf("%s: %w", f.path, ErrChanged)
		}
	case err != nil:
		return fmt.Errorf("save config: %w", err)
	default:
		sum := sha256.Sum256(cur)
		if f.loaded == nil || !bytes.Equal(sum[:], f.loaded) {
			return fmt.Errorf("%s: %w", f.path, ErrChanged)
		}
	}
	data := f.format()
	if f.key != nil {
		if data, err = f.key.encrypt(data); err != nil {
			return fmt.Errorf("save config: %w", err)
		}
	}
	if err := writeAtomic(target, data); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	sum := sha256.Sum256(data)
	f.loaded = sum[:]
	f.exists = true
	return nil
}

// writeAtomic replaces name with data: a temporary file in the same
// directory, fsync, rename, fsync of the directory.
func writeAtomic(name string, data []byte) error {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: some filesystems refuse to sync directories
		d.Close()
	}
	return nil
}
