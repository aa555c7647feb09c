package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"ferry/internal/backend"
	"ferry/internal/filter"
	"ferry/internal/remote"
	"ferry/internal/ui"
)

// listOptions are the flags shared by the listing commands.
type listOptions struct {
	recursive bool
	maxDepth  int
	dirsOnly  bool
	filesOnly bool
}

// listKind selects the output format of one listing command.
type listKind int

const (
	listLs listKind = iota
	listLsl
	listLsd
	listLsf
	listLsjson
)

func newListCommand(g *globals, kind listKind) *cobra.Command {
	var o listOptions
	specs := map[listKind]struct{ use, short string }{
		listLs:     {"ls remote:path", "List the objects in the path with size and path (recursive)"},
		listLsl:    {"lsl remote:path", "List the objects in the path with size, modification time and path (recursive)"},
		listLsd:    {"lsd remote:path", "List the directories in the path (-R for recursive)"},
		listLsf:    {"lsf remote:path", "List directories and objects in a form easy to parse (dirs end in /)"},
		listLsjson: {"lsjson remote:path", "List directories and objects as JSON"},
	}
	cmd := &cobra.Command{
		Use:   specs[kind].use,
		Short: specs[kind].short,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runList(cmd.Context(), g, kind, o, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.recursive, "recursive", "R", false, "recurse into subdirectories")
	f.IntVar(&o.maxDepth, "max-depth", -1, "limit the recursion depth (1 = this directory only)")
	if kind == listLsf || kind == listLsjson {
		f.BoolVar(&o.dirsOnly, "dirs-only", false, "only list directories")
		f.BoolVar(&o.filesOnly, "files-only", false, "only list files")
	}
	return cmd
}

// jsonEntry is one object of lsjson's output (rclone's field names).
type jsonEntry struct {
	Path        string
	Name        string
	Size        int64
	ModTime     string
	IsDir       bool
	ID          string `json:",omitempty"`
	Fingerprint string `json:",omitempty"`
}

func runList(ctx context.Context, g *globals, kind listKind, o listOptions, arg string) error {
	ref, err := g.openRemote(ctx, arg)
	if err != nil {
		return err
	}
	defer ref.Close()
	// ls and lsl recurse by default, like rclone; the others list one level.
	depth := 1
	if kind == listLs || kind == listLsl || o.recursive {
		depth = 0
	}
	if o.maxDepth > 0 {
		depth = o.maxDepth
	}
	bw := bufio.NewWriterSize(g.stdio.Out, 64<<10)
	defer bw.Flush()
	out := bw
	var jsonOut []jsonEntry
	var line []byte // ls and lsf lines are built here: fmt costs more than the walk
	emit := func(e backend.Entry, rel string) {
		switch kind {
		case listLs:
			if !e.IsDir {
				line = appendPadded(line[:0], e.Size, 9)
				line = append(append(append(line, ' '), rel...), '\n')
				out.Write(line)
			}
		case listLsl:
			if !e.IsDir {
				fmt.Fprintf(out, "%9d %s %s\n", e.Size, e.ModTime.Local().Format("2006-01-02 15:04:05.000000000"), rel)
			}
		case listLsd:
			if e.IsDir {
				fmt.Fprintf(out, "%12d %s %9d %s\n", -1, e.ModTime.Local().Format("2006-01-02 15:04:05"), -1, rel)
			}
		case listLsf:
			if (e.IsDir && o.filesOnly) || (!e.IsDir && o.dirsOnly) {
				return
			}
			line = append(line[:0], rel...)
			if e.IsDir {
				line = append(line, '/')
			}
			out.Write(append(line, '\n'))
		case listLsjson:
			if (e.IsDir && o.filesOnly) || (!e.IsDir && o.dirsOnly) {
				return
			}
			size := e.Size
			if e.IsDir {
				size = -1
			}
			jsonOut = append(jsonOut, jsonEntry{Path: rel, Name: e.Name(), Size: size,
				ModTime: e.ModTime.Format(time.RFC3339Nano), IsDir: e.IsDir, ID: e.ID, Fingerprint: e.Fingerprint})
		}
	}
	err = walkRef(ctx, ref, depth, emit)
	if err != nil {
		return dirNotFound(err)
	}
	if kind == listLsjson {
		if jsonOut == nil {
			jsonOut = []jsonEntry{}
		}
		if err := writeJSON(out, jsonOut); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// walkRef visits the entries under ref (or ref itself when it names a
// file), passing each with its path relative to ref.Path. A missing path
// is fs.ErrNotExist; callers for which it is a directory wrap the error
// with dirNotFound.
func walkRef(ctx context.Context, ref *remote.Ref, depth int, fn func(e backend.Entry, rel string)) error {
	return walkFiltered(ctx, ref, depth, nil, fn)
}

// walkFiltered is walkRef seeing only what flt includes (nil: everything):
// files it includes, and directories it does not exclude, whose contents
// are not listed when it does.
func walkFiltered(ctx context.Context, ref *remote.Ref, depth int, flt *filter.Filter, fn func(e backend.Entry, rel string)) error {
	st, err := ref.Backend.Stat(ctx, ref.Path)
	if err != nil {
		return err
	}
	if !st.IsDir {
		if flt.IncludeFile(st.Name(), st.Size) {
			fn(st, st.Name())
		}
		return nil
	}
	return backend.Walk(ctx, ref.Backend, ref.Path, depth, func(e backend.Entry) error {
		rel := relPath(ref.Path, e.Path)
		switch {
		case e.IsDir && !flt.IncludeDir(rel):
			return backend.SkipDir
		case !e.IsDir && !flt.IncludeFile(rel, e.Size):
			return nil
		}
		fn(e, rel)
		return nil
	})
}

// appendPadded appends n right-aligned in width columns, like %*d.
func appendPadded(b []byte, n int64, width int) []byte {
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], n, 10)
	for range width - len(d) {
		b = append(b, ' ')
	}
	return append(b, d...)
}

// relPath returns p relative to dir (both in the contract's form).
func relPath(dir, p string) string {
	if dir == "" {
		return p
	}
	return strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
}

// writeJSON writes v as indented JSON (HTML characters not escaped).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// sizeOptions are the flags of "ferry size".
type sizeOptions struct{ json bool }

func newSizeCommand(g *globals) *cobra.Command {
	var o sizeOptions
	cmd := &cobra.Command{
		Use:   "size remote:path",
		Short: "Print the total size and number of objects in remote:path",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := g.openRemote(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer ref.Close()
			var count, bytes int64
			err = walkRef(cmd.Context(), ref, 0, func(e backend.Entry, _ string) {
				if !e.IsDir {
					count++
					bytes += e.Size
				}
			})
			if err != nil {
				return dirNotFound(err)
			}
			if o.json {
				return writeJSON(g.stdio.Out, map[string]int64{"count": count, "bytes": bytes})
			}
			fmt.Fprintf(g.stdio.Out, "Total objects: %d\nTotal size: %s (%d Byte)\n", count, ui.FormatBytes(bytes), bytes)
			return nil
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print the result as JSON")
	return cmd
}

func newTreeCommand(g *globals) *cobra.Command {
	var o listOptions
	cmd := &cobra.Command{
		Use:   "tree remote:path",
		Short: "List the contents of the remote in a tree-like fashion",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := g.openRemote(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer ref.Close()
			depth := 0
			if o.maxDepth > 0 {
				depth = o.maxDepth
			}
			fmt.Fprintln(g.stdio.Out, "/")
			dirs, files := 0, 0
			err = walkRef(cmd.Context(), ref, depth, func(e backend.Entry, rel string) {
				level := strings.Count(rel, "/")
				name := e.Name()
				if e.IsDir {
					dirs++
					name += "/"
				} else {
					files++
				}
				fmt.Fprintf(g.stdio.Out, "%s├── %s\n", strings.Repeat("│   ", level), name)
			})
			if err != nil {
				return dirNotFound(err)
			}
			fmt.Fprintf(g.stdio.Out, "\n%d directories, %d files\n", dirs, files)
			return nil
		},
	}
	cmd.Flags().IntVar(&o.maxDepth, "max-depth", -1, "limit the depth")
	return cmd
}
