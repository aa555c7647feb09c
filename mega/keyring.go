package mega

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// keyring decrypts nodes for one account.
type keyring struct {
	user string
	mk   []byte
	mkc  *megacrypto.KeyCipher // mk expanded once; nil: use mk
	t    *tree                 // for share keys
	// linkKey is the share key of a folder link: in its context every
	// node's `k` is wrapped with it, whatever handle it names.
	linkKey []byte
}

// newKeyring returns the keyring of st's account for t.
func newKeyring(st state, t *tree) *keyring {
	kr := &keyring{user: st.user, mk: st.mk, t: t}
	kr.mkc, _ = megacrypto.NewKeyCipher(st.mk) // nil if mk is malformed: DecryptKey reports it
	return kr
}

// errNeedShareKey marks a node whose key is wrapped with a share key the
// client does not know (yet).
var errNeedShareKey = fmt.Errorf("key wrapped with an unknown share key: %w", ErrNodeKey)

// decode turns a wire node into a Node, decrypting its key and attributes.
// It never fails: problems are recorded in Node.Err.
func (kr *keyring) decode(w *megaapi.Node) *Node {
	n := &Node{
		Handle:    w.Handle,
		Parent:    w.Parent,
		Owner:     w.Owner,
		Type:      NodeType(w.Type),
		Size:      w.Size,
		CreatedAt: time.Unix(w.TS, 0),
		attr:      w.Attr,
	}
	n.ModTime = n.CreatedAt
	if n.Type != FileNode && n.Type != FolderNode {
		n.Parent = "" // roots have no parent
		return n
	}
	key, err := kr.nodeKey(w.Key)
	if err != nil {
		n.wireKey = w.Key
		n.Err = fmt.Errorf("node %s: %w", w.Handle, err)
		return n
	}
	n.key = key
	kr.decryptAttrs(n)
	return n
}

// decryptAttrs fills n's name, fingerprint and mtime from n.attr.
func (kr *keyring) decryptAttrs(n *Node) {
	ak, err := n.attrKey()
	if err != nil {
		n.Err = fmt.Errorf("node %s: key of %d bytes for a %v: %w", n.Handle, len(n.key), n.Type, ErrNodeKey)
		return
	}
	name, fp, err := megacrypto.DecryptNameAttrs(ak, n.attr)
	if err != nil {
		n.Err = fmt.Errorf("node %s: %w: %w", n.Handle, ErrNodeKey, err)
		n.Name, n.Fingerprint = "", ""
		return
	}
	n.Err = nil
	n.Name = name
	n.Fingerprint = fp
	n.ModTime = fingerprintTime(fp, n.CreatedAt)
}

// fingerprintTime returns the mtime of fingerprint fp, or def without one.
func fingerprintTime(fp string, def time.Time) time.Time {
	if fp != "" {
		if _, mt, err := megacrypto.ParseFingerprint(fp); err == nil {
			return time.Unix(mt, 0)
		}
	}
	return def
}

// nodeKey picks and unwraps the usable entry of a `k` string
// "<handle>:<b64 key>[/<handle>:<b64 key>...]".
func (kr *keyring) nodeKey(k string) ([]byte, error) {
	if k == "" {
		return nil, fmt.Errorf("no key: %w", ErrNodeKey)
	}
	var firstErr error
	for part := range strings.SplitSeq(k, "/") {
		h, wrapped, ok := strings.Cut(part, ":")
		if !ok {
			continue
		}
		var kek []byte
		switch {
		case h == kr.user && kr.mkc != nil && len(wrapped) <= 43:
			key, err := kr.mkc.DecryptString(wrapped)
			if err == nil && len(key) != 16 && len(key) != 32 {
				err = fmt.Errorf("wrapped key of %d bytes: %w", len(key), megacrypto.ErrKeySize)
			}
			if err != nil {
				firstErr = cmp.Or(firstErr, fmt.Errorf("%w: %w", ErrNodeKey, err))
				continue
			}
			return key, nil
		case h == kr.user:
			kek = kr.mk
		case kr.t != nil && kr.t.shareKeys[h] != nil:
			kek = kr.t.shareKeys[h]
		case kr.linkKey != nil:
			kek = kr.linkKey
		default:
			continue
		}
		if len(wrapped) > 43 {
			firstErr = cmp.Or(firstErr, fmt.Errorf("RSA-wrapped node keys are not supported: %w", ErrNodeKey))
			continue
		}
		b, err := megacrypto.B64Decode(wrapped)
		if err == nil && len(b) != 16 && len(b) != 32 {
			err = fmt.Errorf("wrapped key of %d bytes: %w", len(b), megacrypto.ErrKeySize)
		}
		if err != nil {
			firstErr = cmp.Or(firstErr, fmt.Errorf("%w: %w", ErrNodeKey, err))
			continue
		}
		key, err := megacrypto.DecryptKey(kek, b)
		if err != nil {
			firstErr = cmp.Or(firstErr, fmt.Errorf("%w: %w", ErrNodeKey, err))
			continue
		}
		return key, nil
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, errNeedShareKey
}

// wrapKey returns the `k` value for a key we created: b64(AES_mk(key)).
func wrapKey(mk, key []byte) (string, error) {
	w, err := megacrypto.EncryptKey(mk, key)
	if err != nil {
		return "", err
	}
	return megacrypto.B64Encode(w), nil
}

// addShareKey records a share key from an `ok` entry after checking its
// handle authentication `ha`.
func (kr *keyring) addShareKey(sk megaapi.ShareKey) {
	ha, err := megacrypto.HandleAuth(kr.mk, sk.Handle)
	if err != nil || ha != sk.HA {
		return
	}
	w, err := megacrypto.B64Decode(sk.Key)
	if err != nil || len(w) != 16 {
		return
	}
	if k, err := megacrypto.DecryptKey(kr.mk, w); err == nil {
		kr.t.shareKeys[sk.Handle] = k
	}
}
