package mfapi_test

import (
	"fmt"

	"ferry/mediafire/mfapi"
)

// A version 2 session signs each call with the secret key modulo 256, the
// login's time and the exact query sent; after each reply with
// "new_key": "yes" the key moves on (vectors C0 and C1 of the protocol
// notes).
func ExampleCallSignature() {
	key := uint64(1878520462)
	query := "chunk=1&content_type=files&folder_key=abcdefghijklm&response_format=json&session_token=r96yavl1zsogv3lrd1b6tugfhhnwo5b28q27"
	fmt.Println(mfapi.CallSignature(key, "1397755702.0581", "/api/1.3/folder/get_content.php", query))
	key = mfapi.NextKey(key)
	fmt.Println(key, mfapi.CallSignature(key, "1397755702.0581", "/api/1.3/folder/get_content.php", query))
	// Output:
	// 8904a7be90bcbd3e46cc84c46e80636c
	// 2136310287 b1b24f8fe5dc9e00102f5de23b9ab815
}

// A resumable upload of duplicity's 200 MiB volume goes in 50 units of
// 4 MiB; the bitmap says which the server has.
func ExampleBitmap_HasUnit() {
	const size = 200 << 20
	unit := mfapi.UnitSize(size)
	fmt.Println(unit>>20, "MiB units:", mfapi.Units(size, unit))
	b := mfapi.Bitmap{Count: 4, Words: []mfapi.Int{7, 2, 0, 0}}
	for u := range mfapi.Units(size, unit) {
		if b.HasUnit(u) {
			fmt.Print(u, " ")
		}
	}
	fmt.Println()
	// Output:
	// 4 MiB units: 50
	// 0 1 2 17
}
