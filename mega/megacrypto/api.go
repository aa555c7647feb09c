package megacrypto

// This file declares the package API. Implementations live in files split by
// concept (encoding.go, keys.go, rsa.go, attr.go, filekey.go, chunks.go,
// ctr.go, mac.go, fingerprint.go, hashcash.go); until they land the bodies
// below panic.

import (
	"context"
	"crypto/cipher"
	"errors"
	"io"
	"math/big"
)

// Sentinel errors. Decoders wrap them with context.
var (
	// ErrMAC is returned when a full download's meta-MAC does not match the
	// node key. Callers must treat the data as corrupt.
	ErrMAC = errors.New("megacrypto: MAC mismatch: content is corrupt or was tampered with")
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

// ---- encoding.go ----

// B64Encode encodes b as base64url without padding.
func B64Encode(b []byte) string { panic("todo") }

// B64Decode decodes base64url with or without padding; it also accepts the
// standard alphabet's '+' and '/' (as the SDK and go-mega do).
func B64Decode(s string) ([]byte, error) { panic("todo") }

// A32 converts bytes to big-endian uint32 words, zero-padding to a multiple
// of 4 bytes.
func A32(b []byte) []uint32 { panic("todo") }

// A32Bytes converts big-endian uint32 words to bytes.
func A32Bytes(a []uint32) []byte { panic("todo") }

// AppendMPI appends x as a MEGA MPI: 2-byte big-endian bit length, then the
// minimal big-endian magnitude.
func AppendMPI(dst []byte, x *big.Int) []byte { panic("todo") }

// ReadMPI decodes one MPI from the front of b and returns the rest. The byte
// length is (bits+7)>>3.
func ReadMPI(b []byte) (x *big.Int, rest []byte, err error) { panic("todo") }

// ---- keys.go ----

// EncryptKey wraps data (a multiple of 16 bytes) with AES-128-ECB under kek.
func EncryptKey(kek, data []byte) ([]byte, error) { panic("todo") }

// DecryptKey unwraps data (a multiple of 16 bytes) with AES-128-ECB under kek.
func DecryptKey(kek, data []byte) ([]byte, error) { panic("todo") }

// PrepareKey is the v1 password key derivation (65536 rounds of AES over the
// zero-padded password). Only ASCII passwords interoperate with the SDK.
func PrepareKey(password []byte) []byte { panic("todo") }

// UserHashV1 is the v1 login hash `uh` of a (lower-cased) e-mail under the
// v1 password key: 11 base64url chars.
func UserHashV1(email string, pwKey []byte) string { panic("todo") }

// V2Salt derives a v2 account salt from 16 client random bytes:
// SHA256("mega.nz" padded with 'P' to 200 bytes || crv).
func V2Salt(crv []byte) []byte { panic("todo") }

// DeriveV2 runs PBKDF2-HMAC-SHA512 (100000 iterations) over the UTF-8
// password and salt and returns the password key and the auth key (16 bytes
// each). The login hash is B64Encode(authKey).
func DeriveV2(password, salt []byte) (pwKey, authKey []byte) { panic("todo") }

// AuthKeyHash is what a server stores to check a v2 login:
// SHA256(authKey)[0:16].
func AuthKeyHash(authKey []byte) []byte { panic("todo") }

// HandleAuth returns b64(AES_mk(h || h)) for an 8-char handle (share `ha`).
func HandleAuth(masterKey []byte, handle string) (string, error) { panic("todo") }

// NewTS returns a `ts` string for `ug`: b64(r || AES_mk(r)) with r from rnd.
func NewTS(masterKey []byte, rnd io.Reader) (string, error) { panic("todo") }

// ---- rsa.go ----

// RSAKey is a MEGA RSA private key. U is p^-1 mod q (not PKCS#1 qInv).
type RSAKey struct {
	P, Q, D, U *big.Int
	N, E       *big.Int // N = P*Q; E may be nil after DecodePrivateKey
}

// GenerateRSAKey creates a 2048-bit key pair acceptable to every MEGA client
// (d > 2000 bits; regenerates otherwise).
func GenerateRSAKey(rnd io.Reader) (*RSAKey, error) { panic("todo") }

// EncodePrivateKey returns the `privk` blob: b64(AES_mk.ECB(MPI(p)||MPI(q)||
// MPI(d)||MPI(u)||pad)), pad random to a multiple of 16 bytes.
func EncodePrivateKey(masterKey []byte, k *RSAKey, rnd io.Reader) (string, error) { panic("todo") }

// DecodePrivateKey decrypts and parses a `privk` blob.
func DecodePrivateKey(masterKey []byte, privk string) (*RSAKey, error) { panic("todo") }

// EncodePublicKey returns the `pubk` blob: b64(MPI(n)||MPI(e)).
func EncodePublicKey(k *RSAKey) string { panic("todo") }

// DecodePublicKey parses a `pubk` blob.
func DecodePublicKey(pubk string) (n, e *big.Int, err error) { panic("todo") }

// NewSessionID returns a 43-byte session id r1[16] || ASCII(userHandle)[11]
// || r2[16] with sid[0] != 0. userHandle is the 11-char b64 user handle.
func NewSessionID(userHandle string, rnd io.Reader) ([]byte, error) { panic("todo") }

// EncryptSessionID builds `csid` for a login reply: P = sid || random to 255
// bytes; c = P^e mod n; csid = b64(MPI(c)). Decodes identically in go-mega,
// megajs and the SDK.
func EncryptSessionID(n, e *big.Int, sid []byte, rnd io.Reader) (string, error) { panic("todo") }

// DecryptSessionID recovers the sid (b64, 58 chars) from `csid`: the first
// 43 bytes of the minimal big-endian encoding of csid^d mod n.
func DecryptSessionID(k *RSAKey, csid string) (string, error) { panic("todo") }

// ---- attr.go ----

// Attrs are decrypted node attributes. Name is `n`, Fingerprint is `c`;
// other keys are kept verbatim in Extra so rewriting attributes (rename,
// new mtime) never drops what another client stored.
type Attrs struct {
	Name        string
	Fingerprint string
	Extra       map[string][]byte // raw JSON values by key, excluding "n" and "c"
}

// EncryptAttrs encodes "MEGA"+JSON (HTML characters not escaped), zero-pads to
// a multiple of 16 and encrypts with AES-CBC (zero IV) under key (16 bytes:
// a folder key or a file's content key K), returning base64url.
func EncryptAttrs(key []byte, a Attrs) (string, error) { panic("todo") }

// DecryptAttrs reverses EncryptAttrs. The plaintext must start with
// `MEGA{"`; trailing NULs are stripped. Errors wrap ErrAttr or ErrBase64.
func DecryptAttrs(key []byte, s string) (Attrs, error) { panic("todo") }

// ---- filekey.go ----

// FileKey is the key material of one file: content key K, CTR nonce N and
// meta-MAC M.
type FileKey struct {
	Key     [16]byte
	Nonce   [8]byte
	MetaMAC [8]byte
}

// NewFileKey draws K and N from rnd (crypto/rand in production).
func NewFileKey(rnd io.Reader) (FileKey, error) { panic("todo") }

// Pack returns the 32-byte node key (K xor (N||M)) || N || M.
func (fk FileKey) Pack() []byte { panic("todo") }

// UnpackFileKey folds a 32-byte node key back into K, N and M.
func UnpackFileKey(nodeKey []byte) (FileKey, error) { panic("todo") }

// ---- chunks.go ----

// Chunk is one MAC chunk of a file: [Offset, Offset+Size).
type Chunk struct {
	Offset int64
	Size   int64
}

// ChunkSizeAt returns the size of the chunk starting at offset start (which
// must be a chunk start), ignoring the file end: 128 KiB * i for the first
// 8 chunks, then 1 MiB.
func ChunkSizeAt(start int64) int64 { panic("todo") }

// ChunkStart returns the start of the chunk containing offset off.
func ChunkStart(off int64) int64 { panic("todo") }

// Chunks lists the chunks of a file of the given size (none for size 0).
func Chunks(size int64) []Chunk { panic("todo") }

// ---- ctr.go ----

// NewCTR returns the AES-CTR keystream for content key k and nonce n,
// positioned at byte offset off (any offset: a partial block is skipped).
func NewCTR(fk *FileKey, off int64) cipher.Stream { panic("todo") }

// ---- mac.go ----

// ChunkMAC computes one chunk's CBC-MAC over plaintext (IV = N||N; the final
// partial block is zero-padded). Write never fails. Reset starts a new chunk.
type ChunkMAC struct{ _ [0]func() }

// NewChunkMAC returns a ChunkMAC for fk.
func NewChunkMAC(fk *FileKey) *ChunkMAC { panic("todo") }

func (m *ChunkMAC) Write(p []byte) (int, error) { panic("todo") }

// Sum returns the chunk's MAC.
func (m *ChunkMAC) Sum() [16]byte { panic("todo") }

// Reset starts a new chunk.
func (m *ChunkMAC) Reset() { panic("todo") }

// MetaMAC condenses chunk MACs (in offset order) into the 8-byte meta-MAC.
// No chunks gives the SDK's empty-file value, eight zero bytes.
func MetaMAC(fk *FileKey, chunkMACs [][16]byte) [8]byte { panic("todo") }

// ---- fingerprint.go ----

// Fingerprinter computes the `c` attribute while the file streams past once.
// Create it with the final size; Write must receive exactly size bytes in
// order. It buffers at most 8 KiB.
type Fingerprinter struct{ _ [0]func() }

// NewFingerprinter starts a fingerprint for a file of the given size.
func NewFingerprinter(size int64) *Fingerprinter { panic("todo") }

func (f *Fingerprinter) Write(p []byte) (int, error) { panic("todo") }

// Sum returns the fingerprint with mtime (Unix seconds), base64url.
func (f *Fingerprinter) Sum(mtime int64) string { panic("todo") }

// Fingerprint computes the `c` attribute from an io.ReaderAt, reading only
// the sampled windows (at most 8 KiB).
func Fingerprint(r io.ReaderAt, size int64, mtime int64) (string, error) { panic("todo") }

// ParseFingerprint decodes a `c` attribute into its CRC part and mtime.
func ParseFingerprint(c string) (crc [16]byte, mtime int64, err error) { panic("todo") }

// ---- hashcash.go ----

// HashcashThreshold is the acceptance threshold for easiness e.
func HashcashThreshold(e byte) uint32 { panic("todo") }

// ParseHashcash parses an X-Hashcash challenge "1:<easiness>:<ts>:<token>".
func ParseHashcash(header string) (easiness byte, token []byte, err error) { panic("todo") }

// HashcashValid reports whether nonce solves token at easiness.
func HashcashValid(token []byte, nonce [4]byte, easiness byte) bool { panic("todo") }

// SolveHashcash searches nonces on workers goroutines until one is valid or
// ctx ends. Returns the reply header value "1:<token b64>:<nonce b64>".
func SolveHashcash(ctx context.Context, token []byte, easiness byte, workers int) (string, error) {
	panic("todo")
}

// ---- checksum.go ----

// UploadChecksum is the 12-byte XOR checksum of the `c=`/`d=` upload query:
// sum[i mod 12] ^= body[i]. The zero value is ready; Write never fails.
type UploadChecksum struct{ _ [0]func() }

func (c *UploadChecksum) Write(p []byte) (int, error) { panic("todo") }

// Sum returns the 12-byte checksum.
func (c *UploadChecksum) Sum() [12]byte { panic("todo") }
