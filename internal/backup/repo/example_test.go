package repo_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"ferry/internal/backend/memory"
	"ferry/internal/backup/repo"
)

// A backup run in miniature: create a repository, store a blob, flush,
// record a snapshot, and read it all back through a second Open.
func Example() {
	ctx := context.Background()
	be := memory.New()
	cache, err := os.MkdirTemp("", "repo-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(cache)
	o := repo.Options{CacheDir: cache, KDF: repo.KDF{Time: 1, MemoryKiB: 64, Threads: 1}}
	password := []byte("example password")

	r, err := repo.Init(ctx, be, password, o)
	if err != nil {
		log.Fatal(err)
	}
	tree, added, _, err := r.SaveBlob(ctx, repo.TreeBlob, []byte("a directory listing"))
	if err != nil {
		log.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		log.Fatal(err)
	}
	if _, err := r.SaveSnapshot(ctx, &repo.Snapshot{Time: time.Now(), Tree: tree, Paths: []string{"/src"}}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("added:", added)

	r2, err := repo.Open(ctx, be, password, o)
	if err != nil {
		log.Fatal(err)
	}
	snaps, err := r2.Snapshots(ctx)
	if err != nil {
		log.Fatal(err)
	}
	b, err := r2.LoadBlob(ctx, repo.TreeBlob, snaps[0].Tree, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d snapshot, tree %q\n", len(snaps), b)
	_, err = repo.Open(ctx, be, []byte("wrong"), o)
	fmt.Println(err)
	// Output:
	// added: true
	// 1 snapshot, tree "a directory listing"
	// repo: wrong password (no key opens with it)
}
