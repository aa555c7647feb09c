package megaserver_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"ferry/mega/megacrypto"
	"ferry/megaserver"
)

// Example opens a store, signs up a user the way a client would (the server
// only ever sees the derived values) and serves the API over HTTP.
func Example() {
	dir, err := os.MkdirTemp("", "megaserver-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	srv, err := megaserver.Open(megaserver.Options{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	acct, err := megacrypto.NewAccount("alice@example.com", []byte("correct horse battery staple"), megacrypto.AccountOptions{}, rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := srv.AddUser(context.Background(), acct, megaserver.UserOptions{Name: "Alice"}); err != nil {
		log.Fatal(err)
	}

	// In production: http.ListenAndServe(":8080", srv), then point a MEGA
	// client (rclone, go-mega, megajs, ferry) at http://host:8080.
	hs := httptest.NewServer(srv)
	defer hs.Close()

	resp, err := http.Post(hs.URL+"/cs?id=1", "application/json",
		strings.NewReader(`[{"a":"us0","user":"alice@example.com"}]`))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body[:8])) // the salt that follows is random
	// Output: [{"v":2,
}
