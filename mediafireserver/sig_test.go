package mediafireserver

import (
	"strings"
	"testing"
)

// The worked signature examples of §2.6 of the MediaFire protocol spec.

func TestLoginSignatureVectors(t *testing.T) {
	for _, v := range []struct {
		name, email, password, app, key, want string
	}{
		{"A1", "nobody@example.com", "secret", "0", "", "b13f41f5728af85e99b119c1621bb3712e13c7ce"},
		{"A2", "nobody@example.com", "secret", "0", strings.Repeat("b", 40), "9f89c6a8e603d2b9342cf8b9f8157f59bb8a3ec9"},
		{"A3", "testemail@domain.com", "111111", "9999", "abcdefghijklmnopqrst", "d9ce3bfaba1e0bef7a5d99bdab706e36b4ee8c71"},
		{"A4", "duplicity@example.com", "s3cret pass", "45593", "", "33c23a8e148a5e8ded9f9247fc91cbc5ec6f094e"},
	} {
		if got := LoginSignature(v.email, v.password, v.app, v.key); got != v.want {
			t.Errorf("%s: %s, want %s", v.name, got, v.want)
		}
	}
}

func TestCallSignatureVectors(t *testing.T) {
	a144 := strings.Repeat("a", 144)
	const tok = "r96yavl1zsogv3lrd1b6tugfhhnwo5b28q27"
	c0q := "chunk=1&content_type=files&folder_key=abcdefghijklm&response_format=json&session_token=" + tok
	dq := "filename=duplicity-full.2024+vol1.difftar.gpg&folder_key=abcdefghijklm&hash=" + strings.Repeat("ab", 32) +
		"&response_format=json&resumable=no&session_token=" + tok + "&size=1048576"
	for _, v := range []struct {
		name      string
		key       uint64
		time, uri string
		query     string
		want      string
	}{
		{"C-0", 1000000000, "0.0", "/api/1.3/user/get_info.php", "response_format=json&session_token=" + a144, "e4136f4a1c006c3c561092737c9ccbb0"},
		{"C-1", 792978578, "0.0", "/api/1.3/user/get_info.php", "response_format=json&session_token=" + a144, "d074bbf8ae3d1337b13289901fc6c2e6"},
		{"C0", 1878520462, "1397755702.0581", "/api/1.3/folder/get_content.php", c0q, "8904a7be90bcbd3e46cc84c46e80636c"},
		{"C1", 2136310287, "1397755702.0581", "/api/1.3/folder/get_content.php", c0q, "b1b24f8fe5dc9e00102f5de23b9ab815"},
		{"C2", 1187899416, "1397755702.0581", "/api/1.3/folder/get_content.php", c0q, "da80c157a02b722789e276317f9d37f8"},
		{"D", 1878520462, "1397755702.0581", "/api/1.3/upload/check.php", dq, "48e00c69a078d9d84136c7d49db5f03a"},
	} {
		if got := CallSignature(v.key, v.time, v.uri, v.query); got != v.want {
			t.Errorf("%s: CallSignature %s, want %s", v.name, got, v.want)
		}
		// The verifier takes the parameter string as received, signature
		// included, and the full request path.
		raw := v.query + "&signature=" + v.want
		if !verifyCallSignature(v.want, v.key, v.time, v.uri, raw) {
			t.Errorf("%s: verifier refuses the vector", v.name)
		}
		if !verifyCallSignature(strings.ToUpper(v.want), v.key, v.time, "/prefix"+v.uri, "signature="+v.want+"&"+v.query) {
			t.Errorf("%s: verifier refuses the vector with the signature first and a path prefix", v.name)
		}
		if verifyCallSignature(v.want, v.key+1, v.time, v.uri, raw) {
			t.Errorf("%s: verifier accepts the vector under another key", v.name)
		}
		if verifyCallSignature(v.want, v.key, v.time, v.uri, raw+"&extra=1") {
			t.Errorf("%s: verifier accepts the vector with a parameter added", v.name)
		}
	}
}

