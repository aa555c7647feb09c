package mega_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"ferry/mega"
)

// ExampleParseLink reads the link forms MEGA's apps print, old and new.
func ExampleParseLink() {
	for _, s := range []string{
		"https://mega.nz/folder/AbCdEf12#CQkJCQkJCQkJCQkJCQkJCQ",
		"https://mega.nz/folder/AbCdEf12#CQkJCQkJCQkJCQkJCQkJCQ/file/ZZZZZZZZ",
		"https://mega.co.nz/#F!AbCdEf12!CQkJCQkJCQkJCQkJCQkJCQ",
		"https://mega.nz/file/AbCdEf12",
	} {
		l, err := mega.ParseLink(s)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(l.Folder, l.Handle, len(l.Key), l.Node, l.Redacted())
	}
	// Output:
	// true AbCdEf12 16  https://mega.nz/folder/AbCdEf12#…
	// true AbCdEf12 16 ZZZZZZZZ https://mega.nz/folder/AbCdEf12#…
	// true AbCdEf12 16  https://mega.nz/folder/AbCdEf12#…
	// error: mega: not a valid MEGA link: no key (the part after "#"); a link without its key cannot be opened
}

// ExampleOpenFolderLink shares a folder as a link, then opens the link
// with no account: the folder's tree, and its files read back verified.
func ExampleOpenFolderLink() {
	api, stop := startServer("alice@example.com", "correct horse battery staple")
	defer stop()
	ctx := context.Background()

	owner := mega.New(mega.Options{APIURL: api})
	if err := owner.Login(ctx, "alice@example.com", "correct horse battery staple", mega.LoginOptions{}); err != nil {
		log.Fatal(err)
	}
	if err := owner.FetchTree(ctx); err != nil {
		log.Fatal(err)
	}
	dir, err := owner.Mkdir(ctx, owner.Root(), "public")
	if err != nil {
		log.Fatal(err)
	}
	url, err := owner.Link(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	// Uploaded after the link was made: its key goes to the share too.
	text := "for everyone with the link\n"
	if _, err := owner.Upload(ctx, dir, "readme.txt", strings.NewReader(text), int64(len(text)), time.Now()); err != nil {
		log.Fatal(err)
	}

	l, err := mega.ParseLink(url)
	if err != nil {
		log.Fatal(err)
	}
	fl, err := mega.OpenFolderLink(ctx, mega.Options{APIURL: api}, l) // no login
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(fl.Root().Name)
	ns, err := fl.Lookup("readme.txt")
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	if err := fl.Download(ctx, ns[0], &buf); err != nil { // MAC-verified
		log.Fatal(err)
	}
	fmt.Print(buf.String())

	// A file link opens on any client, logged in or not.
	link, err := owner.Link(ctx, owner.Node(ns[0].Handle))
	if err != nil {
		log.Fatal(err)
	}
	fileLink, _ := mega.ParseLink(link)
	f, err := mega.New(mega.Options{APIURL: api}).OpenFileLink(ctx, fileLink)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Node().Name, f.Size())
	// Output:
	// public
	// for everyone with the link
	// readme.txt 27
}
