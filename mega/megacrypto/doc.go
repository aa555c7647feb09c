// Package megacrypto implements MEGA's client-side cryptography: the
// encodings (base64url, a32, MPI), key wrapping, password keys for v1 and v2
// accounts, the RSA key pair and session id, encrypted node attributes, file
// keys, chunk boundaries, AES-CTR content encryption from any offset, chunk
// CBC-MACs and the meta-MAC, the `c` fingerprint attribute and hashcash.
//
// The package does no I/O and imports only the standard library,
// golang.org/x/crypto and golang.org/x/sys/cpu (to find AES-NI). Every function that needs randomness takes an
// io.Reader so callers pass crypto/rand.Reader and tests pass fixed bytes.
//
// # Errors
//
// Decoders never panic on bad input: they return an error wrapping one of the
// sentinels below. ErrMAC reports content whose meta-MAC does not verify.
//
// # Concurrency and performance
//
// Functions and MultiMAC are safe for concurrent use. The streaming types
// ChunkMAC, Fingerprinter and UploadChecksum, and the cipher.Stream from
// NewCTR, are not: use one per goroutine. They are the upload and download
// hot paths: NewCTR is ferry's VAES kernel on amd64 machines that have it
// (~10 GB/s per core, twice the standard library's AES-CTR, which it uses
// elsewhere); CBC-MAC is
// latency-bound, so ChunkMAC.Write runs at the standard library's AES-CBC
// rate (~1 GB/s per core) while MultiMAC.Sum interleaves the chains of up
// to eight chunks in an AES-NI kernel (~5.6 GB/s for four 1 MiB chunks,
// ~10 GB/s for eight, on one core). MultiMAC.Open and Seal fuse the MAC
// with the CTR pass on amd64 with VAES and AVX-512 (~9 GB/s for eight
// 1 MiB chunks decrypted and MACed, against ~5.6 for the two passes); a
// Fingerprinter copies only the sampled windows of a large file.
//
// References: docs/mega-protocol.md §2 (primitives), §3.4-3.5
// (keys, attributes), §4 (fingerprint), §5 (chunks, MACs), §1.5 (hashcash).
// Every test vector of §11 (testdata/vectors.json) is a unit test here.
package megacrypto
