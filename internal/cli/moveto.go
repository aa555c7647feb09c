package cli

import (
	"context"

	"github.com/spf13/cobra"

	"ferry/internal/transfer"
)

// newMovetoCommand builds "ferry moveto", binding its flags to an options struct.
func newMovetoCommand(g *globals) *cobra.Command {
	var o transferOptions
	cmd := &cobra.Command{
		Use:   "moveto source:path dest:path",
		Short: "Move a file or directory from source to dest under a new name",
		Long: `Move one file to a destination path that names the file itself, e.g. to
rename it:

    ferry moveto mega:old-name.txt mega:new-name.txt

If source:path is a directory, moveto behaves like move.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMoveto(cmd.Context(), g, o, args)
		},
	}
	addTransferFlags(cmd.Flags(), &o)
	return cmd
}

// runMoveto runs "ferry moveto" with the parsed flags o and arguments args.
func runMoveto(ctx context.Context, g *globals, o transferOptions, args []string) error {
	if err := g.refuseLink(args[0]); err != nil {
		return err // a move deletes its source
	}
	return runTransfer(ctx, g, o, args[0], args[1], fileOrTree(transfer.MoveFile, transfer.Move))
}
