package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"ferry/internal/backup/repo"
)

// envBackupNewPassword holds the new password of "backup key add" and
// "backup key passwd" when --new-password-file is not given.
const envBackupNewPassword = "FERRY_BACKUP_NEW_PASSWORD"

// keyOptions are the flags of "ferry backup key ...".
type keyOptions struct {
	repo            repoFlags
	newPasswordFile string
}

func newBackupKeyCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key list|add|remove|passwd REMOTE:path",
		Short: "Manage the passwords (keys) of a backup repository",
		Long: `A repository's data is encrypted with one master key, which each keys/
object wraps under one password (Argon2id). Several passwords can open the
same repository; removing one never touches the data.

    ferry backup key list REMOTE:path            the keys, the one in use marked *
    ferry backup key add REMOTE:path             add a key for a new password
    ferry backup key remove REMOTE:path ID       remove a key (a unique prefix of its ID)
    ferry backup key passwd REMOTE:path          change the password in use

The current password comes from --password-file, $` + envBackupPassword + ` or a
prompt; a new one from --new-password-file, $` + envBackupNewPassword + ` or a
prompt (asked twice). remove refuses the key in use and the last key.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("%s: unknown subcommand %q: want list, add, remove or passwd", cmd.CommandPath(), args[0])
			}
			return usagef("%s needs a subcommand: list, add, remove or passwd (see %q)", cmd.CommandPath(), cmd.CommandPath()+" --help")
		},
		RunE: func(*cobra.Command, []string) error { return nil },
	}
	sub := func(use, short string, nargs int, run func(context.Context, keyOptions, []string) error) *cobra.Command {
		var o keyOptions
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  exactArgs(nargs),
			RunE: func(c *cobra.Command, args []string) error {
				return backupExit(run(c.Context(), o, args))
			},
		}
		addRepoFlags(c.Flags(), &o.repo)
		if strings.HasPrefix(use, "add") || strings.HasPrefix(use, "passwd") {
			c.Flags().StringVar(&o.newPasswordFile, "new-password-file", "", "read the new password from this file (else env "+envBackupNewPassword+", else a prompt)")
		}
		return c
	}
	cmd.AddCommand(
		sub("list REMOTE:path", "List the keys of a repository", 1, func(ctx context.Context, o keyOptions, args []string) error {
			return runKeyList(ctx, g, o, args[0])
		}),
		sub("add REMOTE:path", "Add a key for a new password", 1, func(ctx context.Context, o keyOptions, args []string) error {
			return runKeyAdd(ctx, g, o, args[0])
		}),
		sub("remove REMOTE:path ID", "Remove a key (not the one in use, not the last)", 2, func(ctx context.Context, o keyOptions, args []string) error {
			return runKeyRemove(ctx, g, o, args[0], args[1])
		}),
		sub("passwd REMOTE:path", "Change the password in use: add a key for the new one, remove the old", 1, func(ctx context.Context, o keyOptions, args []string) error {
			return runKeyPasswd(ctx, g, o, args[0])
		}),
	)
	return cmd
}

// keyJSON is one key in --json output.
type keyJSON struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Host    string    `json:"host,omitempty"`
	User    string    `json:"user,omitempty"`
	Current bool      `json:"current"`
}

func runKeyList(ctx context.Context, g *globals, o keyOptions, arg string) error {
	ctx, r, err := g.openBackupRepo(ctx, arg, o.repo, false)
	if err != nil {
		return err
	}
	defer r.Close()
	keys, err := r.Keys(ctx)
	if err != nil {
		return err
	}
	if o.repo.json {
		out := make([]keyJSON, 0, len(keys))
		for _, k := range keys {
			out = append(out, keyJSON{k.ID, k.Created, k.Host, k.User, k.Current})
		}
		return writeJSON(g.stdio.Out, out)
	}
	tw := tabwriter.NewWriter(g.stdio.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, " \tID\tCreated\tUser\tHost")
	for _, k := range keys {
		cur := " "
		if k.Current {
			cur = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cur, shortKey(k.ID), k.Created.Local().Format(time.DateTime), k.User, k.Host)
	}
	return tw.Flush()
}

// shortKey is the first 8 characters of a key ID, as list shows it.
func shortKey(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// newBackupPassword returns the new password of key add and passwd.
func (g *globals) newBackupPassword(ctx context.Context, o keyOptions) ([]byte, error) {
	if o.newPasswordFile != "" {
		b, err := os.ReadFile(o.newPasswordFile)
		if err != nil {
			return nil, usagef("--new-password-file: %v", err)
		}
		b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
		if len(b) == 0 {
			return nil, usagef("--new-password-file %s: the file is empty", o.newPasswordFile)
		}
		return b, nil
	}
	if pw := os.Getenv(envBackupNewPassword); pw != "" {
		return []byte(pw), nil
	}
	p := g.prompter()
	if !p.terminal() {
		return nil, usagef("no new password: use --new-password-file FILE, set %s, or run on a terminal to be asked", envBackupNewPassword)
	}
	pw, err := p.ask(ctx, g.stdio.Err, "enter the new password: ", true)
	if err != nil {
		return nil, err
	}
	again, err := p.ask(ctx, g.stdio.Err, "enter the new password again: ", true)
	if err != nil {
		return nil, err
	}
	switch {
	case pw == "":
		return nil, usagef("empty password")
	case pw != again:
		return nil, usagef("the passwords do not match")
	}
	return []byte(pw), nil
}

func runKeyAdd(ctx context.Context, g *globals, o keyOptions, arg string) error {
	ctx, r, err := g.openBackupRepo(ctx, arg, o.repo, false)
	if err != nil {
		return err
	}
	defer r.Close()
	pw, err := g.newBackupPassword(ctx, o)
	if err != nil {
		return err
	}
	k, err := r.AddKey(ctx, pw)
	clear(pw)
	if err != nil {
		return err
	}
	if o.repo.json {
		return writeJSON(g.stdio.Out, keyJSON{k.ID, k.Created, k.Host, k.User, false})
	}
	fmt.Fprintf(g.stdio.Out, "added key %s\n", shortKey(k.ID))
	return nil
}

func runKeyRemove(ctx context.Context, g *globals, o keyOptions, arg, id string) error {
	ctx, r, err := g.openBackupRepo(ctx, arg, o.repo, false)
	if err != nil {
		return err
	}
	defer r.Close()
	keys, err := r.Keys(ctx)
	if err != nil {
		return err
	}
	var found []repo.KeyInfo
	for _, k := range keys {
		if strings.HasPrefix(k.ID, id) {
			found = append(found, k)
		}
	}
	switch {
	case id == "" || len(found) == 0:
		return usagef("no key ID starts with %q (see \"ferry backup key list %s\")", id, arg)
	case len(found) > 1:
		return usagef("key %q: more than one key ID starts with it (%s, %s)", id, shortKey(found[0].ID), shortKey(found[1].ID))
	}
	if err := r.RemoveKey(ctx, found[0].ID); err != nil {
		return err
	}
	if !o.repo.json {
		fmt.Fprintf(g.stdio.Out, "removed key %s\n", shortKey(found[0].ID))
		return nil
	}
	return writeJSON(g.stdio.Out, map[string]string{"removed": found[0].ID})
}

func runKeyPasswd(ctx context.Context, g *globals, o keyOptions, arg string) error {
	ctx, r, err := g.openBackupRepo(ctx, arg, o.repo, false)
	if err != nil {
		return err
	}
	defer r.Close()
	pw, err := g.newBackupPassword(ctx, o)
	if err != nil {
		return err
	}
	err = r.ChangePassword(ctx, pw)
	clear(pw)
	if err != nil {
		return err
	}
	if !o.repo.json {
		fmt.Fprintln(g.stdio.Out, "changed the password: the old key is removed")
		return nil
	}
	return writeJSON(g.stdio.Out, map[string]bool{"changed": true})
}
