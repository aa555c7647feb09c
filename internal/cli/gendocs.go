package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func newGendocsCommand(g *globals) *cobra.Command {
	var markdown bool
	cmd := &cobra.Command{
		Use:   "gendocs DIR",
		Short: "Write a man page for every command into DIR",
		Long: `Write ferry's manual into DIR, created if needed: one man page per
command (ferry.1, ferry-copy.1, ferry-config-create.1, ...), from the
same text as --help. Install them with, for example,
"sudo cp DIR/*.1 /usr/local/share/man/man1/". --markdown writes Markdown
pages instead.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true // no date line: the pages of one version are the same
			var err error
			if markdown {
				err = doc.GenMarkdownTree(root, dir)
			} else {
				err = doc.GenManTree(root, &doc.GenManHeader{Title: "FERRY", Section: "1", Source: "ferry " + versionString(), Manual: "ferry manual"}, dir)
			}
			if err != nil {
				return fmt.Errorf("gendocs: %w", err)
			}
			fmt.Fprintf(g.stdio.Out, "Wrote the manual into %s\n", dir)
			return nil
		},
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "write Markdown pages instead of man pages")
	return cmd
}
