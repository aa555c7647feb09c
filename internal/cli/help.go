package cli

import (
	"fmt"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"ferry/internal/remote"
)

// newHelpCommand replaces cobra's help command: "ferry help COMMAND" is
// still that command's help, and, as in rclone, "help flags", "help
// backends" and "help backend NAME" show what no single command's help
// does.
func newHelpCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "help [command]",
		Short: "Show help for ferry commands, flags and backends",
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			c, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				return usagef("unknown help topic %q (see \"ferry help\")", strings.Join(args, " "))
			}
			return c.Help()
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "flags [REGEXP]",
		Short: "Show the global flags, or those whose name matches REGEXP",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			re := regexp.MustCompile("")
			if len(args) == 1 {
				var err error
				if re, err = regexp.Compile(args[0]); err != nil {
					return usagef("help flags: bad regexp: %v", err)
				}
			}
			fs := pflag.NewFlagSet("global", pflag.ContinueOnError)
			cmd.Root().PersistentFlags().VisitAll(func(f *pflag.Flag) {
				if !f.Hidden && re.MatchString(f.Name) {
					fs.AddFlag(f)
				}
			})
			_, err := fmt.Fprintf(g.stdio.Out, "Flags every command takes (a command's own flags are in its --help):\n\n%s", fs.FlagUsages())
			return err
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "backends",
		Short: "List the backend types",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(g.stdio.Out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "All backends:")
			fmt.Fprintln(tw)
			for _, t := range g.registry() {
				fmt.Fprintf(tw, "  %s\t%s\n", t.Name, t.Description)
			}
			fmt.Fprintln(tw)
			fmt.Fprintln(tw, `To see the options of one: "ferry help backend NAME".`)
			return tw.Flush()
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "backend NAME",
		Short: "Show the options of one backend type",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := g.backendType(args[0])
			if err != nil {
				return err
			}
			w := g.stdio.Out
			fmt.Fprintf(w, "%s (%s)\n\nOptions, as \"key = value\" in the config file, flags or environment variables:\n", t.Description, t.Name)
			for _, o := range t.Options {
				if o.Generated {
					continue
				}
				fmt.Fprintf(w, "\n  %s: %s\n", o.Name, strings.ReplaceAll(o.Help, "\n", "\n    "))
				fmt.Fprintf(w, "    flag --%s, env %s", remote.FlagName(t.Name, o), remote.EnvName(t.Name, o))
				switch {
				case o.Required:
					fmt.Fprint(w, "; required")
				case o.Default != "":
					fmt.Fprintf(w, "; default %s", o.Default)
				}
				if o.Secret {
					fmt.Fprint(w, "; secret (stored obscured)")
				}
				if o.Advanced {
					fmt.Fprint(w, "; advanced")
				}
				fmt.Fprintln(w)
			}
			return nil
		},
	})
	return cmd
}
