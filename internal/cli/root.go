package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"ferry/internal/retry"
	"ferry/internal/ui"
)

// Stdio are the streams a command reads and writes.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
}

// globals are the flags every command shares.
type globals struct {
	args        []string   // the command line, without the program name (mount --daemon runs it again)
	log         logOptions // -v, -q, --log-level, --log-file, --use-json-log
	net         netOptions // --low-level-retries, --timeout, --contimeout
	cpuprofile  string     // --cpuprofile: write a CPU profile of the command
	stopProfile func()     // set while profiling
	stdio       Stdio
	rem         remoteState   // --config, backend option flags, open remotes (fs.go)
	accepted    acceptedFlags // --fast-list and other rclone flags that change nothing; --dump
}

// Run runs ferry with args (without the program name) and returns the exit
// code. It is the whole program: cmd/ferry only adds signals and os.Exit.
func Run(ctx context.Context, args []string, stdio Stdio) int {
	// Every logger, printer and progress display writes stderr through
	// this one lock, so that lines never interleave (and a test's
	// bytes.Buffer is safe).
	stdio.Err = &ui.LockedWriter{W: stdio.Err}
	g := &globals{args: args, stdio: stdio}
	root := newRootCommand(g)
	root.SetArgs(commandFirst(root, args))
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	err := root.ExecuteContext(ctx)
	if g.stopProfile != nil {
		g.stopProfile()
	}
	g.finishLog(err)
	if err == nil {
		return exitOK
	}
	if ctx.Err() != nil {
		// Ctrl-C (or SIGTERM): whatever failed failed because of it.
		fmt.Fprintln(stdio.Err, "ferry: interrupted")
		return exitInterrupted
	}
	fmt.Fprintf(stdio.Err, "ferry: %v\n", message(err))
	return exitCode(err)
}

func newRootCommand(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "ferry",
		Short: "End-to-end-encrypted cloud storage: MEGA, MediaFire and local disks",
		Long: `ferry moves files to and from MEGA with MEGA's own client-side encryption,
logs in once and resumes its session, and serves a MEGA-compatible server
for offline use and tests.

Start with "ferry quickstart": it runs everything on an embedded local server.`,
		Args:          groupArgs("command"),
		RunE:          groupRun,
		Annotations:   map[string]string{annotationGroup: ""},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	addLogFlags(root.PersistentFlags(), &g.log)
	addNetFlags(root.PersistentFlags(), &g.net)
	root.PersistentFlags().StringVar(&g.cpuprofile, "cpuprofile", "", "write a CPU profile to this file")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		tuneGC(cmd)
		if err := g.log.setup(); err != nil {
			return err
		}
		if err := g.net.validate(); err != nil {
			return err
		}
		// Every command counts its retries and logs each at -vv; the
		// transfer commands count them in their statistics instead
		// (transfer.Stats.ObserveRetries).
		cmd.SetContext(retry.WithObserver(cmd.Context(), g.log.tally.observer(g.logger())))
		return g.startProfile()
	}
	addRemoteFlags(root.PersistentFlags(), g)
	addAcceptedFlags(root.PersistentFlags(), &g.accepted)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newVersionCommand(g),
		newServeCommand(g),
		newQuickstartCommand(g),
		newConfigCommand(g),
		newListCommand(g, listLs),
		newListCommand(g, listLsl),
		newListCommand(g, listLsd),
		newListCommand(g, listLsf),
		newListCommand(g, listLsjson),
		newSizeCommand(g),
		newTreeCommand(g),
		newCatCommand(g),
		newRcatCommand(g),
		newMkdirCommand(g),
		newRmdirCommand(g),
		newRmdirsCommand(g),
		newDeleteCommand(g),
		newDeletefileCommand(g),
		newPurgeCommand(g),
		newLinkCommand(g),
		newAboutCommand(g),
		newCleanupCommand(g),
		newRcdCommand(g),
		newRcCommand(g),
		newCopyCommand(g),
		newCopytoCommand(g),
		newSyncCommand(g),
		newMoveCommand(g),
		newMovetoCommand(g),
		newCheckCommand(g),
		newDedupeCommand(g),
		newMountCommand(g),
		newUmountCommand(g),
		newListremotesCommand(g),
		newObscureCommand(g),
		newGendocsCommand(g),
		newBackupCommand(g),
		newRestoreCommand(g),
	)
	root.SetHelpCommand(newHelpCommand(g))
	addCompletions(g, root)
	return root
}

// usageError marks bad flags or arguments (exit code 1).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usage error.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exactArgs is cobra.ExactArgs returning a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s needs %d argument(s), got %d (see %q)", cmd.CommandPath(), n, len(args), cmd.CommandPath()+" --help")
		}
		return nil
	}
}
