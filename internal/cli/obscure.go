package cli

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"ferry/internal/config"
)

func newObscureCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "obscure PASSWORD",
		Short: "Obscure a password for use in the config file",
		Long: `Print PASSWORD obscured, as the config file stores secrets, for
"ferry config create --no-obscure" or a hand-written config file. With
"-" as PASSWORD, the first line of stdin is read instead, so the
password stays out of the process list and the shell history.

Obscuring is not encryption: anyone with ferry can reveal the value.
"ferry config password" encrypts the whole file.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw := args[0]
			if pw == "-" {
				line, err := bufio.NewReader(g.stdio.In).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("read the password from stdin: %w", err)
				}
				pw = strings.TrimRight(line, "\r\n")
			}
			v, err := config.Obscure(pw)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(g.stdio.Out, v)
			return err
		},
	}
}
