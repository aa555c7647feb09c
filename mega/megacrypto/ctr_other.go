//go:build !amd64 || purego

package megacrypto

import "crypto/cipher"

// newFastCTR reports that there is no kernel: NewCTR uses the standard
// library's AES-CTR.
func newFastCTR(*FileKey, int64) (cipher.Stream, bool) { return nil, false }

// ctrHasVAES reports the kernel; there is none here.
const ctrHasVAES = false
