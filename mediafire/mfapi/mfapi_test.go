package mfapi

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// The login signature vectors A1-A4 of the protocol notes (§2.6).
func TestLoginSignatureVectors(t *testing.T) {
	for _, tc := range []struct {
		name, email, pass, app, key, want string
	}{
		{"A1", "nobody@example.com", "secret", "0", "", "b13f41f5728af85e99b119c1621bb3712e13c7ce"},
		{"A2", "nobody@example.com", "secret", "0", strings.Repeat("b", 40), "9f89c6a8e603d2b9342cf8b9f8157f59bb8a3ec9"},
		{"A3", "testemail@domain.com", "111111", "9999", "abcdefghijklmnopqrst", "d9ce3bfaba1e0bef7a5d99bdab706e36b4ee8c71"},
		{"A4", "duplicity@example.com", "s3cret pass", "45593", "", "33c23a8e148a5e8ded9f9247fc91cbc5ec6f094e"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := LoginSignature(tc.email, tc.pass, tc.app, tc.key); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// The call signature vectors C-0/C-1, C0-C2 and D (§2.6), signed over
// the query Go's url.Values.Encode builds, with the key rotated between
// steps by NextKey.
func TestCallSignatureVectors(t *testing.T) {
	tokA := strings.Repeat("a", 144)
	const tok = "r96yavl1zsogv3lrd1b6tugfhhnwo5b28q27"
	getContent := "chunk=1&content_type=files&folder_key=abcdefghijklm&response_format=json&session_token=" + tok
	check := "filename=duplicity-full.2024+vol1.difftar.gpg&folder_key=abcdefghijklm&hash=" + strings.Repeat("ab", 32) +
		"&response_format=json&resumable=no&session_token=" + tok + "&size=1048576"
	for _, tc := range []struct {
		name      string
		key       uint64
		rotations int
		wantKey   uint64
		time, uri string
		query     string
		want      string
	}{
		{"C-0", 1000000000, 0, 1000000000, "0.0", "/api/1.3/user/get_info.php", "response_format=json&session_token=" + tokA, "e4136f4a1c006c3c561092737c9ccbb0"},
		{"C-1", 1000000000, 1, 792978578, "0.0", "/api/1.3/user/get_info.php", "response_format=json&session_token=" + tokA, "d074bbf8ae3d1337b13289901fc6c2e6"},
		{"C0", 1878520462, 0, 1878520462, "1397755702.0581", "/api/1.3/folder/get_content.php", getContent, "8904a7be90bcbd3e46cc84c46e80636c"},
		{"C1", 1878520462, 1, 2136310287, "1397755702.0581", "/api/1.3/folder/get_content.php", getContent, "b1b24f8fe5dc9e00102f5de23b9ab815"},
		{"C2", 1878520462, 2, 1187899416, "1397755702.0581", "/api/1.3/folder/get_content.php", getContent, "da80c157a02b722789e276317f9d37f8"},
		{"D", 1878520462, 0, 1878520462, "1397755702.0581", "/api/1.3/upload/check.php", check, "48e00c69a078d9d84136c7d49db5f03a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := tc.key
			for range tc.rotations {
				k = NextKey(k)
			}
			if k != tc.wantKey {
				t.Fatalf("key after %d rotations = %d, want %d", tc.rotations, k, tc.wantKey)
			}
			if got := CallSignature(k, tc.time, tc.uri, tc.query); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// NextKey never overflows: the largest key times 16807 fits in 64 bits,
// and the result stays in 1..2^31-2.
func TestNextKeyRange(t *testing.T) {
	for _, k := range []uint64{1, 2147483646, 1878520462} {
		n := NextKey(k)
		if n == 0 || n >= keyModulus {
			t.Errorf("NextKey(%d) = %d", k, n)
		}
	}
	if _, err := ParseSecretKey("0"); err == nil {
		t.Error("ParseSecretKey(0) succeeded")
	}
	if _, err := ParseSecretKey("2147483647"); err == nil {
		t.Error("ParseSecretKey(2^31-1) succeeded")
	}
	if k, err := ParseSecretKey("1878520462"); err != nil || k != 1878520462 {
		t.Errorf("ParseSecretKey = %d, %v", k, err)
	}
}

func TestIntLenient(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Int
		bad  bool
	}{
		{`"5292032"`, 5292032, false},
		{`5292032`, 5292032, false},
		{`""`, 0, false},
		{`null`, 0, false},
		{`" 7 "`, 7, false},
		{`"-90"`, -90, false},
		{`100.0`, 100, false},
		{`"1397755702.0581"`, 0, true},
		{`"abc"`, 0, true},
		{`{}`, 0, true},
	} {
		var n Int
		err := json.Unmarshal([]byte(tc.in), &n)
		if (err != nil) != tc.bad || n != tc.want {
			t.Errorf("%s: got %d, %v; want %d, bad=%v", tc.in, n, err, tc.want, tc.bad)
		}
	}
	b, _ := json.Marshal(Int(12))
	if string(b) != `"12"` {
		t.Errorf("Marshal(Int(12)) = %s", b)
	}
}

func TestBoolAndString(t *testing.T) {
	var v struct {
		A, B, C, D Bool
		T          String
		N          String
	}
	if err := json.Unmarshal([]byte(`{"A":"yes","B":"no","C":true,"T":"1397755702.0581","N":1397755702.0581}`), &v); err != nil {
		t.Fatal(err)
	}
	if !v.A || v.B || !v.C || v.D {
		t.Errorf("bools = %v %v %v %v", v.A, v.B, v.C, v.D)
	}
	if v.T != "1397755702.0581" || v.N != "1397755702.0581" {
		t.Errorf("strings = %q %q (a number's text must be kept byte for byte)", v.T, v.N)
	}
}

func TestParseResponse(t *testing.T) {
	t.Run("error with numeric code", func(t *testing.T) {
		r, err := ParseResponse([]byte(`{"response":{"action":"user\/get_session_token","message":"The Credentials you entered are invalid","error":107,"result":"Error","current_api_version":"1.3"}}`))
		if err != nil {
			t.Fatal(err)
		}
		if r.Success() || r.Error != ErrCredentials || r.Action != "user/get_session_token" {
			t.Fatalf("got %+v", r.Envelope)
		}
		e := r.Err("user/get_session_token", 403)
		if !errors.Is(e, ErrCredentials) || !e.(*Error).Fatal() || e.(*Error).Retryable() {
			t.Errorf("Err = %v", e)
		}
	})
	t.Run("error with string code", func(t *testing.T) {
		r, err := ParseResponse([]byte(`{"response":{"error":"127","result":"Error","message":"bad"}}`))
		if err != nil || r.Error != ErrSignature {
			t.Fatalf("got %+v, %v", r, err)
		}
		if !ErrSignature.Resync() || !ErrSignature.Retryable() || ErrSignature.Fatal() {
			t.Error("127 must resync and retry, not be fatal")
		}
	})
	t.Run("success with new_key and fields", func(t *testing.T) {
		r, err := ParseResponse([]byte(`{"response":{"action":"folder/get_content","folder_content":{"chunk_size":"100","content_type":"files","chunk_number":"1","files":[{"quickkey":"cotmhq9wc1h911j","hash":"d1","filename":"a.dat","size":"5292032","created":"2014-06-03 07:13:30"}],"more_chunks":"no"},"result":"Success","new_key":"yes"}}`))
		if err != nil {
			t.Fatal(err)
		}
		if !r.Success() || !bool(r.NewKey) {
			t.Fatalf("envelope %+v", r.Envelope)
		}
		var v struct {
			FolderContent FolderContent `json:"folder_content"`
		}
		if err := r.Decode(&v); err != nil {
			t.Fatal(err)
		}
		f := v.FolderContent.Files
		if len(f) != 1 || f[0].Size != 5292032 || f[0].Created.Year() != 2014 || v.FolderContent.MoreChunks {
			t.Errorf("content %+v", v.FolderContent)
		}
	})
	t.Run("not an envelope", func(t *testing.T) {
		for _, body := range []string{`<html>500</html>`, `{"x":1}`, `{"response":"x"}`, `{"response":{"result":"Success"`} {
			if _, err := ParseResponse([]byte(body)); err == nil {
				t.Errorf("%s: no error", body)
			}
		}
	})
}

func TestUnitSize(t *testing.T) {
	const MiB, GiB = 1 << 20, 1 << 30
	for _, tc := range []struct{ size, unit int64 }{
		{0, 4 * MiB}, {4*MiB - 1, 4 * MiB}, {4 * MiB, MiB}, {9437307, MiB}, {16*MiB - 1, MiB},
		{16 * MiB, 2 * MiB}, {64*MiB - 1, 2 * MiB}, {64 * MiB, 4 * MiB}, {200 * MiB, 4 * MiB},
		{256 * MiB, 8 * MiB}, {GiB, 16 * MiB}, {4 * GiB, 32 * MiB}, {16*GiB - 1, 32 * MiB},
		{16 * GiB, 64 * MiB}, {1 << 40, 64 * MiB},
	} {
		if got := UnitSize(tc.size); got != tc.unit {
			t.Errorf("UnitSize(%d) = %d, want %d", tc.size, got, tc.unit)
		}
	}
	if n := Units(9437307, MiB); n != 10 {
		t.Errorf("Units(9437307) = %d, want 10", n)
	}
	if n := Units(200*MiB, 4*MiB); n != 50 {
		t.Errorf("Units(200 MiB) = %d, want 50", n)
	}
}

// The bitmap example of §6.3: 50 units, {0,1,2,17} present.
func TestBitmap(t *testing.T) {
	present := map[int]bool{0: true, 1: true, 2: true, 17: true}
	b := NewBitmap(50, func(u int) bool { return present[u] })
	js, _ := json.Marshal(b)
	if string(js) != `{"count":"4","words":["7","2","0","0"]}` {
		t.Errorf("bitmap = %s", js)
	}
	var d Bitmap
	if err := json.Unmarshal([]byte(`{"count":"4","words":["7","2","0","0"]}`), &d); err != nil {
		t.Fatal(err)
	}
	for u := range 60 {
		if d.HasUnit(u) != present[u] {
			t.Errorf("HasUnit(%d) = %v", u, d.HasUnit(u))
		}
	}
}
