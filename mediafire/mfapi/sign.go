package mfapi

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"strconv"
)

// LoginSignature is user/get_session_token's signature: the SHA-1 hex of
// email + password + appID + apiKey, concatenated as given (apiKey is ""
// for applications that do not require one).
func LoginSignature(email, password, appID, apiKey string) string {
	h := sha1.New()
	for _, s := range []string{email, password, appID, apiKey} {
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// CallSignature is a version 2 session call's signature: the MD5 hex of
// the decimal secretKey%256, the login's time string verbatim, uri (the
// request path from "/api/") and "?" and query, the exact encoded
// parameter string sent, without the signature itself.
func CallSignature(secretKey uint64, time, uri, query string) string {
	h := md5.New()
	h.Write(strconv.AppendUint(nil, secretKey%256, 10))
	h.Write([]byte(time))
	h.Write([]byte(uri))
	h.Write([]byte{'?'})
	h.Write([]byte(query))
	return hex.EncodeToString(h.Sum(nil))
}

// keyModulus is the Park-Miller modulus, 2^31-1.
const keyModulus = 2147483647

// NextKey is the secret key after a reply that says "new_key": "yes":
// key * 16807 mod (2^31-1), in 64-bit arithmetic.
func NextKey(key uint64) uint64 { return key * 16807 % keyModulus }

// ParseSecretKey parses the login reply's secret_key: a decimal integer
// in 1..2147483646.
func ParseSecretKey(s string) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v == 0 || v >= keyModulus {
		return 0, constError("mfapi: secret_key is not an integer in 1..2147483646")
	}
	return v, nil
}
