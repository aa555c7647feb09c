package mfapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Int is an integer that decodes from a JSON number or a JSON string
// holding one ("5292032", " 7 ", "1.0e3" is refused); an empty string or
// null is 0. It encodes as a JSON string, as the service sends it.
type Int int64

// UnmarshalJSON accepts a number or a string holding a decimal integer.
func (n *Int) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*n = 0
		return nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*n = 0
			return nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// A float such as "1397755702.0581" is not an Int; a whole
		// number written as a float ("100.0") is accepted.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int64(f)) {
			return fmt.Errorf("mfapi: %q is not an integer", s)
		}
		v = int64(f)
	}
	*n = Int(v)
	return nil
}

// MarshalJSON writes the number as a JSON string.
func (n Int) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatInt(int64(n), 10) + `"`), nil
}

// String is the decimal form.
func (n Int) String() string { return strconv.FormatInt(int64(n), 10) }

// Bool is the service's "yes" / "no" boolean. It also decodes true and
// false, "true" and "false", "1" and "0"; anything else (and absence)
// is false. It encodes as "yes" or "no".
type Bool bool

// UnmarshalJSON accepts "yes"/"no" and the other spellings Bool lists.
func (v *Bool) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch string(b) {
	case "true", "1":
		*v = true
		return nil
	case "false", "0", "null", "":
		*v = false
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("mfapi: %s is not a yes/no value", b)
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "true", "1", "y":
		*v = true
	default:
		*v = false
	}
	return nil
}

// MarshalJSON writes "yes" or "no".
func (v Bool) MarshalJSON() ([]byte, error) {
	if v {
		return []byte(`"yes"`), nil
	}
	return []byte(`"no"`), nil
}

// YesNo returns "yes" or "no", the form of boolean request parameters.
func YesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

// String is a JSON string that also decodes from a number (kept in its
// textual form) or null (""). Opaque values that look numeric, such as
// the login's time, use it so that their text is kept byte for byte.
type String string

// UnmarshalJSON accepts a string, a number (its literal text) or null.
func (s *String) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*s = ""
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = String(v)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*s = String(b)
	case string(b) == "true" || string(b) == "false":
		*s = String(b)
	default:
		return fmt.Errorf("mfapi: %.40s is not a string", b)
	}
	return nil
}
