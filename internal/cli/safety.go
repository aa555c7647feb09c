package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"ferry/internal/ui"
)

// safetyOptions are --dry-run and -i of the commands that delete (delete,
// purge, rmdirs, deletefile, cleanup, dedupe).
type safetyOptions struct {
	dryRun      bool
	interactive bool
}

// addSafetyFlags binds --dry-run/-n and --interactive/-i to o.
func addSafetyFlags(f *pflag.FlagSet, o *safetyOptions) {
	if f.Lookup("dry-run") == nil {
		f.BoolVarP(&o.dryRun, "dry-run", "n", false, "show what would be done without changing anything")
	}
	f.BoolVarP(&o.interactive, "interactive", "i", false, "ask before each change: y(es), n(o), s(kip all), !/a (do all), q(uit)")
}

// errQuit is the answer q to an -i question: the command stops there,
// with what it did so far done.
var errQuit = errors.New("stopped at the user's request (q)")

// gate decides about each change a deleting command is about to make:
// with --dry-run it reports the change it skips, with -i it asks first,
// in rclone's words. After the change the command calls done, which
// reports it at -v. It is safe for concurrent use; questions are asked
// one at a time.
type gate struct {
	o       safetyOptions
	printer ui.Printer
	in      *bufio.Reader
	w       io.Writer // where questions go (stderr: stdout stays a command's result)

	mu   sync.Mutex
	all  map[string]bool // op -> "!" was answered: yes to all
	skip map[string]bool // op -> "s" was answered: no to all
}

// newGate returns the gate of a command run with o, reporting through
// out's printer and asking on the command's stdin and stderr.
func newGate(g *globals, o safetyOptions, out *output) *gate {
	return &gate{o: o, printer: out.printer, in: bufio.NewReader(g.stdio.In), w: g.stdio.Err,
		all: map[string]bool{}, skip: map[string]bool{}}
}

// allow reports whether to make the change op ("delete", "remove
// directory", "purge", "cleanup") on object (a path, or a remote for
// cleanup). A dry run reports the skip and returns false; errQuit or an
// unreadable answer stops the command.
func (g *gate) allow(op, object string) (bool, error) { return g.allowSized(op, object, -1) }

// allowSized is allow for a file of size bytes, which a dry run's notice
// names as rclone's does; size < 0 names none.
func (g *gate) allowSized(op, object string, size int64) (bool, error) {
	if g.o.dryRun {
		msg := "Skipped " + op + " as --dry-run is set"
		if size >= 0 {
			msg += " (size " + ui.FormatBytes(size) + ")"
		}
		g.printer.Message(ui.LevelNotice, object, msg)
		return false, nil
	}
	if !g.o.interactive {
		return true, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.all[op]:
		return true, nil
	case g.skip[op]:
		g.printer.Message(ui.LevelNotice, object, "Skipped "+op)
		return false, nil
	}
	fmt.Fprintf(g.w, "ferry: %s %q?\n", op, object)
	fmt.Fprintln(g.w, "y) Yes, this is OK (default)")
	fmt.Fprintln(g.w, "n) No, skip this")
	fmt.Fprintf(g.w, "s) Skip all %s operations with no more questions\n", op)
	fmt.Fprintf(g.w, "!) Do all %s operations with no more questions (or a)\n", op)
	fmt.Fprintln(g.w, "q) Exit ferry now.")
	for {
		fmt.Fprint(g.w, "y/n/s/!/q> ")
		line, err := g.in.ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return false, usagef("-i: no answer on standard input to %s %q (%v)", op, object, err)
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "", "y", "yes":
			return true, nil
		case "n", "no":
			g.printer.Message(ui.LevelNotice, object, "Skipped "+op)
			return false, nil
		case "s":
			g.skip[op] = true
			g.printer.Message(ui.LevelNotice, object, "Skipped "+op)
			return false, nil
		case "!", "a", "all":
			g.all[op] = true
			return true, nil
		case "q", "quit":
			return false, errQuit
		}
		fmt.Fprintln(g.w, "Please answer y, n, s, ! or q.")
	}
}

// done reports a change made on object, shown with -v ("Deleted",
// "Removed directory").
func (g *gate) done(object, what string) {
	g.printer.Message(ui.LevelInfo, object, what)
}
