package mediafire_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"

	"ferry/mediafire"
	"ferry/mediafireserver"
)

// A client stores a file in a new folder, lists the folder and reads the
// file back (verified against its SHA-256). Here it talks to a local
// stand-in server; without BaseURL it talks to www.mediafire.com.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "mediafire-example")
	defer os.RemoveAll(dir)
	srv, err := mediafireserver.Open(mediafireserver.Options{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	if _, err := srv.AddUser(ctx, "alice@example.com", "correct horse", mediafireserver.UserOptions{}); err != nil {
		log.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)

	c, err := mediafire.New(mediafire.Options{
		BaseURL:  "http://" + ln.Addr().String(),
		Email:    "alice@example.com",
		Password: "correct horse",
	})
	if err != nil {
		log.Fatal(err)
	}
	folder, err := c.CreateFolder(ctx, "", "notes") // "" is the root
	if err != nil {
		log.Fatal(err)
	}
	text := "hello, MediaFire\n"
	fi, err := c.Upload(ctx, folder, "hello.txt", strings.NewReader(text), int64(len(text)), mediafire.UploadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	files, err := c.Files(ctx, folder)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		fmt.Println(f.Filename, f.Size)
	}
	rc, err := c.Open(ctx, fi, 0, -1)
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc) // fails instead of returning bytes that do not match the hash
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(b))
	// Output:
	// hello.txt 17
	// hello, MediaFire
}
