package mediafireserver

import (
	"strings"
	"testing"
)

// BenchmarkVerifyCallSignature is the check every signed call pays: a
// 144-character token and a typical upload/check parameter string.
func BenchmarkVerifyCallSignature(b *testing.B) {
	q := "filename=duplicity-full.2024+vol1.difftar.gpg&folder_key=abcdefghijklm&hash=" + strings.Repeat("ab", 32) +
		"&response_format=json&resumable=no&session_token=" + strings.Repeat("a", 144) + "&size=1048576"
	const uri = "/api/1.3/upload/check.php"
	sig := CallSignature(1878520462, "1397755702.0581", uri, q)
	raw := q + "&signature=" + sig
	b.ReportAllocs()
	for b.Loop() {
		if !verifyCallSignature(sig, 1878520462, "1397755702.0581", uri, raw) {
			b.Fatal("refused")
		}
	}
}