func TestKeyRotationVectors(t *testing.T) {
	// C-0 -> C-1 and C0 -> C1 -> C2 of §2.6.
	if got := NextSecretKey(1000000000); got != 792978578 {
		t.Errorf("NextSecretKey(1000000000) = %d, want 792978578", got)
	}
	k := NextSecretKey(1878520462)
	if k != 2136310287 {
		t.Errorf("C1 key %d, want 2136310287", k)
	}
	if k = NextSecretKey(k); k != 1187899416 {
		t.Errorf("C2 key %d, want 1187899416", k)
	}
	// 64-bit arithmetic: the largest key does not overflow.
	if got := NextSecretKey(2147483646); got != 2147483646*16807%2147483647 {
		t.Errorf("NextSecretKey(max) = %d", got)
	}
}

func TestVerifierOrderAsReceived(t *testing.T) {
	// CPPSDK signs session_token first, then the other keys unsorted: the
	// server must check the order received, not a canonical one.
	const key, tm, uri = 1878520462, "1397755702.0581", "/api/1.3/folder/get_info.php"
	raw := "session_token=abc&response_format=json&folder_key=myfiles"
	sig := CallSignature(key, tm, uri, raw)
	if !verifyCallSignature(sig, key, tm, uri, raw+"&signature="+sig) {
		t.Error("verifier refuses a signature over the order received")
	}
	sorted := "folder_key=myfiles&response_format=json&session_token=abc"
	if verifyCallSignature(CallSignature(key, tm, uri, sorted), key, tm, uri, raw+"&signature=x") {
		t.Error("verifier accepts a signature over a reordered string")
	}
	// CPPSDK's GET variant signs the decoded pairs.
	enc := "session_token=abc&response_format=json&filename=a+b%40c"
	dsig := CallSignature(key, tm, uri, "session_token=abc&response_format=json&filename=a b@c")
	if !verifyCallSignature(dsig, key, tm, uri, enc+"&signature="+dsig) {
		t.Error("verifier refuses a signature over the decoded string")
	}
}

func TestUnitSize(t *testing.T) {
	for _, v := range []struct{ size, unit int64 }{
		{0, 4 << 20}, {4<<20 - 1, 4 << 20}, {4 << 20, 1 << 20}, {9437307, 1 << 20}, {16<<20 - 1, 1 << 20},
		{16 << 20, 2 << 20}, {64 << 20, 4 << 20}, {200 << 20, 4 << 20}, {256 << 20, 8 << 20},
		{1 << 30, 16 << 20}, {4 << 30, 32 << 20}, {16 << 30, 64 << 20}, {1 << 40, 64 << 20},
	} {
		if got := UnitSize(v.size); got != v.unit {
			t.Errorf("UnitSize(%d) = %d, want %d", v.size, got, v.unit)
		}
	}
	if n := unitCount(9437307, 1<<20); n != 10 {
		t.Errorf("9437307 B in 1 MiB units: %d units, want 10", n)
	}
	if n := unitCount(200<<20, 4<<20); n != 50 {
		t.Errorf("200 MiB in 4 MiB units: %d, want 50", n)
	}
}

func TestBitmapWords(t *testing.T) {
	// §6.3: 50 units, units {0,1,2,17} present -> words 7,2,0,0.
	r := &resumableRec{Units: 50, Have: make([]uint16, 4)}
	for _, u := range []int{0, 1, 2, 17} {
		r.set(u)
	}
	f := resumableFields(r, false)
	bm := f["bitmap"].(fields)
	words := bm["words"].([]any)
	want := []string{"7", "2", "0", "0"}
	if bm["count"] != "4" || len(words) != 4 {
		t.Fatalf("bitmap %v", bm)
	}
	for i := range want {
		if words[i] != want[i] {
			t.Errorf("word %d = %v, want %s", i, words[i], want[i])
		}
	}
	if f["all_units_ready"] != "no" {
		t.Error("all_units_ready with units missing")
	}
}
