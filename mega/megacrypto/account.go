package megacrypto

import (
	"fmt"
	"io"
	"strings"
)

// Account is what a MEGA signup leaves on the server: only values derived on
// the client. The password and the master key never appear in it.
type Account struct {
	Email   string // lower-cased
	Version int    // 1 (legacy prepare_key) or 2 (PBKDF2)
	// Salt is the v2 PBKDF2 salt (32 bytes); nil for v1.
	Salt []byte
	// AuthHash verifies logins: v2 SHA256(authKey)[0:16]; v1 the 8 bytes of
	// the user hash `uh`.
	AuthHash []byte
	// MasterKeyWrapped is the master key encrypted with the password key
	// (`k` in `us` and `ug`).
	MasterKeyWrapped []byte
	// Privk and Pubk are the RSA key pair blobs; empty for an account whose
	// keys were never generated.
	Privk, Pubk string
	// TS is the `ts` user attribute b64(r || AES_mk(r)); it also lets the
	// server build a `tsid` for an account without keys.
	TS string
}

// AccountOptions selects the kind of account NewAccount creates.
type AccountOptions struct {
	V1     bool // legacy v1 account (prepare_key + user hash)
	NoKeys bool // no RSA key pair, as before a first browser login
}

// NewAccount performs the client side of a signup: it draws a master key,
// derives the password key, wraps the master key and (unless NoKeys)
// generates and wraps an RSA key pair. rnd must be crypto/rand.Reader
// outside tests.
func NewAccount(email string, password []byte, opts AccountOptions, rnd io.Reader) (*Account, error) {
	a := &Account{Email: strings.ToLower(strings.TrimSpace(email))}
	if a.Email == "" {
		return nil, fmt.Errorf("new account: empty e-mail")
	}
	mk := make([]byte, 16)
	if _, err := io.ReadFull(rnd, mk); err != nil {
		return nil, fmt.Errorf("new account: master key: %w", err)
	}
	var pwKey []byte
	if opts.V1 {
		a.Version = 1
		pwKey = PrepareKey(password)
		uh, err := B64Decode(UserHashV1(a.Email, pwKey))
		if err != nil {
			return nil, fmt.Errorf("new account: user hash: %w", err)
		}
		a.AuthHash = uh
	} else {
		a.Version = 2
		crv := make([]byte, 16)
		if _, err := io.ReadFull(rnd, crv); err != nil {
			return nil, fmt.Errorf("new account: salt: %w", err)
		}
		a.Salt = V2Salt(crv)
		var authKey []byte
		pwKey, authKey = DeriveV2(password, a.Salt)
		a.AuthHash = AuthKeyHash(authKey)
	}
	var err error
	if a.MasterKeyWrapped, err = EncryptKey(pwKey, mk); err != nil {
		return nil, fmt.Errorf("new account: wrap master key: %w", err)
	}
	if a.TS, err = NewTS(mk, rnd); err != nil {
		return nil, fmt.Errorf("new account: ts: %w", err)
	}
	if !opts.NoKeys {
		k, err := GenerateRSAKey(rnd)
		if err != nil {
			return nil, fmt.Errorf("new account: rsa: %w", err)
		}
		if a.Privk, err = EncodePrivateKey(mk, k, rnd); err != nil {
			return nil, fmt.Errorf("new account: privk: %w", err)
		}
		a.Pubk = EncodePublicKey(k)
	}
	return a, nil
}
