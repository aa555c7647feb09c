package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"ferry/internal/backend"
	"ferry/internal/config"
	"ferry/internal/remote"
)

func newConfigCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Enter an interactive configuration session",
		Long: `Enter an interactive configuration session where you can set up new
remotes and manage existing ones. You may also set or remove a password to
protect your configuration.

The remotes live in the config file (see "ferry config file"): INI
sections with a "type" and the type's options. Passwords are stored
obscured, or the whole file is encrypted with a configuration password
(asked for on the terminal, or taken from $FERRY_CONFIG_PASS).`,
		Args:        groupArgs("command"),
		Annotations: map[string]string{annotationGroup: ""},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runConfigWizard(cmd.Context(), g)
		},
	}
	cmd.AddCommand(
		newConfigCreateCommand(g),
		newConfigUpdateCommand(g),
		newConfigShowCommand(g),
		newConfigDeleteCommand(g),
		newConfigDumpCommand(g),
		newConfigReconnectCommand(g),
		newConfigFileCommand(g),
		newConfigPasswordCommand(g),
		newConfigProvidersCommand(g),
		newConfigPathsCommand(g),
	)
	return cmd
}

// configFile returns the loaded config file, shared with openRemote.
func (g *globals) configFile(ctx context.Context) (*config.File, error) {
	return g.resolver().File(ctx)
}

// backendType returns the registered type called name.
func (g *globals) backendType(name string) (backend.Type, error) {
	t, ok := g.resolver().Type(name)
	if !ok {
		names := make([]string, 0, len(g.registry()))
		for _, t := range g.registry() {
			names = append(names, t.Name)
		}
		return t, usagef("unknown backend type %q (known: %s)", name, strings.Join(names, ", "))
	}
	return t, nil
}

// existingRemote returns remote name of f, or a usage error.
func existingRemote(f *config.File, name string) (*config.Remote, error) {
	r := f.Remote(name)
	if r == nil {
		return nil, usagef("remote %q not found in %s (run \"ferry config\")", name, f.Path())
	}
	return r, nil
}

// obscureMode says how "config create/update" treat secret values.
type obscureMode struct {
	obscure   bool // --obscure: obscure (the default)
	noObscure bool // --no-obscure: values are already obscured
	noCheck   bool // config create --no-check: save without opening the remote
}

func (o *obscureMode) addFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&o.obscure, "obscure", false, "obscure the passwords given (the default)")
	cmd.Flags().BoolVar(&o.noObscure, "no-obscure", false, "force any passwords not to be obscured (they are given obscured)")
}

// pair is one key=value argument.
type pair struct{ key, value string }

// parsePairs reads "key=value" and "key value" arguments, as rclone does.
func parsePairs(args []string) ([]pair, error) {
	var out []pair
	for i := 0; i < len(args); i++ {
		if k, v, ok := strings.Cut(args[i], "="); ok {
			out = append(out, pair{k, v})
			continue
		}
		if i+1 == len(args) {
			return nil, usagef("option %q has no value (want key=value)", args[i])
		}
		out = append(out, pair{args[i], args[i+1]})
		i++
	}
	return out, nil
}

// apply sets pairs on r, a remote of type t. Secrets are obscured, or,
// with --no-obscure, taken as already obscured (and refused if they are
// not): what a value looks like never decides, so a long alphanumeric
// password is never stored as if it were obscured. An empty value unsets
// the option.
func (o obscureMode) apply(r *config.Remote, t backend.Type, pairs []pair) error {
	if o.obscure && o.noObscure {
		return usagef("--obscure and --no-obscure exclude each other")
	}
	for _, p := range pairs {
		if p.key == config.KeyType {
			if p.value != t.Name {
				return usagef("remote %q: the type cannot be changed (create a new remote)", r.Name)
			}
			continue
		}
		if p.key == config.KeyDescription {
			if err := r.Set(p.key, p.value); err != nil {
				return usageError{err}
			}
			continue
		}
		opt, ok := config.FindOption(t.Options, p.key)
		if !ok {
			return usageError{&config.OptionError{Remote: r.Name, Option: p.key, Err: fmt.Errorf("%w for type %s", config.ErrUnknownOption, t.Name)}}
		}
		v := p.value
		if opt.Secret && v != "" && o.noObscure {
			if !config.IsObscured(v) {
				return usageError{&config.OptionError{Remote: r.Name, Option: p.key, Err: config.ErrNotObscured}}
			}
			if err := r.Set(p.key, v); err != nil {
				return usageError{err}
			}
			continue
		}
		if err := r.SetValue(opt, v); err != nil {
			return usageError{err}
		}
	}
	return nil
}

