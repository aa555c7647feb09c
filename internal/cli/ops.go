package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"ferry/internal/backend"
	"ferry/internal/filter"
	"ferry/internal/remote"
	"ferry/internal/transfer"
	"ferry/internal/ui"
)

// refCommand builds a command taking one remote:path argument whose work
// is fn on the resolved reference. Every such command but about writes,
// so a public link is refused (read-only).
func refCommand(g *globals, use, short string, fn func(ctx context.Context, ref *remote.Ref) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			open := g.openWritable
			if cmd.Name() == "about" {
				open = g.openRemote
			}
			ref, err := open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			err = fn(cmd.Context(), ref)
			if cerr := ref.Close(); err == nil {
				err = cerr
			}
			return err
		},
	}
}

func newMkdirCommand(g *globals) *cobra.Command {
	return refCommand(g, "mkdir remote:path", "Make the path if it doesn't already exist",
		func(ctx context.Context, ref *remote.Ref) error { return ref.Backend.Mkdir(ctx, ref.Path) })
}

func newRmdirCommand(g *globals) *cobra.Command {
	return refCommand(g, "rmdir remote:path", "Remove the empty directory at path",
		func(ctx context.Context, ref *remote.Ref) error {
			if ref.Path == "" {
				return usagef("rmdir: refusing to remove the root of %s", ref.Backend)
			}
			return dirNotFound(ref.Backend.Rmdir(ctx, ref.Path))
		})
}

func newDeletefileCommand(g *globals) *cobra.Command {
	var o safetyOptions
	cmd := refCommand(g, "deletefile remote:path", "Remove a single file from remote",
		func(ctx context.Context, ref *remote.Ref) error {
			st, err := ref.Backend.Stat(ctx, ref.Path)
			if err != nil {
				return err
			}
			if st.IsDir {
				return usagef("deletefile: %s is a directory (use delete or purge)", ref.Path)
			}
			gt := newGate(g, o, startOutput(g, false, false, new(transfer.Stats)))
			if ok, err := gt.allowSized("delete", st.Name(), st.Size); !ok || err != nil {
				return err
			}
			if err := ref.Backend.Remove(ctx, ref.Path); err != nil {
				return err
			}
			gt.done(st.Name(), "Deleted")
			return nil
		})
	addSafetyFlags(cmd.Flags(), &o)
	return cmd
}

// rmdirsOptions are the flags of "ferry rmdirs".
type rmdirsOptions struct {
	safety    safetyOptions
	leaveRoot bool
}

func newRmdirsCommand(g *globals) *cobra.Command {
	var o rmdirsOptions
	cmd := refCommand(g, "rmdirs remote:path", "Remove empty directories under the path",
		func(ctx context.Context, ref *remote.Ref) error {
			gt := newGate(g, o.safety, startOutput(g, false, false, new(transfer.Stats)))
			return removeEmptyDirs(ctx, ref, o.leaveRoot, gt)
		})
	cmd.Flags().BoolVar(&o.leaveRoot, "leave-root", false, "do not remove the root directory if it is empty")
	addSafetyFlags(cmd.Flags(), &o.safety)
	return cmd
}

