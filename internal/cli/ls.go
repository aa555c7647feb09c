package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"path"
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
	filters   filterOptions
	recursive bool
	maxDepth  int
	dirsOnly  bool
	filesOnly bool

	// lsf
	format    string // --format letters
	separator string // -s
	csv       bool
	dirSlash  bool   // -d, default true
	hashType  string // --hash: the h letter's hash
	absolute  bool

	// lsjson
	hash       bool // --hash: Hashes in each object
	stat       bool // --stat: the path itself only
	noModTime  bool
	noMimeType bool
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
		listLsjson: {"lsjson remote:path", "List directories and objects as JSON, one object a line"},
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
	addFilterFlags(f, &o.filters)
	f.BoolVarP(&o.recursive, "recursive", "R", false, "recurse into subdirectories")
	f.IntVar(&o.maxDepth, "max-depth", -1, "limit the recursion depth (1 = this directory only)")
	if kind == listLsf || kind == listLsjson {
		f.BoolVar(&o.dirsOnly, "dirs-only", false, "only list directories")
		f.BoolVar(&o.filesOnly, "files-only", false, "only list files")
	}
	switch kind {
	case listLsf:
		cmd.Long = `List directories and objects, one a line, in a form easy to parse.
--format picks the fields, in order, from these letters (rclone's):

  p  path                   s  size (-1 for a directory)
  t  modification time      h  hash (--hash: MEGA's fingerprint)
  i  ID (MEGA's node handle) m  MIME type (from the name)
  e  encrypted name          T  tier (always empty: MEGA has neither)

Fields are separated by -s (";" by default), or written as CSV with
--csv. Directories end in "/" unless --dir-slash=false.`
		f.StringVarP(&o.format, "format", "F", "p", "output fields, from the letters p, s, t, h, i, m, e, T")
		f.StringVarP(&o.separator, "separator", "s", ";", "separator between the fields")
		f.BoolVar(&o.csv, "csv", false, "write the fields as CSV (quoted where needed)")
		f.BoolVarP(&o.dirSlash, "dir-slash", "d", true, `append a slash to directory names`)
		f.StringVar(&o.hashType, "hash", "fingerprint", `the hash of the h field: "fingerprint" (MEGA's; rclone's md5 and sha1 are not kept on MEGA)`)
		f.BoolVar(&o.absolute, "absolute", false, `put a leading "/" in front of each path`)
	case listLsjson:
		f.BoolVar(&o.hash, "hash", false, `include "Hashes" (MEGA's fingerprint, as "mega")`)
		f.BoolVar(&o.stat, "stat", false, "print the one object the path names, not a listing")
		f.BoolVar(&o.noModTime, "no-modtime", false, "leave out ModTime")
		f.BoolVar(&o.noMimeType, "no-mimetype", false, "leave out MimeType")
	}
	return cmd
}

// jsonEntry is one object of lsjson's output (rclone's field names and
// order).
type jsonEntry struct {
	Path     string
	Name     string
	Size     int64
	MimeType string `json:",omitempty"`
	ModTime  string `json:",omitempty"`
	IsDir    bool
	Hashes   map[string]string `json:",omitempty"`
	ID       string            `json:",omitempty"`
}

