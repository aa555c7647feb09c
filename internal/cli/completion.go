package cli

import (
	"context"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"ferry/internal/remote"
)

// Shell completion is cobra's ("ferry completion bash|zsh|fish|
// powershell" prints the script); these functions make it complete
// remote names ("pho" -> "photos:") and paths inside remotes
// ("photos:20" -> "photos:2024/"), listing the remote as a command would.

// completionTimeout bounds a completion's listing: a shell waits for it.
const completionTimeout = 10 * time.Second

// noRemoteArgs are the top-level commands whose arguments are not
// remote paths.
var noRemoteArgs = []string{"config", "serve", "help", "completion", "version", "obscure", "listremotes",
	"rc", "rcd", "gendocs", "quickstart", "umount"}

// remoteNameArgs are the config subcommands that take a remote's name.
var remoteNameArgs = []string{"show", "update", "delete", "reconnect", "password"}

// addCompletions sets the argument completion of every command below
// root that has none.
func addCompletions(g *globals, root *cobra.Command) {
	for _, c := range root.Commands() {
		switch {
		case c.Name() == "config":
			for _, sub := range c.Commands() {
				if slices.Contains(remoteNameArgs, sub.Name()) && sub.ValidArgsFunction == nil {
					sub.ValidArgsFunction = g.completeRemoteName
				}
			}
		case slices.Contains(noRemoteArgs, c.Name()) || c.HasSubCommands():
		case c.ValidArgsFunction == nil:
			c.ValidArgsFunction = g.completeRemotePath
		}
	}
}

// completeRemoteName completes the first argument with the names of the
// config file's remotes.
func (g *globals) completeRemoteName(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := g.remoteNames(cmd, toComplete)
	for i, n := range names {
		names[i] = strings.TrimSuffix(n, ":")
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// completeRemotePath completes "remote:path" arguments: a word without a
// colon gets the remote names that start with it (and the shell's file
// completion when none does), a word with one gets the entries of the
// directory it names on that remote, directories ending in "/".
func (g *globals) completeRemotePath(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	g.log.level = slog.LevelError // no setup ran: log only errors, on stderr, which shells ignore
	name, p, err := remote.Parse(toComplete)
	if err != nil || name == "" || strings.HasPrefix(name, ":") {
		if strings.ContainsAny(toComplete, "/.~") || strings.Contains(toComplete, ":") {
			return nil, cobra.ShellCompDirectiveDefault // a local path, a link or a connection string
		}
		names := g.remoteNames(cmd, toComplete)
		if len(names) == 0 {
			return nil, cobra.ShellCompDirectiveDefault
		}
		return names, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	}
	dir, prefix := "", p
	if i := strings.LastIndex(p, "/"); i >= 0 {
		dir, prefix = p[:i], p[i+1:]
	}
	ctx, cancel := context.WithTimeout(completionContext(cmd), completionTimeout)
	defer cancel()
	ref, err := g.openRemote(ctx, name+":"+dir)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	defer ref.Close()
	entries, err := ref.Backend.List(ctx, ref.Path)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	var out []cobra.Completion
	for _, e := range entries {
		base := path.Base(e.Path)
		if !strings.HasPrefix(base, prefix) {
			continue
		}
		c := name + ":" + base
		if dir != "" {
			c = name + ":" + dir + "/" + base
		}
		if e.IsDir {
			c += "/"
		}
		out = append(out, c)
	}
	slices.Sort(out)
	out = slices.Compact(out) // MEGA allows two files with one name
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

// remoteNames returns "name:" for the remotes whose name starts with
// prefix.
func (g *globals) remoteNames(cmd *cobra.Command, prefix string) []string {
	g.log.level = slog.LevelError
	f, err := g.configFile(completionContext(cmd))
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range f.Names() {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n+":")
		}
	}
	return out
}

// completionContext is the command's context, or a background one.
func completionContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
