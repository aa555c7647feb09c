package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"ferry/internal/backend"
)

// catOptions are the flags of "ferry cat".
type catOptions struct {
	offset, count int64
}

func newCatCommand(g *globals) *cobra.Command {
	var o catOptions
	cmd := &cobra.Command{
		Use:   "cat remote:path",
		Short: "Concatenate the files in remote:path to standard output",
		Long: `Print files to standard output. A directory prints every file below it.
--offset and --count read a byte range without fetching the rest (negative
--offset counts from the end). A full read of a MEGA file is MAC-verified:
corrupt data ends the command with an error.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCat(cmd.Context(), g, o, args[0])
		},
	}
	cmd.Flags().Int64Var(&o.offset, "offset", 0, "start at this byte offset (negative: from the end)")
	cmd.Flags().Int64Var(&o.count, "count", -1, "read at most this many bytes (-1: to the end)")
	return cmd
}

func runCat(ctx context.Context, g *globals, o catOptions, arg string) error {
	ref, err := g.openRemote(ctx, arg)
	if err != nil {
		return err
	}
	defer ref.Close()
	var files []backend.Entry
	if err := walkRef(ctx, ref, 0, func(e backend.Entry, _ string) {
		if !e.IsDir {
			files = append(files, e)
		}
	}); err != nil {
		return err
	}
	for _, e := range files {
		off := o.offset
		if off < 0 {
			off = max(e.Size+off, 0)
		}
		rc, err := backend.OpenEntry(ctx, ref.Backend, e, off, o.count)
		if err != nil {
			return err
		}
		_, err = io.Copy(g.stdio.Out, rc)
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("cat %s: %w", e.Path, err)
		}
	}
	return nil
}

func newRcatCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rcat remote:path",
		Short: "Copy standard input to a file on the remote",
		Long: `Read standard input to its end and store it as remote:path. The input is
spooled to a temporary file first (MEGA needs the size before the upload
starts), so it is never held in memory.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ref, err := g.openWritable(ctx, args[0])
			if err != nil {
				return err
			}
			defer ref.Close()
			if ref.Path == "" {
				return usagef("rcat: %q names a directory, not a file", args[0])
			}
			spool, err := os.CreateTemp("", "ferry-rcat-")
			if err != nil {
				return err
			}
			defer os.Remove(spool.Name())
			defer spool.Close()
			size, err := io.Copy(spool, g.stdio.In)
			if err != nil {
				return fmt.Errorf("rcat: read standard input: %w", err)
			}
			if _, err := spool.Seek(0, io.SeekStart); err != nil {
				return err
			}
			_, err = ref.Backend.Put(ctx, ref.Path, spool, size, time.Now())
			return err
		},
	}
}
