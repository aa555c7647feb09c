package cli

import (
	"context"

	"github.com/spf13/cobra"

	"ferry/internal/transfer"
)

// newMoveCommand builds "ferry move", binding its flags to an options struct.
func newMoveCommand(g *globals) *cobra.Command {
	var o transferOptions
	cmd := &cobra.Command{
		Use:   "move source:path dest:path",
		Short: "Move files from source to dest",
		Long: `Move the contents of the source to the destination. Each source file is
deleted once its copy is verified, or when the destination already has an
identical file. Within one remote that can move, files are moved
server-side without copying data. Source directories are left in place.

move deletes data from the source: try it with --dry-run first.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMove(cmd.Context(), g, o, args)
		},
	}
	addTransferFlags(cmd.Flags(), &o)
	return cmd
}

// runMove runs "ferry move" with the parsed flags o and arguments args.
func runMove(ctx context.Context, g *globals, o transferOptions, args []string) error {
	if err := g.refuseLink(args[0]); err != nil {
		return err // a move deletes its source
	}
	return runTransfer(ctx, g, o, args[0], args[1], transfer.Move)
}