// mimeType is the MIME type rclone gives an entry: from the name's
// extension, "inode/directory" for a directory.
func mimeType(e backend.Entry) string {
	if e.IsDir {
		return "inode/directory"
	}
	if t := mime.TypeByExtension(path.Ext(e.Path)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// lsfLetters are lsf's format letters.
const lsfLetters = "pstihmeT"

func runList(ctx context.Context, g *globals, kind listKind, o listOptions, arg string) error {
	if kind == listLsf {
		for _, c := range o.format {
			if !strings.ContainsRune(lsfLetters, c) {
				return usagef("lsf --format %q: unknown letter %q (want p, s, t, h, i, m, e or T)", o.format, c)
			}
		}
		if h := strings.ToLower(o.hashType); h != "fingerprint" && h != "mega" {
			return usagef("lsf --hash %q: ferry has MEGA's fingerprint only (--hash fingerprint)", o.hashType)
		}
	}
	flt, err := o.filters.build(g)
	if err != nil {
		return err
	}
	ref, err := g.openRemote(ctx, arg)
	if err != nil {
		return err
	}
	defer ref.Close()
	bw := bufio.NewWriterSize(g.stdio.Out, 64<<10)
	defer bw.Flush()
	if kind == listLsjson && o.stat {
		st, err := ref.Backend.Stat(ctx, ref.Path)
		if err != nil {
			return err
		}
		b, err := marshalJSONLine(o.jsonEntry(st, st.Name()))
		if err != nil {
			return err
		}
		bw.Write(append(b, '\n'))
		return bw.Flush()
	}
	// ls and lsl recurse by default, like rclone; the others list one level.
	depth := 1
	if kind == listLs || kind == listLsl || o.recursive {
		depth = 0
	}
	if o.maxDepth > 0 {
		depth = o.maxDepth
	}
	out := bw
	var csvw *csv.Writer
	if o.csv {
		csvw = csv.NewWriter(out) // always commas, as rclone's --csv
	}
	var fields []string
	jsonCount := 0
	var line []byte // ls and lsf lines are built here: fmt costs more than the walk
	var emitErr error
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
			if o.format == "p" && !o.csv && !o.absolute {
				line = append(line[:0], rel...)
				if e.IsDir && o.dirSlash {
					line = append(line, '/')
				}
				out.Write(append(line, '\n'))
				return
			}
			fields = o.lsfFields(fields[:0], e, rel)
			if csvw != nil {
				if err := csvw.Write(fields); err != nil && emitErr == nil {
					emitErr = err
				}
				return
			}
			out.WriteString(strings.Join(fields, o.separator))
			out.WriteByte('\n')
		case listLsjson:
			if (e.IsDir && o.filesOnly) || (!e.IsDir && o.dirsOnly) {
				return
			}
			b, err := marshalJSONLine(o.jsonEntry(e, rel))
			if err != nil {
				if emitErr == nil {
					emitErr = err
				}
				return
			}
			// rclone's layout: "[", one object a line, "]".
			if jsonCount == 0 {
				out.WriteString("[\n")
			} else {
				out.WriteString(",\n")
			}
			jsonCount++
			out.Write(b)
		}
	}
	err = walkFiltered(ctx, ref, depth, flt, emit)
	if err != nil {
		return dirNotFound(err)
	}
	if emitErr != nil {
		return emitErr
	}
	if csvw != nil {
		csvw.Flush()
		if err := csvw.Error(); err != nil {
			return err
		}
	}
	if kind == listLsjson {
		if jsonCount == 0 {
			out.WriteString("[\n")
		} else {
			out.WriteString("\n")
		}
		out.WriteString("]\n")
	}
	return bw.Flush()
}

// lsfFields appends e's lsf fields, in --format's order, to fields.
func (o *listOptions) lsfFields(fields []string, e backend.Entry, rel string) []string {
	for _, c := range o.format {
		var v string
		switch c {
		case 'p':
			v = rel
			if o.absolute {
				v = "/" + v
			}
			if e.IsDir && o.dirSlash {
				v += "/"
			}
		case 's':
			v = "-1"
			if !e.IsDir {
				v = strconv.FormatInt(e.Size, 10)
			}
		case 't':
			v = e.ModTime.Local().Format("2006-01-02 15:04:05")
		case 'h':
			v = e.Fingerprint
		case 'i':
			v = e.ID
		case 'm':
			v = mimeType(e)
		case 'e', 'T':
			// No encrypted names (MEGA encrypts them all alike) and no
			// storage tiers: empty, as rclone prints a missing field.
		}
		fields = append(fields, v)
	}
	return fields
}

