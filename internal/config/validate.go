package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"ferry/internal/backend"
)

// Keys every remote may have besides its type's options.
const (
	KeyType        = "type"
	KeyDescription = "description"
)

// OptionError reports a bad option of a remote. It names the option, never
// a secret's value.
type OptionError struct {
	File   string // config file, "" when not from a file
	Line   int    // line in File, 0 if unknown
	Remote string
	Option string
	Err    error
}

func (e *OptionError) Error() string {
	s := ""
	if e.File != "" && e.Line > 0 {
		s = e.File + ":" + strconv.Itoa(e.Line) + ": "
	}
	if e.Remote != "" {
		s += fmt.Sprintf("remote %q: ", e.Remote)
	}
	return s + fmt.Sprintf("option %q: %v", e.Option, e.Err)
}

func (e *OptionError) Unwrap() error { return e.Err }

// Sentinels wrapped by OptionError.
var (
	ErrUnknownOption = errors.New("unknown option")
	ErrRequired      = errors.New("required option not set")
	ErrNotBool       = errors.New("want true or false")
)

// FindOption returns the declaration of option name, or false.
func FindOption(opts []backend.Option, name string) (backend.Option, bool) {
	for _, o := range opts {
		if o.Name == name {
			return o, true
		}
	}
	return backend.Option{}, false
}

// CheckValue checks a plain (revealed) value against its declaration.
func CheckValue(o backend.Option, v string) error {
	if o.Bool && v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return ErrNotBool
		}
	}
	return nil
}

// Check verifies r's stored options against its type's declarations: every
// key is declared (or is "type" or "description"), values fit, and secrets
// are obscured. Required options are not checked here, since flags and the
// environment may supply them. The error, for the first bad option, is an
// *OptionError naming the line.
func (f *File) Check(r *Remote, opts []backend.Option) error {
	for _, e := range r.entries {
		if e.key == KeyType || e.key == KeyDescription {
			continue
		}
		oe := &OptionError{File: f.path, Line: e.line, Remote: r.Name, Option: e.key}
		o, ok := FindOption(opts, e.key)
		switch {
		case !ok:
			oe.Err = fmt.Errorf("%w for type %s", ErrUnknownOption, r.Type())
		case o.Secret:
			if _, err := Reveal(e.value); err != nil && e.value != "" {
				oe.Err = fmt.Errorf("%w (set it again with \"ferry config update %s %s=...\")", err, r.Name, e.key)
			}
		default:
			oe.Err = CheckValue(o, e.value)
		}
		if oe.Err != nil {
			return oe
		}
	}
	return nil
}

// NewRemote returns a remote that belongs to no file, for building a
// configuration before adding it (the wizard checks credentials first).
func NewRemote(name string) *Remote { return &Remote{Name: name} }

// Values returns r's options with secrets revealed, over the declared
// defaults: the "config file > default" layers of an option's value.
// Unknown keys are left out (File.Check reports them); "type" is left out.
func (r *Remote) Values(opts []backend.Option) (backend.ConfigMap, error) {
	m := backend.ConfigMap{}
	for _, o := range opts {
		if o.Default != "" {
			m[o.Name] = o.Default
		}
	}
	for _, e := range r.entries {
		o, ok := FindOption(opts, e.key)
		if !ok {
			continue
		}
		v := e.value
		if o.Secret && v != "" {
			var err error
			if v, err = Reveal(v); err != nil {
				return nil, &OptionError{Line: e.line, Remote: r.Name, Option: e.key, Err: err}
			}
		}
		m[e.key] = v
	}
	return m, nil
}

// SetValue stores the plain value v of option o, obscuring secrets; "" unsets
// the option.
func (r *Remote) SetValue(o backend.Option, v string) error {
	if v == "" {
		r.Unset(o.Name)
		return nil
	}
	if err := CheckValue(o, v); err != nil {
		return &OptionError{Remote: r.Name, Option: o.Name, Err: err}
	}
	if o.Secret {
		var err error
		if v, err = Obscure(v); err != nil {
			return err
		}
	}
	return r.Set(o.Name, v)
}

// Clone returns a deep copy of r, detached from any file.
func (r *Remote) Clone() *Remote {
	c := &Remote{Name: r.Name, line: r.line, comments: r.comments}
	c.entries = append([]entry(nil), r.entries...)
	return c
}

// Replace puts r in place of the remote with r's name (or adds it), so an
// edited Clone can be stored back.
func (f *File) Replace(r *Remote) error {
	if err := CheckName(r.Name); err != nil {
		return err
	}
	for i, old := range f.remotes {
		if old.Name == r.Name {
			f.remotes[i] = r
			return nil
		}
	}
	f.remotes = append(f.remotes, r)
	return nil
}

// FillGenerated gives r a fresh random value (32 bytes from crypto/rand,
// base64url) for every Generated option of opts it lacks. `ferry config`
// calls it whenever it creates or updates a remote.
func (r *Remote) FillGenerated(opts []backend.Option) error {
	for _, o := range opts {
		if !o.Generated {
			continue
		}
		if v, ok := r.Get(o.Name); ok && v != "" {
			continue
		}
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		if err := r.SetValue(o, base64.RawURLEncoding.EncodeToString(b[:])); err != nil {
			return err
		}
	}
	return nil
}
