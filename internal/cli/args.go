package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// commandFirst moves the command words of args (the program name left
// out) in front of the flags that precede them, so that a flag may come
// anywhere, as in rclone: "ferry -P copy src m:x" runs as "ferry copy -P
// src m:x". cobra takes flags after the command and between arguments
// itself, but before the command it knows only the root's own flags: it
// takes an unknown "-P" for a flag with a value and "src" for the command.
//
// A flag before the command is looked up among the flags of the commands
// found so far, then among those of every command below: whether it takes
// a value decides whether the word after it is that value. The first word
// that names no subcommand ends the walk; what follows it is left as it
// is, except after a command that only groups others (annotationGroup):
// there the word is an unknown command, and it is all that is kept, so
// the error names it rather than the flags meant for it. Completion
// requests (cobra's __complete) are left alone.
func commandFirst(root *cobra.Command, args []string) []string {
	if len(args) == 0 || strings.HasPrefix(args[0], "__complete") {
		return args
	}
	// cobra adds its help and completion commands at Execute; add them
	// now, so that the walk finds them (InitDefault* add each once).
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var words, rest []string
	cmd := root
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' {
			rest = append(rest, a)
			if flagNeedsValue(cmd, a) && i+1 < len(args) {
				rest = append(rest, args[i+1])
				i++
			}
			continue
		}
		sub := subcommand(cmd, a)
		if sub == nil {
			if isGroup(cmd) {
				// A group (ferry, serve, config) refuses the word, so
				// it is an unknown command: left alone, cobra would fail
				// first on the flags meant for it ("ferry -P src dst":
				// unknown flag -P). The word alone makes the error name it.
				return append(words, a)
			}
			rest = append(rest, args[i:]...)
			break
		}
		words = append(words, a)
		cmd = sub
	}
	return append(words, rest...)
}

// subcommand returns cmd's subcommand called name (or aliased so), or nil.
func subcommand(cmd *cobra.Command, name string) *cobra.Command {
	for _, c := range cmd.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			return c
		}
	}
	return nil
}

// flagNeedsValue reports whether tok, a flag word ("-x", "--name",
// "-abc"), takes the next word as its value.
func flagNeedsValue(cmd *cobra.Command, tok string) bool {
	if strings.HasPrefix(tok, "--") {
		name := tok[2:]
		if strings.Contains(name, "=") {
			return false
		}
		f := findFlag(cmd, func(fs *pflag.FlagSet) *pflag.Flag { return fs.Lookup(name) })
		return f != nil && f.NoOptDefVal == ""
	}
	// Shorthands may be grouped: in "-vn 3" only the last one may take
	// the next word, and a letter taking a value ends the group.
	letters := tok[1:]
	for i := range len(letters) {
		if letters[i] == '=' {
			return false
		}
		c := letters[i : i+1]
		f := findFlag(cmd, func(fs *pflag.FlagSet) *pflag.Flag { return fs.ShorthandLookup(c) })
		if f != nil && f.NoOptDefVal == "" {
			return i == len(letters)-1
		}
	}
	return false
}

// findFlag looks a flag up in cmd and its parents, then in every command
// below cmd (depth first, in the order they were added).
func findFlag(cmd *cobra.Command, lookup func(*pflag.FlagSet) *pflag.Flag) *pflag.Flag {
	for c := cmd; c != nil; c = c.Parent() {
		if f := lookup(c.LocalFlags()); f != nil {
			return f
		}
		if f := lookup(c.PersistentFlags()); f != nil {
			return f
		}
	}
	var below func(*cobra.Command) *pflag.Flag
	below = func(c *cobra.Command) *pflag.Flag {
		for _, sub := range c.Commands() {
			if f := lookup(sub.LocalFlags()); f != nil {
				return f
			}
			if f := below(sub); f != nil {
				return f
			}
		}
		return nil
	}
	return below(cmd)
}

// groupArgs is the Args of a command that only groups others (ferry,
// serve): a word that names none of them is a usage error naming what
// the word was taken for ("command", "protocol").
func groupArgs(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		var names []string
		for _, c := range cmd.Commands() {
			if c.IsAvailableCommand() {
				names = append(names, c.Name())
			}
		}
		if cmd.SuggestionsMinimumDistance <= 0 {
			cmd.SuggestionsMinimumDistance = 2
		}
		hint := ""
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			hint = fmt.Sprintf("; did you mean %s?", strings.Join(s, " or "))
		} else if what != "command" {
			hint = fmt.Sprintf(" (known: %s)", strings.Join(names, ", "))
		}
		return usagef("unknown %s %q for %q%s (see %q)", what, args[0], cmd.CommandPath(), hint, cmd.CommandPath()+" --help")
	}
}

// annotationGroup marks a command that only groups others (its Args are
// groupArgs): ferry, serve, config.
const annotationGroup = "ferry/group"

// isGroup reports whether cmd is marked with annotationGroup.
func isGroup(cmd *cobra.Command) bool {
	_, ok := cmd.Annotations[annotationGroup]
	return ok
}

// groupRun is the RunE of such a command: without arguments it prints its
// help.
func groupRun(cmd *cobra.Command, _ []string) error { return cmd.Help() }
