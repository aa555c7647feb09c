package mediafireserver_test

import (
	"fmt"

	"ferry/mediafireserver"
)

// Faults name a fault kind, optionally the method it strikes, and a
// probability or a count of requests.
func ExampleParseFaults() {
	f, err := mediafireserver.ParseFaults("upload/poll_upload.lost=1x, http500=0.02, dl.truncate=2x, seed=7")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range f.Rules {
		fmt.Printf("%q %s p=%v count=%d\n", r.Method, r.Kind, r.Probability, r.Count)
	}
	_, err = mediafireserver.ParseFaults("folder/get_info.status17=1x")
	fmt.Println(err)
	// Output:
	// "upload/poll_upload" lost p=0 count=1
	// "" http500 p=0.02 count=0
	// "dl" truncate p=0 count=2
	// faults: folder/get_info.status17: status17 cannot strike folder/get_info
}

// The login signature of duplicity's application (id 45593, no API key),
// as in the protocol spec's vector A4.
func ExampleLoginSignature() {
	fmt.Println(mediafireserver.LoginSignature("duplicity@example.com", "s3cret pass", "45593", ""))
	// Output: 33c23a8e148a5e8ded9f9247fc91cbc5ec6f094e
}
