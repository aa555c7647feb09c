package cli

import (
	"context"

	"github.com/spf13/cobra"

	"ferry/internal/transfer"
)

// newSyncCommand builds "ferry sync", binding its flags to an options struct.
func newSyncCommand(g *globals) *cobra.Command {
	var o transferOptions
	cmd := &cobra.Command{
		Use:   "sync source:path dest:path",
		Short: "Make dest identical to source, deleting extra files in dest",
		Long: `Sync the source to the destination: copy new and changed files, then delete
destination files the source does not have (and directories they leave
empty). Deletion happens only after all transfers succeeded, and not at all
if anything failed (--delete-before and --delete-during change when;
--max-delete N caps how many). Files excluded by filters are neither
copied nor deleted (--delete-excluded deletes them). --backup-dir keeps
what would be replaced or deleted; --track-renames moves renamed files
instead of uploading them again.

sync can delete data: try it with --dry-run first.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSync(cmd.Context(), g, o, args)
		},
	}
	addTransferFlags(cmd.Flags(), &o)
	return cmd
}

// runSync runs "ferry sync" with the parsed flags o and arguments args.
func runSync(ctx context.Context, g *globals, o transferOptions, args []string) error {
	return runTransfer(ctx, g, o, args[0], args[1], transfer.Sync)
}
