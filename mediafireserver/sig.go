package mediafireserver

import (
	"crypto/md5"  //nolint:gosec // MediaFire's call signature is MD5 (§2.2); it is the protocol, not our choice
	"crypto/sha1" //nolint:gosec // MediaFire's login signature is SHA-1 (§2.1)
	"crypto/subtle"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
)

// LoginSignature is the signature of user/get_session_token: the hex
// SHA-1 of id (e-mail or ekey), password, application id and the
// application's API key (empty when the application has none),
// concatenated without separators.
func LoginSignature(id, password, appID, apiKey string) string {
	h := sha1.New() //nolint:gosec // protocol
	h.Write([]byte(id))
	h.Write([]byte(password))
	h.Write([]byte(appID))
	h.Write([]byte(apiKey))
	return hex.EncodeToString(h.Sum(nil))
}

// CallSignature is the signature of a call made with a v2 session token:
// the hex MD5 of secretKey mod 256 in decimal, the login's time string,
// the request path from "/api/" and "?" followed by the parameter string
// as sent, without its signature element.
func CallSignature(secretKey uint64, time, uri, query string) string {
	h := md5.New() //nolint:gosec // protocol
	h.Write([]byte(strconv.FormatUint(secretKey%256, 10)))
	h.Write([]byte(time))
	h.Write([]byte(uri))
	h.Write([]byte("?"))
	h.Write([]byte(query))
	return hex.EncodeToString(h.Sum(nil))
}

// NextSecretKey is the secret key after a reply with new_key "yes": the
// Park–Miller step key·16807 mod (2³¹−1).
func NextSecretKey(key uint64) uint64 { return key * 16807 % 2147483647 }

// withoutSignature returns the raw parameter string raw without its
// signature=... elements, in the order received.
func withoutSignature(raw string) string {
	if !strings.Contains(raw, "signature=") {
		return raw
	}
	parts := strings.Split(raw, "&")
	kept := parts[:0]
	for _, p := range parts {
		if !strings.HasPrefix(p, "signature=") {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "&")
}

// decodedQuery is raw with every key and value percent-decoded, the
// form CPPSDK signs for GET requests (§2.2). Elements that do not decode
// are kept as sent.
func decodedQuery(raw string) string {
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		if d, err := url.QueryUnescape(p); err == nil {
			parts[i] = d
		}
	}
	return strings.Join(parts, "&")
}

// apiURI is the part of path a call signature covers: from "/api/" on.
func apiURI(path string) string {
	if i := strings.Index(path, "/api/"); i >= 0 {
		return path[i:]
	}
	return path
}

// verifyCallSignature reports whether sig signs the call with path and
// raw parameter string raw under key and time: the raw string as
// received, or else its percent-decoded form.
func verifyCallSignature(sig string, key uint64, time, path, raw string) bool {
	uri := apiURI(path)
	q := withoutSignature(raw)
	sig = strings.ToLower(sig)
	if equalHex(sig, CallSignature(key, time, uri, q)) {
		return true
	}
	if d := decodedQuery(q); d != q {
		return equalHex(sig, CallSignature(key, time, uri, d))
	}
	return false
}

func equalHex(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
