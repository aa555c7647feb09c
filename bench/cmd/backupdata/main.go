// Command backupdata writes the data set of the backup benchmark
// (bench/backup.sh; see package ferry/bench/backupdata), or changes one it
// wrote:
//
//	backupdata [-files N] [-bytes N] [-seed S] DIR          write the set into DIR (new or empty)
//	backupdata -change [-files N] [-bytes N] [-seed S] DIR  change 5% of its files
//
// It prints one line of counts, e.g.
//
//	files=2000 dirs=166 duplicates=360 bytes=1073741824 random_bytes=536870912 text_bytes=536870912
package main

import (
	"flag"
	"fmt"
	"os"

	"ferry/bench/backupdata"
)

func main() {
	var o backupdata.Options
	change := flag.Bool("change", false, "change 5% of the files of a set written with the same options")
	flag.IntVar(&o.Files, "files", 2000, "number of files")
	flag.Int64Var(&o.Bytes, "bytes", 1<<30, "total bytes")
	flag.Int64Var(&o.MaxFile, "max-file", 64<<20, "largest file in bytes")
	flag.Uint64Var(&o.Seed, "seed", 1, "seed of names, sizes and contents")
	flag.IntVar(&o.Workers, "workers", 2, "files written at once")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: backupdata [-change] [flags] DIR\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	dir := flag.Arg(0)
	var (
		out fmt.Stringer
		err error
	)
	if *change {
		out, err = backupdata.Change(dir, o)
	} else {
		out, err = backupdata.Generate(dir, o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "backupdata:", err)
		os.Exit(1)
	}
	fmt.Println(out)
}
