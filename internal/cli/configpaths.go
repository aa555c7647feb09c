package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newConfigPathsCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "paths",
		Short: "Show the paths of the config file, the cache and temporary directories",
		Long: `Show where ferry keeps things: the config file (--config,
$FERRY_CONFIG), the cache of sessions and trees (--cache-dir,
$FERRY_CACHE_DIR), the temporary directory ($TMPDIR) and the data
directories of "ferry serve mega" and "ferry serve mediafire".`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(g.stdio.Out, "Config file: %s\nCache dir:   %s\nTemp dir:    %s\nServer data: %s (mega), %s (mediafire)\n",
				g.configPath(), g.cacheRoot(), os.TempDir(), defaultServerDir(), serverDataDir("mediafireserver"))
			return err
		},
	}
}