// checkRequired reports the first required option r lacks.
// storeRemote applies pairs to r, checks it, fills generated options,
// and writes it into f (saved) unless ctx ended; then prints it. config
// create and config update end with it.
func (g *globals) storeRemote(ctx context.Context, f *config.File, r *config.Remote, t backend.Type, o obscureMode, pairs []pair, check bool) error {
	if err := o.apply(r, t, pairs); err != nil {
		return err
	}
	if err := checkRequired(r, t); err != nil {
		return err
	}
	if err := r.FillGenerated(t.Options); err != nil {
		return err
	}
	if check {
		if err := g.checkRemote(ctx, f, r, t); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := f.Replace(r); err != nil {
		return err
	}
	if err := f.Save(); err != nil {
		return err
	}
	printRemote(g.stdio.Out, r)
	return nil
}

func checkRequired(r *config.Remote, t backend.Type) error {
	for _, o := range t.Options {
		if _, ok := r.Get(o.Name); o.Required && !ok && o.Default == "" {
			return usageError{&config.OptionError{Remote: r.Name, Option: o.Name, Err: config.ErrRequired}}
		}
	}
	return nil
}

// printRemote writes r as its INI section, secrets obscured.
func printRemote(w io.Writer, r *config.Remote) {
	fmt.Fprintf(w, "[%s]\n", r.Name)
	for _, k := range r.Keys() {
		v, _ := r.Get(k)
		fmt.Fprintf(w, "%s = %s\n", k, v)
	}
}

func newConfigCreateCommand(g *globals) *cobra.Command {
	var o obscureMode
	cmd := &cobra.Command{
		Use:   "create NAME TYPE [KEY=VALUE]...",
		Short: "Create a new remote with name, type and options",
		Long: `Create a new remote with name, type and options, for example

    ferry config create photos mega user=alice@example.com pass=secret

Passwords are obscured before they are stored (--obscure, the default);
with --no-obscure they are taken as already obscured ("ferry obscure"
makes such values).

The remote is opened once before it is saved, as a command would open it:
for MEGA and MediaFire that is a login, which checks the credentials and
the server URL (and caches the session for the next command). A remote
that fails the check is not saved; --no-check saves it without
contacting anything.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usagef("%s needs NAME and TYPE (see %q)", cmd.CommandPath(), cmd.CommandPath()+" --help")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConfigCreate(cmd.Context(), g, o, args)
		},
	}
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&o.noCheck, "no-check", false, "save the remote without opening it (no login, no credentials check)")
	return cmd
}

func runConfigCreate(ctx context.Context, g *globals, o obscureMode, args []string) error {
	name, typ := args[0], args[1]
	if err := config.CheckName(name); err != nil {
		return usageError{err}
	}
	t, err := g.backendType(typ)
	if err != nil {
		return err
	}
	pairs, err := parsePairs(args[2:])
	if err != nil {
		return err
	}
	f, err := g.configFile(ctx)
	if err != nil {
		return err
	}
	if f.Remote(name) != nil {
		return usagef("remote %q already exists in %s (use \"ferry config update\")", name, f.Path())
	}
	r := config.NewRemote(name)
	if err := r.Set(config.KeyType, t.Name); err != nil {
		return err
	}
	return g.storeRemote(ctx, f, r, t, o, pairs, !o.noCheck)
}

func newConfigUpdateCommand(g *globals) *cobra.Command {
	var o obscureMode
	cmd := &cobra.Command{
		Use:   "update NAME KEY=VALUE...",
		Short: "Update options of an existing remote",
		Long: `Update options of an existing remote, for example

    ferry config update photos hard_delete=true

An empty value (key=) removes the option, so its default applies.
Passwords are obscured as in "ferry config create". An update that
changes how the remote connects (a required option such as the user, a
password, or the server url) is checked as "ferry config create" checks
a new remote: opened once (for MEGA and MediaFire a login), and not
saved if that fails; --no-check saves it without contacting anything.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usagef("%s needs NAME and at least one KEY=VALUE (see %q)", cmd.CommandPath(), cmd.CommandPath()+" --help")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConfigUpdate(cmd.Context(), g, o, args, false)
		},
	}
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&o.noCheck, "no-check", false, "save the changes without opening the remote (no login, no credentials check)")
	return cmd
}

