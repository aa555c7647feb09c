package megacrypto

import "errors"

// Sentinel errors. Decoders wrap them with context, so test with errors.Is.
var (
	// ErrMAC is returned when a full download's meta-MAC does not match the
	// node key. Callers must treat the data as corrupt. It reports itself
	// fatal (Fatal() bool): downloading again will not fix it.
	ErrMAC error = macError{}
	// ErrBase64 reports malformed base64url.
	ErrBase64 = errors.New("megacrypto: malformed base64")
	// ErrKeySize reports a key or wrapped key of the wrong length.
	ErrKeySize = errors.New("megacrypto: wrong key size")
	// ErrAttr reports attributes that do not decrypt to a MEGA{...} object.
	ErrAttr = errors.New("megacrypto: malformed node attributes")
	// ErrRSAKey reports a private or public key blob that does not decode.
	ErrRSAKey = errors.New("megacrypto: malformed RSA key")
	// ErrFingerprint reports a `c` attribute that does not decode.
	ErrFingerprint = errors.New("megacrypto: malformed fingerprint")
	// ErrHashcash reports a malformed hashcash challenge.
	ErrHashcash = errors.New("megacrypto: malformed hashcash challenge")
)

// macError is ErrMAC's type: comparable, so errors.Is matches it.
type macError struct{}

func (macError) Error() string {
	return "megacrypto: MAC mismatch: content is corrupt or was tampered with"
}

// Fatal reports true: a retry fetches the same stored bytes.
func (macError) Fatal() bool { return true }
