package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newListremotesCommand(g *globals) *cobra.Command {
	var long bool
	cmd := &cobra.Command{
		Use:   "listremotes",
		Short: "List all the remotes in the config file",
		Long: `List the remotes of the config file, one "name:" a line, in the order
of the file; --long adds each one's type and description.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := g.configFile(cmd.Context())
			if err != nil {
				return err
			}
			if !long {
				for _, name := range f.Names() {
					fmt.Fprintf(g.stdio.Out, "%s:\n", name)
				}
				return nil
			}
			tw := tabwriter.NewWriter(g.stdio.Out, 0, 0, 1, ' ', 0)
			for _, name := range f.Names() {
				r := f.Remote(name)
				if desc, _ := r.Get("description"); desc != "" {
					fmt.Fprintf(tw, "%s:\t%s\t%s\n", name, r.Type(), desc)
				} else {
					fmt.Fprintf(tw, "%s:\t%s\n", name, r.Type())
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&long, "long", false, "show the type and the description as well as the names")
	return cmd
}
