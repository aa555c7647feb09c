package mfapi

import (
	"encoding/json"
	"testing"
)

// FuzzParseResponse feeds arbitrary bodies to the envelope decoder and
// the records the client decodes: no panic, and a success reply never
// carries an error code.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		`{"response":{"result":"Success","new_key":"yes","folder_content":{"files":[{"size":"12","created":"2014-06-03 07:13:30"}],"more_chunks":"no"}}}`,
		`{"response":{"result":"Error","error":"127","message":"x"}}`,
		`{"response":{"error":105.0}}`,
		`{"response":{"doupload":{"result":"-90","status":"99","fileerror":""},"resumable_upload":{"bitmap":{"count":"1","words":["65535"]}}}}`,
		`<html>`, `{}`, `{"response":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseResponse(body)
		if err != nil {
			return
		}
		if r.Success() && r.Err("m", 200) != nil {
			t.Fatal("a success with an error")
		}
		var v struct {
			FolderContent   FolderContent    `json:"folder_content"`
			FileInfo        FileInfo         `json:"file_info"`
			DoUpload        DoUpload         `json:"doupload"`
			ResumableUpload *ResumableUpload `json:"resumable_upload"`
			UploadCheck
		}
		if r.Decode(&v) == nil && v.ResumableUpload != nil {
			for u := range 64 {
				v.ResumableUpload.Bitmap.HasUnit(u)
			}
		}
	})
}

// FuzzInt checks that Int decodes what it encodes and never panics.
func FuzzInt(f *testing.F) {
	for _, s := range []string{`"1"`, `12`, `""`, `"-5"`, `1e3`, `"x"`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var n Int
		if json.Unmarshal(b, &n) != nil {
			return
		}
		enc, _ := json.Marshal(n)
		var m Int
		if err := json.Unmarshal(enc, &m); err != nil || m != n {
			t.Fatalf("%s -> %d -> %s -> %d, %v", b, n, enc, m, err)
		}
	})
}
