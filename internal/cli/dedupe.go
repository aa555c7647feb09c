package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"ferry/internal/backend"
	"ferry/internal/transfer"
	"ferry/internal/ui"
)

// dedupeOptions are the flags of "ferry dedupe".
type dedupeOptions struct {
	mode        string
	dryRun      bool
	interactive bool
	json        bool
}

// newDedupeCommand builds "ferry dedupe", binding its flags to an options struct.
func newDedupeCommand(g *globals) *cobra.Command {
	var o dedupeOptions
	cmd := &cobra.Command{
		Use:   "dedupe [mode] remote:path",
		Short: "Find objects with duplicate names and delete, keep or rename them",
		Long: `MEGA lets a folder hold several files with one name; most tools then see
only one of them. dedupe finds them under remote:path and resolves them.

First, identical copies (same size and the same MEGA fingerprint, found
without downloading anything) are deleted, keeping one. Then the mode
decides about the rest:

  interactive  ask for each name (the default)
  skip         leave them
  first        keep the first one listed, delete the others
  newest       keep the newest, delete the others
  oldest       keep the oldest, delete the others
  largest      keep the largest, delete the others
  smallest     keep the smallest, delete the others
  rename       rename them all: file.jpg -> file-1.jpg, file-2.jpg, ...
  list         only list duplicates; change nothing (not even identical copies)

The mode can also be given as the first argument: "ferry dedupe rename
mega:photos". Duplicate directories are reported, renamed in rename mode,
and never merged. Use --dry-run to see what would happen.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usagef("%s needs 1 or 2 argument(s), got %d (see %q)", cmd.CommandPath(), len(args), cmd.CommandPath()+" --help")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDedupe(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.mode, "dedupe-mode", "interactive", "interactive, skip, first, newest, oldest, largest, smallest, rename or list")
	f.BoolVarP(&o.dryRun, "dry-run", "n", false, "show what would be done without changing anything")
	f.BoolVarP(&o.interactive, "interactive", "i", false, "ask before each delete or rename: y(es), n(o), s(kip all), !/a (do all), q(uit)")
	f.BoolVar(&o.json, "json", false, "print the final statistics as JSON on stdout")
	return cmd
}

// runDedupe runs "ferry dedupe" with the parsed flags o and arguments args.
func runDedupe(ctx context.Context, g *globals, o dedupeOptions, args []string) error {
	modeName := o.mode
	if len(args) == 2 {
		modeName, args = args[0], args[1:]
	}
	mode, err := transfer.ParseDedupeMode(modeName)
	if err != nil {
		return usageError{err}
	}
	ref, err := g.openWritable(ctx, args[0])
	if err != nil {
		return err
	}
	defer ref.Close()
	stats := new(transfer.Stats)
	out := startOutput(g, o.json, false, stats)
	ctx = stats.ObserveRetries(ctx, out.logger, "")
	if _, ok := ref.Backend.(backend.DuplicateNamer); !ok {
		out.printer.Message(ui.LevelNotice, ref.Backend.String(), "can't have duplicate names, nothing to do")
		return nil
	}
	opts := transfer.DedupeOptions{
		Mode: mode, DryRun: o.dryRun, Stats: stats, Logger: out.logger, Report: out.report,
	}
	// The -i questions and the interactive mode's share one reader of
	// stdin.
	gt := newGate(g, safetyOptions{interactive: o.interactive}, out)
	if o.interactive {
		opts.Confirm = func(_ context.Context, action, rel string) (bool, error) { return gt.allow(action, rel) }
	}
	if mode == transfer.DedupeInteractive {
		in := gt.in
		opts.Choose = func(ctx context.Context, rel string, dups []backend.Entry) (transfer.DedupeChoice, error) {
			return askDedupe(g.stdio.Out, in, rel, dups)
		}
	}
	err = transfer.Dedupe(ctx, transfer.Location{Backend: ref.Backend, Path: ref.Path}, opts)
	out.finish(true)
	return err
}

// askDedupe asks which of dups to keep, in rclone's words.
func askDedupe(w io.Writer, in *bufio.Reader, rel string, dups []backend.Entry) (transfer.DedupeChoice, error) {
	fmt.Fprintf(w, "%s: %d duplicates remain\n", rel, len(dups))
	for i, e := range dups {
		fmt.Fprintf(w, "  %d: %12d bytes, %s, ID %s\n", i+1, e.Size, e.ModTime.Local().Format("2006-01-02 15:04:05.000000000"), e.ID)
	}
	fmt.Fprintln(w, "s) Skip and do nothing")
	fmt.Fprintln(w, "k) Keep just one (choose which in next step)")
	fmt.Fprintln(w, "r) Rename all to be different (by changing file.jpg to file-1.jpg)")
	for {
		ans, err := dedupePrompt(w, in, "s/k/r> ")
		if err != nil {
			return transfer.DedupeChoice{}, err
		}
		switch strings.ToLower(ans) {
		case "s":
			return transfer.DedupeChoice{Action: transfer.DedupeSkip}, nil
		case "r":
			return transfer.DedupeChoice{Action: transfer.DedupeRename}, nil
		case "k":
			for {
				ans, err := dedupePrompt(w, in, fmt.Sprintf("Enter the number of the file to keep (1-%d)> ", len(dups)))
				if err != nil {
					return transfer.DedupeChoice{}, err
				}
				n, err := strconv.Atoi(ans)
				if err == nil && n >= 1 && n <= len(dups) {
					return transfer.DedupeChoice{Action: transfer.DedupeFirst, Keep: n - 1}, nil
				}
				fmt.Fprintln(w, "That is not a number from the list.")
			}
		}
		fmt.Fprintln(w, "Please answer s, k or r.")
	}
}

// dedupePrompt writes question and reads one trimmed line; EOF is an error.
func dedupePrompt(w io.Writer, in *bufio.Reader, question string) (string, error) {
	fmt.Fprint(w, question)
	line, err := in.ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		return "", usagef("dedupe: no answer on standard input (%v); choose a --dedupe-mode", err)
	}
	return strings.TrimSpace(line), nil
}
