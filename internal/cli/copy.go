package cli

import (
	"context"

	"github.com/spf13/cobra"

	"ferry/internal/transfer"
)

// newCopyCommand builds "ferry copy", binding its flags to an options struct.
func newCopyCommand(g *globals) *cobra.Command {
	var o transferOptions
	cmd := &cobra.Command{
		Use:   "copy source:path dest:path",
		Short: "Copy files from source to dest, skipping identical files",
		Long: `Copy the source to the destination. Files that are identical on both sides
(same size and modification time, or with --checksum the same fingerprint)
are skipped; nothing is deleted. Like rclone, the contents of source:path
are copied into dest:path, not the directory itself:

    ferry copy /home/me/photos mega:photos

If source:path is a file, it is copied into the directory dest:path.
Use --dry-run first to see what would happen.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCopy(cmd.Context(), g, o, args)
		},
	}
	addTransferFlags(cmd.Flags(), &o)
	return cmd
}

// runCopy runs "ferry copy" with the parsed flags o and arguments args.
func runCopy(ctx context.Context, g *globals, o transferOptions, args []string) error {
	return runTransfer(ctx, g, o, args[0], args[1], transfer.Copy)
}
