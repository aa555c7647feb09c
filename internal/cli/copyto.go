package cli

import (
	"context"

	"github.com/spf13/cobra"

	"ferry/internal/transfer"
)

// newCopytoCommand builds "ferry copyto", binding its flags to an options struct.
func newCopytoCommand(g *globals) *cobra.Command {
	var o transferOptions
	cmd := &cobra.Command{
		Use:   "copyto source:path dest:path",
		Short: "Copy a file from source to dest under a new name, skipping it if identical",
		Long: `Copy one file to a destination path that names the file itself:

    ferry copyto mega:notes/today.txt /tmp/backup-of-today.txt

If source:path is a directory, copyto behaves like copy.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCopyto(cmd.Context(), g, o, args)
		},
	}
	addTransferFlags(cmd.Flags(), &o)
	return cmd
}

// runCopyto runs "ferry copyto" with the parsed flags o and arguments args.
func runCopyto(ctx context.Context, g *globals, o transferOptions, args []string) error {
	return runTransfer(ctx, g, o, args[0], args[1], fileOrTree(transfer.CopyFile, transfer.Copy))
}

// fileOrTree runs file when the source is a file and tree otherwise (the
// -to commands).
func fileOrTree(file, tree transferFunc) transferFunc {
	return func(ctx context.Context, src, dst transfer.Location, opts transfer.Options) error {
		st, err := src.Backend.Stat(ctx, src.Path)
		if err == nil && st.IsDir {
			return tree(ctx, src, dst, opts)
		}
		return file(ctx, src, dst, opts)
	}
}
