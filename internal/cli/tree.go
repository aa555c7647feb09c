package cli

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"ferry/internal/backend"
)

// treeOptions are the flags of "ferry tree" (tree(1)'s, as rclone takes
// them).
type treeOptions struct {
	filters   filterOptions
	dirsOnly  bool // -d
	level     int  // -L
	size      bool // -s
	modTime   bool // -D
	noReport  bool
	dirsFirst bool
	fullPath  bool
	reverse   bool // -r
	sortTime  bool // -t
}

func newTreeCommand(g *globals) *cobra.Command {
	var o treeOptions
	cmd := &cobra.Command{
		Use:   "tree remote:path",
		Short: "List the contents of the remote in a tree-like fashion",
		Long: `List the contents of the remote as tree(1) draws a directory:

    /
    ├── a.txt
    └── sub
        └── b.txt

    1 directories, 2 files

The filter flags choose what is shown; -L limits the depth.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			flt, err := o.filters.build(g)
			if err != nil {
				return err
			}
			ref, err := g.openRemote(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer ref.Close()
			root := &treeNode{}
			byPath := map[string]*treeNode{"": root}
			err = walkFiltered(cmd.Context(), ref, max(o.level, 0), flt, func(e backend.Entry, rel string) {
				if o.dirsOnly && !e.IsDir {
					return
				}
				n := &treeNode{e: e, rel: rel}
				parent := byPath[backend.Dir(rel)]
				if parent == nil {
					parent = root
				}
				parent.kids = append(parent.kids, n)
				if e.IsDir {
					byPath[rel] = n
				}
			})
			if err != nil {
				return dirNotFound(err)
			}
			w := bufio.NewWriter(g.stdio.Out)
			fmt.Fprintln(w, "/")
			dirs, files := o.draw(w, root, "")
			if !o.noReport {
				fmt.Fprintf(w, "\n%d directories, %d files\n", dirs, files)
			}
			return w.Flush()
		},
	}
	f := cmd.Flags()
	addFilterFlags(f, &o.filters)
	f.BoolVarP(&o.dirsOnly, "dirs-only", "d", false, "list directories only")
	f.IntVarP(&o.level, "level", "L", 0, "descend only this many levels (0: all)")
	f.IntVar(&o.level, "max-depth", 0, "the same as --level")
	f.BoolVarP(&o.size, "size", "s", false, "print the size of each file in bytes")
	f.BoolVarP(&o.modTime, "modtime", "D", false, "print the date of the last modification")
	f.BoolVar(&o.noReport, "noreport", false, "leave out the closing count of directories and files")
	f.BoolVar(&o.dirsFirst, "dirsfirst", false, "list directories before files")
	f.BoolVar(&o.fullPath, "full-path", false, "print each entry's full path")
	f.BoolVarP(&o.reverse, "sort-reverse", "r", false, "reverse the order of the sort")
	f.BoolVarP(&o.sortTime, "sort-modtime", "t", false, "sort by modification time")
	return cmd
}

// treeNode is one entry of the tree and what it holds.
type treeNode struct {
	e    backend.Entry
	rel  string
	kids []*treeNode
}

// draw writes n's children below prefix and returns the directories and
// files it drew.
func (o *treeOptions) draw(w io.Writer, n *treeNode, prefix string) (dirs, files int) {
	kids := n.kids
	slices.SortStableFunc(kids, func(a, b *treeNode) int {
		if o.dirsFirst && a.e.IsDir != b.e.IsDir {
			if a.e.IsDir {
				return -1
			}
			return 1
		}
		c := strings.Compare(a.e.Name(), b.e.Name())
		if o.sortTime {
			c = a.e.ModTime.Compare(b.e.ModTime)
		}
		if o.reverse {
			c = -c
		}
		return c
	})
	for i, k := range kids {
		branch, indent := "├── ", "│   "
		if i == len(kids)-1 {
			branch, indent = "└── ", "    "
		}
		name := k.e.Name()
		if o.fullPath {
			name = "/" + k.rel
		}
		var meta []string
		if o.size {
			size := k.e.Size
			if k.e.IsDir {
				size = 0
			}
			meta = append(meta, fmt.Sprintf("%11s", strconv.FormatInt(size, 10)))
		}
		if o.modTime {
			meta = append(meta, k.e.ModTime.Local().Format("Jan _2 15:04"))
		}
		if len(meta) > 0 {
			name = "[" + strings.Join(meta, " ") + "]  " + name
		}
		fmt.Fprintf(w, "%s%s%s\n", prefix, branch, name)
		if k.e.IsDir {
			dirs++
			d, f := o.draw(w, k, prefix+indent)
			dirs, files = dirs+d, files+f
		} else {
			files++
		}
	}
	return dirs, files
}