// jsonEntry is e as one lsjson object under o's flags.
func (o *listOptions) jsonEntry(e backend.Entry, rel string) jsonEntry {
	j := jsonEntry{Path: rel, Name: e.Name(), Size: e.Size, IsDir: e.IsDir, ID: e.ID}
	if e.IsDir {
		j.Size = -1
	}
	if !o.noMimeType {
		j.MimeType = mimeType(e)
	}
	if !o.noModTime {
		j.ModTime = e.ModTime.Local().Format(time.RFC3339Nano) // local time, as rclone prints it
	}
	if o.hash && e.Fingerprint != "" {
		j.Hashes = map[string]string{"mega": e.Fingerprint}
	}
	return j
}

// marshalJSONLine encodes v on one line without escaping HTML characters.
func marshalJSONLine(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
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
// are not listed when it does. A directory holding an --exclude-if-present
// name is left out with all below it (the whole walk when ref holds one):
// its markers are looked up before the walk descends into it.
func walkFiltered(ctx context.Context, ref *remote.Ref, depth int, flt *filter.Filter, fn func(e backend.Entry, rel string)) error {
	st, err := ref.Backend.Stat(ctx, ref.Path)
	if err != nil {
		return err
	}
	if !st.IsDir {
		if flt.Include(st.Name(), st.Size, st.ModTime) {
			fn(st, st.Name())
		}
		return nil
	}
	if marked, err := holdsMarker(ctx, ref.Backend, ref.Path, flt); marked || err != nil {
		return err
	}
	return backend.Walk(ctx, ref.Backend, ref.Path, depth, func(e backend.Entry) error {
		rel := relPath(ref.Path, e.Path)
		switch {
		case e.IsDir && !flt.IncludeDir(rel):
			return backend.SkipDir
		case !e.IsDir && !flt.Include(rel, e.Size, e.ModTime):
			return nil
		case e.IsDir:
			if marked, err := holdsMarker(ctx, ref.Backend, e.Path, flt); marked || err != nil {
				if err != nil {
					return err
				}
				return backend.SkipDir
			}
		}
		fn(e, rel)
		return nil
	})
}

// holdsMarker reports whether directory dir holds one of flt's
// --exclude-if-present names, looking each up.
func holdsMarker(ctx context.Context, b backend.Backend, dir string, flt *filter.Filter) (bool, error) {
	for _, m := range flt.Markers() {
		e, err := b.Stat(ctx, backend.Join(dir, strings.TrimSuffix(m, "/")))
		switch {
		case err == nil:
			if flt.IsMarker(e.Name(), e.IsDir) {
				return true, nil
			}
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, backend.ErrNotDir):
			return false, err
		}
	}
	return false, nil
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
type sizeOptions struct {
	filters filterOptions
	json    bool
}

func newSizeCommand(g *globals) *cobra.Command {
	var o sizeOptions
	cmd := &cobra.Command{
		Use:   "size remote:path",
		Short: "Print the total size and number of objects in remote:path",
		Args:  exactArgs(1),
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
			var count, bytes int64
			err = walkFiltered(cmd.Context(), ref, 0, flt, func(e backend.Entry, _ string) {
				if !e.IsDir {
					count++
					bytes += e.Size
				}
			})
			if err != nil {
				return dirNotFound(err)
			}
			if o.json {
				// One line, rclone's fields (every size is known here).
				b, err := marshalJSONLine(struct {
					Count    int64 `json:"count"`
					Bytes    int64 `json:"bytes"`
					Sizeless int64 `json:"sizeless"`
				}{count, bytes, 0})
				if err != nil {
					return err
				}
				_, err = g.stdio.Out.Write(append(b, '\n'))
				return err
			}
			fmt.Fprintf(g.stdio.Out, "Total objects: %d\nTotal size: %s (%d Byte)\n", count, ui.FormatBytes(bytes), bytes)
			return nil
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print the result as JSON on one line")
	addFilterFlags(cmd.Flags(), &o.filters)
	return cmd
}
