package mega_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"ferry/mega"
	"ferry/mega/megacrypto"
	"ferry/megaserver"
)

// Example logs in, creates a folder, uploads and downloads a file and
// keeps the session for a later run. It runs against a local megaserver;
// with mega.Options{} it talks to MEGA itself.
func Example() {
	api, stop := startServer("alice@example.com", "correct horse battery staple")
	defer stop()
	ctx := context.Background()

	c := mega.New(mega.Options{APIURL: api})
	if err := c.Login(ctx, "alice@example.com", "correct horse battery staple", mega.LoginOptions{}); err != nil {
		log.Fatal(err)
	}
	if err := c.FetchTree(ctx); err != nil {
		log.Fatal(err)
	}
	dir, err := c.Mkdir(ctx, c.Root(), "notes")
	if err != nil {
		log.Fatal(err)
	}
	text := "end-to-end encrypted\n"
	f, err := c.Upload(ctx, dir, "hello.txt", strings.NewReader(text), int64(len(text)), time.Unix(1700000000, 0))
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.Download(ctx, f, &buf); err != nil {
		log.Fatal(err)
	}
	found, err := c.Lookup("notes/hello.txt")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %d bytes, mtime %d: %s", c.Path(found[0]), found[0].Size, found[0].ModTime.Unix(), buf.String())

	// Save the session (encrypted, in real use) and resume it later
	// without a new login.
	saved, err := c.Session().MarshalBinary()
	if err != nil {
		log.Fatal(err)
	}
	var s mega.Session
	if err := s.UnmarshalBinary(saved); err != nil {
		log.Fatal(err)
	}
	later := mega.New(mega.Options{APIURL: api})
	if err := later.Resume(ctx, s); err != nil {
		log.Fatal(err)
	}
	fmt.Println("resumed as", s.Email, "- sid printed:", strings.Contains(fmt.Sprint(s), s.SID))
	// Output:
	// /notes/hello.txt 21 bytes, mtime 1700000000: end-to-end encrypted
	// resumed as alice@example.com - sid printed: false
}

// startServer runs a megaserver with one account on a loopback port.
func startServer(email, password string) (url string, stop func()) {
	dir, err := os.MkdirTemp("", "mega-example")
	if err != nil {
		log.Fatal(err)
	}
	srv, err := megaserver.Open(megaserver.Options{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	acct, err := megacrypto.NewAccount(email, []byte(password), megacrypto.AccountOptions{}, rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := srv.AddUser(context.Background(), acct, megaserver.UserOptions{}); err != nil {
		log.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	return hs.URL, func() {
		hs.Close()
		srv.Close()
		os.RemoveAll(dir)
	}
}