// removeEmptyDirs removes every directory under ref that holds no files,
// deepest first, each as gt allows (a directory kept keeps its parents).
func removeEmptyDirs(ctx context.Context, ref *remote.Ref, leaveRoot bool, gt *gate) error {
	var dirs []string
	hasFiles := map[string]bool{}
	keep := func(p string) {
		for d := backend.Dir(p); ; d = backend.Dir(d) {
			hasFiles[d] = true
			if d == "" || d == ref.Path {
				break
			}
		}
	}
	err := backend.Walk(ctx, ref.Backend, ref.Path, 0, func(e backend.Entry) error {
		if e.IsDir {
			dirs = append(dirs, e.Path)
			return nil
		}
		keep(e.Path)
		return nil
	})
	if err != nil {
		return dirNotFound(err)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	if !leaveRoot && ref.Path != "" {
		dirs = append(dirs, ref.Path)
	}
	for _, d := range dirs {
		if hasFiles[d] {
			continue
		}
		rel := relPath(ref.Path, d)
		if rel == "" {
			rel = backend.Entry{Path: d}.Name()
		}
		ok, err := gt.allow("remove directory", rel)
		if err != nil {
			return err
		}
		if !ok {
			if !gt.o.dryRun {
				keep(d)
			}
			continue
		}
		if err := ref.Backend.Rmdir(ctx, d); err != nil {
			return err
		}
		gt.done(rel, "Removed directory")
	}
	return nil
}

// deleteOptions are the flags of "ferry delete".
type deleteOptions struct {
	safety  safetyOptions
	filters filterOptions
	rmdirs  bool
}

func newDeleteCommand(g *globals) *cobra.Command {
	var o deleteOptions
	cmd := refCommand(g, "delete remote:path", "Remove the files in path (directories stay unless --rmdirs)",
		func(ctx context.Context, ref *remote.Ref) error {
			flt, err := o.filters.build(g)
			if err != nil {
				return err
			}
			gt := newGate(g, o.safety, startOutput(g, false, false, new(transfer.Stats)))
			var files []backend.Entry
			err = walkFiltered(ctx, ref, 0, flt, func(e backend.Entry, _ string) {
				if !e.IsDir {
					files = append(files, e)
				}
			})
			if err != nil {
				return dirNotFound(err)
			}
			for _, e := range files {
				rel := relPath(ref.Path, e.Path)
				if rel == "" {
					rel = e.Name()
				}
				ok, err := gt.allowSized("delete", rel, e.Size)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				if err := ref.Backend.Remove(ctx, e.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
				gt.done(rel, "Deleted")
			}
			if o.rmdirs {
				return removeEmptyDirs(ctx, ref, true, gt)
			}
			return nil
		})
	cmd.Long = `Remove the files in the path that the filter flags select (all of them
without any), leaving the directories unless --rmdirs. Unlike purge it
obeys --include, --exclude, --min-size and the other filters, so
"ferry delete --min-size 100M m:" removes only the big files. Try it with
--dry-run first, or -i to be asked about each file; -v prints each file
deleted.`
	cmd.Flags().BoolVar(&o.rmdirs, "rmdirs", false, "also remove the empty directories left behind")
	addFilterFlags(cmd.Flags(), &o.filters)
	addSafetyFlags(cmd.Flags(), &o.safety)
	return cmd
}

func newPurgeCommand(g *globals) *cobra.Command {
	var o safetyOptions
	cmd := refCommand(g, "purge remote:path", "Remove the path and all of its contents",
		func(ctx context.Context, ref *remote.Ref) error {
			st, err := ref.Backend.Stat(ctx, ref.Path)
			if err != nil {
				return dirNotFound(err)
			}
			if !st.IsDir {
				return usagef("purge: %s is a file (use deletefile)", ref.Path)
			}
			gt := newGate(g, o, startOutput(g, false, false, new(transfer.Stats)))
			name := ref.Path
			if name == "" {
				name = ref.Backend.String()
			}
			if ok, err := gt.allow("purge", name); !ok || err != nil {
				return err
			}
			if err := backend.Purge(ctx, ref.Backend, ref.Path); err != nil {
				return err
			}
			gt.done(name, "Purged")
			return nil
		})
	addSafetyFlags(cmd.Flags(), &o)
	return cmd
}

// linkOptions are the flags of "ferry link".
type linkOptions struct {
	unlink bool
	expire string // --expire: a duration, "" for none
}

// expiringLinker is a backend whose public links can expire (MEGA's
// `ets`); PublicLinkExpire is PublicLink with the link's lifetime.
type expiringLinker interface {
	PublicLinkExpire(ctx context.Context, p string, expire time.Duration) (string, error)
}

func newLinkCommand(g *globals) *cobra.Command {
	var o linkOptions
	cmd := refCommand(g, "link remote:path", "Generate a public link to a file or folder",
		func(ctx context.Context, ref *remote.Ref) error { return runLink(ctx, g, o, ref) })
	cmd.Long = `Print a public link to a file or folder. A folder is shared first, as
MEGA's apps do, and its link carries the share key. The link names MEGA's
web host for a MEGA account, and the remote's own server for a local one
(url = http://127.0.0.1:4430 prints http://127.0.0.1:4430/folder/<h>#<key>),
so ferry opens the printed link as it is: "ferry ls <link>", "ferry copy
<link> dir".`
	cmd.Flags().BoolVar(&o.unlink, "unlink", false, "remove the existing public link (and a folder's share)")
	cmd.Flags().StringVar(&o.expire, "expire", "", "the link stops working after this long (1h30m, 7d, 2w)")
	return cmd
}

// runLink prints (or removes) ref's public link.
func runLink(ctx context.Context, g *globals, o linkOptions, ref *remote.Ref) error {
	if o.expire == "" {
		url, err := backend.PublicLink(ctx, ref.Backend, ref.Path, o.unlink)
		if err != nil {
			return err
		}
		if !o.unlink {
			fmt.Fprintln(g.stdio.Out, url)
		}
		return nil
	}
	if o.unlink {
		return usagef("link: --expire and --unlink exclude each other")
	}
	d, err := parseExpire(o.expire)
	if err != nil {
		return usagef("link: --expire %q: %v", o.expire, err)
	}
	el, ok := ref.Backend.(expiringLinker)
	if !ok {
		return fmt.Errorf("link %s: links that expire: %w", ref.Backend, errors.ErrUnsupported)
	}
	url, err := el.PublicLinkExpire(ctx, ref.Path, d)
	if err != nil {
		return err
	}
	fmt.Fprintln(g.stdio.Out, url)
	return nil
}

// parseExpire parses a positive duration in rclone's form (90m, 1h30m,
// 7d, 2w).
func parseExpire(s string) (time.Duration, error) {
	d, err := filter.ParseDuration(s)
	switch {
	case err != nil:
		return 0, errors.New("want a duration such as 1h30m, 7d or 2w")
	case d <= 0:
		return 0, errors.New("want a positive duration")
	}
	return d, nil
}

// aboutOptions are the flags of "ferry about".
type aboutOptions struct{ json bool }

func newAboutCommand(g *globals) *cobra.Command {
	var o aboutOptions
	cmd := refCommand(g, "about remote:", "Get quota information from the remote",
		func(ctx context.Context, ref *remote.Ref) error {
			u, err := backend.About(ctx, ref.Backend)
			if err != nil {
				return err
			}
			if o.json {
				m := map[string]int64{}
				for k, v := range map[string]int64{"total": u.Total, "used": u.Used, "free": u.Free, "trashed": u.Trashed} {
					if v >= 0 {
						m[k] = v
					}
				}
				return writeJSON(g.stdio.Out, m)
			}
			for _, row := range []struct {
				name string
				v    int64
			}{{"Total", u.Total}, {"Used", u.Used}, {"Free", u.Free}, {"Trashed", u.Trashed}} {
				if row.v >= 0 {
					fmt.Fprintf(g.stdio.Out, "%-8s %s\n", row.name+":", ui.FormatBytes(row.v))
				}
			}
			return nil
		})
	cmd.Flags().BoolVar(&o.json, "json", false, "print the result as JSON")
	return cmd
}

func newCleanupCommand(g *globals) *cobra.Command {
	var o safetyOptions
	cmd := refCommand(g, "cleanup remote:", "Clean up the remote: empty the trash or rubbish bin",
		func(ctx context.Context, ref *remote.Ref) error {
			gt := newGate(g, o, startOutput(g, false, false, new(transfer.Stats)))
			name := ref.Backend.String()
			if ok, err := gt.allow("cleanup", name); !ok || err != nil {
				return err
			}
			if err := backend.CleanUp(ctx, ref.Backend); err != nil {
				return err
			}
			gt.done(name, "Emptied the trash")
			return nil
		})
	addSafetyFlags(cmd.Flags(), &o)
	return cmd
}