// runConfigUpdate updates a remote's options; secretsOnly is "config
// password NAME KEY=VALUE", which accepts only secret options.
func runConfigUpdate(ctx context.Context, g *globals, o obscureMode, args []string, secretsOnly bool) error {
	name := strings.TrimSuffix(args[0], ":")
	pairs, err := parsePairs(args[1:])
	if err != nil {
		return err
	}
	f, err := g.configFile(ctx)
	if err != nil {
		return err
	}
	old, err := existingRemote(f, name)
	if err != nil {
		return err
	}
	t, err := g.backendType(old.Type())
	if err != nil {
		return err
	}
	if secretsOnly {
		for _, p := range pairs {
			if opt, ok := config.FindOption(t.Options, p.key); ok && !opt.Secret {
				return usagef("remote %q: option %q is not a password (use \"ferry config update\")", name, p.key)
			}
		}
	}
	r := old.Clone()
	return g.storeRemote(ctx, f, r, t, o, pairs, !o.noCheck && changesConnection(t, pairs))
}

// changesConnection reports whether pairs set an option that decides how
// a remote of type t connects: a required one (the user), a password, or
// the server url. Other options (hard_delete=true) are saved without a
// login, which MEGA counts against the account.
func changesConnection(t backend.Type, pairs []pair) bool {
	for _, p := range pairs {
		opt, ok := config.FindOption(t.Options, p.key)
		if ok && !opt.Generated && (opt.Required || opt.Secret || opt.Name == optionURL) {
			return true
		}
	}
	return false
}

func newConfigShowCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show [NAME]",
		Short: "Print the (decrypted) config file, or the config for a single remote",
		Long: `Print the config file, decrypted if it is encrypted, or the section of
a single remote. Passwords are shown obscured, as stored.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("%s takes at most one remote name", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := g.configFile(cmd.Context())
			if err != nil {
				return err
			}
			if len(args) == 0 {
				if len(f.Names()) == 0 {
					fmt.Fprintln(g.stdio.Out, "; empty config")
					return nil
				}
				_, err := g.stdio.Out.Write(f.Bytes())
				return err
			}
			r, err := existingRemote(f, strings.TrimSuffix(args[0], ":"))
			if err != nil {
				return err
			}
			printRemote(g.stdio.Out, r)
			return nil
		},
	}
}

func newConfigDeleteCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an existing remote",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := g.configFile(cmd.Context())
			if err != nil {
				return err
			}
			name := strings.TrimSuffix(args[0], ":")
			if _, err := existingRemote(f, name); err != nil {
				return err
			}
			return g.deleteRemote(f, name)
		},
	}
}

// deleteRemote removes remote name, saves, and removes its cache (a MEGA
// session should not outlive its remote).
func (g *globals) deleteRemote(f *config.File, name string) error {
	f.Delete(name)
	if err := f.Save(); err != nil {
		return err
	}
	if dir := g.resolver().CacheDir(name); dir != "" {
		if err := os.RemoveAll(dir); err != nil {
			g.logger().Warn("remove cache", "dir", dir, "err", err)
		}
	}
	return nil
}

// renameCache moves remote old's cache directory to remote name's.
func (g *globals) renameCache(old, name string) {
	from, to := g.resolver().CacheDir(old), g.resolver().CacheDir(name)
	if from == "" || to == "" {
		return
	}
	if err := os.Rename(from, to); err != nil && !errors.Is(err, fs.ErrNotExist) {
		g.logger().Warn("rename cache", "from", from, "to", to, "err", err)
	}
}

func newConfigDumpCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "dump",
		Short: "Dump the config file as JSON",
		Long:  `Dump the remotes as a JSON object of objects. Passwords are obscured.`,
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := g.configFile(cmd.Context())
			if err != nil {
				return err
			}
			all := map[string]map[string]string{}
			for _, n := range f.Names() {
				all[n] = f.Remote(n).Map()
			}
			b, err := json.MarshalIndent(all, "", "    ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdio.Out, "%s\n", b)
			return err
		},
	}
}

func newConfigReconnectCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "reconnect NAME:",
		Short: "Log in to a remote afresh, replacing its cached session",
		Long: `Drop the remote's cached session and log in once, asking for a
two-factor PIN if the account needs one. Use it after changing the
account's password, or when the session was logged out elsewhere.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConfigReconnect(cmd.Context(), g, args[0])
		},
	}
}

func runConfigReconnect(ctx context.Context, g *globals, arg string) error {
	name, p, err := remote.Parse(arg)
	if err == nil && name == "" {
		name, p = arg, "" // "NAME" without the colon
	}
	if err != nil {
		return usageError{err}
	}
	if p != "" {
		return usagef("%q: reconnect takes a remote name (%q), not a path", arg, name+":")
	}
	res := g.resolver()
	res.Env.Prompt = g.backendPrompt(true) // this command is interactive on any stdin
	if err := res.Reconnect(ctx, name); err != nil {
		return remoteError(err)
	}
	fmt.Fprintf(g.stdio.Out, "Logged in to remote %q; session saved.\n", name)
	return nil
}

func newConfigFileCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "file",
		Short: "Show path of configuration file in use",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := g.configPath()
			if _, err := os.Stat(path); err != nil {
				fmt.Fprintf(g.stdio.Out, "Configuration file doesn't exist, but ferry will use this path:\n%s\n", path)
				return nil
			}
			fmt.Fprintf(g.stdio.Out, "Configuration file is stored at:\n%s\n", path)
			return nil
		},
	}
}

// configPasswordOptions are the flags of "ferry config password".
type configPasswordOptions struct {
	remove bool
	obscureMode
}

func newConfigPasswordCommand(g *globals) *cobra.Command {
	var o configPasswordOptions
	cmd := &cobra.Command{
		Use:   "password [NAME KEY=VALUE...]",
		Short: "Set, change or remove the configuration password",
		Long: `Without arguments, set or change the configuration password that
encrypts the whole config file, or remove it with --remove. The current
password comes from $FERRY_CONFIG_PASS or the terminal; the new one is
asked twice on a terminal, or read as one line from standard input.

With arguments, update password options of a remote as rclone's
"config password" does: "ferry config password photos pass=secret".`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				if len(args) < 2 || o.remove {
					return usagef("%s NAME KEY=VALUE...: needs a remote and its passwords, without --remove", cmd.CommandPath())
				}
				return runConfigUpdate(cmd.Context(), g, o.obscureMode, args, true)
			}
			return runConfigPassword(cmd.Context(), g, o)
		},
	}
	cmd.Flags().BoolVar(&o.remove, "remove", false, "remove the configuration password (store the file unencrypted)")
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&o.noCheck, "no-check", false, "with NAME KEY=VALUE: save the passwords without opening the remote")
	return cmd
}

func runConfigPassword(ctx context.Context, g *globals, o configPasswordOptions) error {
	f, err := g.configFile(ctx)
	if err != nil {
		return err
	}
	if o.remove {
		if !f.Encrypted() {
			return usagef("%s is not encrypted", f.Path())
		}
		if err := f.SetPassword(""); err != nil {
			return err
		}
		if err := f.Save(); err != nil {
			return err
		}
		fmt.Fprintln(g.stdio.Out, "Configuration password removed; the file is no longer encrypted.")
		return nil
	}
	pw, err := g.newPassword(ctx, g.stdio.Err, "Enter NEW configuration password:", "Confirm NEW configuration password:")
	if err != nil {
		return err
	}
	if pw == "" {
		return usagef("empty configuration password (use --remove to remove it)")
	}
	if err := f.SetPassword(pw); err != nil {
		return err
	}
	if err := f.Save(); err != nil {
		return err
	}
	fmt.Fprintf(g.stdio.Out, "Configuration password set; %s is encrypted.\n", f.Path())
	return nil
}

// newPassword reads a new password: twice, hidden, on a terminal (asking
// again when they differ), or one line from other input.
func (g *globals) newPassword(ctx context.Context, w io.Writer, ask, confirm string) (string, error) {
	p := g.prompter()
	for {
		if p.terminal() {
			fmt.Fprintln(w, ask)
		}
		p1, err := p.ask(ctx, w, passwordPrompt(p), true)
		if err != nil || !p.terminal() {
			return p1, err
		}
		fmt.Fprintln(w, confirm)
		p2, err := p.ask(ctx, w, passwordPrompt(p), true)
		if err != nil {
			return "", err
		}
		if p1 == p2 {
			return p1, nil
		}
		fmt.Fprintln(w, "Passwords do not match!")
	}
}

// passwordPrompt is the prompt before a password: "password:" on a
// terminal, nothing when answers come from a pipe.
func passwordPrompt(p *prompter) string {
	if p.terminal() {
		return "password:"
	}
	return ""
}

func newConfigProvidersCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "providers",
		Short: "List in JSON format all the backend types and their options",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			type opt struct {
				Name, Help, Default, Flag, Env   string
				Secret, Advanced, Required, Bool bool
				Examples                         []string `json:",omitempty"`
			}
			type typ struct {
				Name, Description string
				Options           []opt
				Reconnect         bool
			}
			var out []typ
			for _, t := range g.registry() {
				tt := typ{Name: t.Name, Description: t.Description, Options: []opt{}, Reconnect: t.Reconnect != nil}
				for _, o := range t.Options {
					tt.Options = append(tt.Options, opt{o.Name, o.Help, o.Default, "--" + remote.FlagName(t.Name, o), remote.EnvName(t.Name, o),
						o.Secret, o.Advanced, o.Required, o.Bool, slices.Clone(o.Examples)})
				}
				out = append(out, tt)
			}
			b, err := json.MarshalIndent(out, "", "    ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdio.Out, "%s\n", b)
			return err
		},
	}
}
