package mega

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// LoginOptions are the optional inputs of Login.
type LoginOptions struct {
	// MFACode is the current two-factor PIN (6 digits), used when the
	// account asks for one.
	MFACode string
	// MFA is called for a PIN when the account asks for one and MFACode is
	// empty (for example to prompt the user).
	MFA func(ctx context.Context) (string, error)
}

// Login logs in with e-mail and password: us0 (account version), the v1 or
// v2 password key, us (with a two-factor PIN when the server asks for one),
// then it decrypts the master key and the session id. HTTP 402 hashcash
// challenges are solved transparently.
//
// An account created without an RSA key pair (the server answers a tsid) is
// logged in by verifying the tsid against the master key; Login then
// generates a key pair and stores it on the account (`up`), as the web
// client does on a first login.
//
// Errors wrap ErrWrongPassword, ErrBlocked, ErrMFARequired or a
// *megaapi.Error. On error the client is left logged out.
func (c *Client) Login(ctx context.Context, email, password string, opts LoginOptions) error {
	email = strings.ToLower(strings.TrimSpace(email))
	if err := c.login(ctx, email, password, opts); err != nil {
		return fmt.Errorf("login %s: %w", email, err)
	}
	return nil
}

func (c *Client) login(ctx context.Context, email, password string, opts LoginOptions) error {
	var pre megaapi.PreloginReply
	if err := c.callAs(ctx, "", "us0", megaapi.PreloginRequest{A: "us0", User: email}, &pre); err != nil {
		if errors.Is(err, megaapi.ENOENT) {
			return fmt.Errorf("%w: %w", ErrWrongPassword, err)
		}
		return err
	}
	req := megaapi.LoginRequest{A: "us", User: email}
	var pwKey []byte
	switch pre.V {
	case 1:
		pwKey = megacrypto.PrepareKey([]byte(password))
		req.UH = megacrypto.UserHashV1(email, pwKey)
	case 2:
		salt, err := megacrypto.B64Decode(pre.Salt)
		if err != nil || len(salt) == 0 {
			return fmt.Errorf("us0: malformed salt: %w", err)
		}
		var authKey []byte
		pwKey, authKey = megacrypto.DeriveV2([]byte(password), salt)
		req.UH = megacrypto.B64Encode(authKey)
		var sek [16]byte
		rand.Read(sek[:])
		req.Sek = megacrypto.B64Encode(sek[:])
	default:
		return fmt.Errorf("us0: unsupported account version %d", pre.V)
	}

	var rep megaapi.LoginReply
	err := c.callAs(ctx, "", "us", req, &rep)
	if errors.Is(err, megaapi.EMFAREQUIRED) {
		pin := opts.MFACode
		if pin == "" && opts.MFA != nil {
			if pin, err = opts.MFA(ctx); err != nil {
				return fmt.Errorf("two-factor PIN: %w", err)
			}
		}
		if pin == "" {
			return fmt.Errorf("%w: %w", ErrMFARequired, err)
		}
		req.MFA = strings.TrimSpace(pin)
		err = c.callAs(ctx, "", "us", req, &rep)
		if errors.Is(err, megaapi.EMFAREQUIRED) {
			return fmt.Errorf("two-factor PIN rejected: %w: %w", ErrMFARequired, err)
		}
	}
	if errors.Is(err, megaapi.ENOENT) {
		return fmt.Errorf("%w: %w", ErrWrongPassword, err)
	}
	if err != nil {
		return err
	}

	wk, err := megacrypto.B64Decode(rep.Key)
	if err != nil || len(wk) != 16 {
		return fmt.Errorf("us: malformed master key (%d bytes): %w", len(wk), err)
	}
	mk, err := megacrypto.DecryptKey(pwKey, wk)
	if err != nil {
		return fmt.Errorf("us: decrypt master key: %w", err)
	}
	st := state{email: email, user: rep.User, mk: mk}
	genKeys := false
	switch {
	case rep.CSID != "":
		if st.rsa, err = megacrypto.DecodePrivateKey(mk, rep.Privk); err != nil {
			return fmt.Errorf("us: %w", err)
		}
		if st.sid, err = megacrypto.DecryptSessionID(st.rsa, rep.CSID); err != nil {
			return fmt.Errorf("us: %w", err)
		}
		if err := checkSID(st.sid, rep.User); err != nil {
			return err
		}
	case rep.TSID != "":
		if err := checkTSID(mk, rep.TSID); err != nil {
			return err
		}
		st.sid = rep.TSID
		genKeys = true
	default:
		return errors.New("us: reply has neither csid nor tsid")
	}
	if st.user == "" {
		return errors.New("us: reply has no user handle")
	}
	if genKeys {
		if st.rsa, err = c.storeNewKeyPair(ctx, st); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.sess = st
	c.mu.Unlock()
	c.log.Info("logged in", logKeyUser, st.user)
	return nil
}

// checkSID verifies that the session id embeds the user handle, as the SDK
// does: a wrong RSA decryption would not.
func checkSID(sid, user string) error {
	b, err := megacrypto.B64Decode(sid)
	if err != nil || len(b) != 43 {
		return fmt.Errorf("us: session id of %d bytes, want 43: %w", len(b), err)
	}
	if user != "" && string(b[16:27]) != user {
		return errors.New("us: session id does not match the user handle (corrupt login reply)")
	}
	return nil
}

// checkTSID verifies a temporary session id: tsid[27:43] == AES_mk(tsid[0:16]).
func checkTSID(mk []byte, tsid string) error {
	b, err := megacrypto.B64Decode(tsid)
	if err != nil || len(b) != 43 {
		return fmt.Errorf("us: tsid of %d bytes, want 43: %w", len(b), err)
	}
	want, err := megacrypto.EncryptKey(mk, b[:16])
	if err != nil {
		return fmt.Errorf("us: tsid: %w", err)
	}
	if !bytes.Equal(want, b[27:43]) {
		return errors.New("us: tsid does not verify against the master key")
	}
	return nil
}

// storeNewKeyPair generates an RSA key pair for an account that has none
// and stores it with `up`.
func (c *Client) storeNewKeyPair(ctx context.Context, st state) (*megacrypto.RSAKey, error) {
	c.log.Info("account has no RSA key pair; generating one")
	k, err := megacrypto.GenerateRSAKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	privk, err := megacrypto.EncodePrivateKey(st.mk, k, rand.Reader)
	if err != nil {
		return nil, err
	}
	req := megaapi.SetUserRequest{A: "up", Privk: privk, Pubk: megacrypto.EncodePublicKey(k)}
	if err := c.callAs(ctx, st.sid, "up", req, nil); err != nil {
		return nil, fmt.Errorf("store the generated RSA key pair: %w", err)
	}
	return k, nil
}
