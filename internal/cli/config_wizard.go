package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"ferry/internal/backend"
	"ferry/internal/config"
	"ferry/internal/retry"
)

// wizard is the interactive "ferry config" session. Its questions and
// menus follow rclone's, so rclone users know them; everything goes to
// stdout and answers come from stdin (a terminal or a pipe).
type wizard struct {
	g   *globals
	out io.Writer
	p   *prompter
	f   *config.File
}

// choice is one lettered menu entry.
type choice struct {
	key  byte
	text string
}

func runConfigWizard(ctx context.Context, g *globals) error {
	f, err := g.configFile(ctx)
	if err != nil {
		return err
	}
	w := &wizard{g: g, out: g.stdio.Out, p: g.prompter(), f: f}
	return w.run(ctx)
}

func (w *wizard) printf(format string, args ...any) { fmt.Fprintf(w.out, format, args...) }

// run is the main menu loop.
func (w *wizard) run(ctx context.Context) error {
	for {
		var choices []choice
		if len(w.f.Names()) == 0 {
			w.printf("No remotes found, make a new one?\n")
			choices = []choice{{'n', "New remote"}, {'s', "Set configuration password"}, {'q', "Quit config"}}
		} else {
			w.listRemotes()
			choices = []choice{{'e', "Edit existing remote"}, {'n', "New remote"}, {'d', "Delete remote"},
				{'r', "Rename remote"}, {'c', "Copy remote"}, {'s', "Set configuration password"}, {'q', "Quit config"}}
		}
		c, err := w.choose(ctx, choices, 0)
		if err != nil {
			return err
		}
		switch c {
		case 'n':
			err = w.newRemote(ctx)
		case 'e':
			err = w.editRemote(ctx)
		case 'd':
			err = w.deleteRemote(ctx)
		case 'r':
			err = w.renameOrCopy(ctx, false)
		case 'c':
			err = w.renameOrCopy(ctx, true)
		case 's':
			err = w.setPassword(ctx)
		case 'q':
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (w *wizard) listRemotes() {
	w.printf("Current remotes:\n\n%-20s %s\n%-20s %s\n", "Name", "Type", "====", "====")
	for _, n := range w.f.Names() {
		w.printf("%-20s %s\n", n, w.f.Remote(n).Type())
	}
	w.printf("\n")
}

// line asks with prompt "label> " and returns the trimmed answer.
func (w *wizard) line(ctx context.Context, label string) (string, error) {
	s, err := w.p.ask(ctx, w.out, label+"> ", false)
	return strings.TrimSpace(s), err
}

// choose shows a lettered menu and returns the chosen letter; def (0 for
// none) is taken on an empty answer.
func (w *wizard) choose(ctx context.Context, choices []choice, def byte) (byte, error) {
	keys := make([]string, len(choices))
	for i, c := range choices {
		keys[i] = string(c.key)
		suffix := ""
		if c.key == def {
			suffix = " (default)"
		}
		w.printf("%c) %s%s\n", c.key, c.text, suffix)
	}
	for {
		a, err := w.line(ctx, strings.Join(keys, "/"))
		if err != nil {
			return 0, err
		}
		if a == "" && def != 0 {
			return def, nil
		}
		if len(a) == 1 {
			k := strings.ToLower(a)[0]
			if slices.ContainsFunc(choices, func(c choice) bool { return c.key == k }) {
				return k, nil
			}
		}
		w.printf("This value must be one of the following characters: %s.\n", strings.Join(keys, ", "))
	}
}

// yesNo asks a y/n question.
func (w *wizard) yesNo(ctx context.Context, question string, def byte) (bool, error) {
	w.printf("%s\n", question)
	c, err := w.choose(ctx, []choice{{'y', "Yes"}, {'n', "No"}}, def)
	return c == 'y', err
}

// pickRemote asks for an existing remote by number or name.
func (w *wizard) pickRemote(ctx context.Context) (string, error) {
	names := w.f.Names()
	w.printf("Choose a number from below, or type in an existing value.\n")
	for i, n := range names {
		w.printf("%2d > %s\n", i+1, n)
	}
	for {
		a, err := w.line(ctx, "remote")
		if err != nil {
			return "", err
		}
		if i, err := strconv.Atoi(a); err == nil && i >= 1 && i <= len(names) {
			return names[i-1], nil
		}
		if w.f.Remote(a) != nil {
			return a, nil
		}
		w.printf("Choose a number from 1 to %d, or a remote's name.\n", len(names))
	}
}

// newName asks for a name that is valid and not taken.
func (w *wizard) newName(ctx context.Context, question string) (string, error) {
	for {
		w.printf("%s\n", question)
		name, err := w.line(ctx, "name")
		if err != nil {
			return "", err
		}
		if err := config.CheckName(name); err != nil {
			w.printf("%s.\n", upperFirst(err.Error()))
			continue
		}
		if w.f.Remote(name) != nil {
			w.printf("Remote %q already exists.\n", name)
			continue
		}
		return name, nil
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (w *wizard) newRemote(ctx context.Context) error {
	name, err := w.newName(ctx, "Enter name for new remote.")
	if err != nil {
		return err
	}
	t, err := w.pickType(ctx)
	if err != nil {
		return err
	}
	r := config.NewRemote(name)
	if err := r.Set(config.KeyType, t.Name); err != nil {
		return err
	}
	if err := w.askServerFirst(ctx, r, t); err != nil {
		return err
	}
	return w.editOptions(ctx, r, t, false)
}

// askServerFirst asks for the server URL (an advanced option, asked
// last) before anything else when the type's default server cannot be
// reached: without network, or for a local server, the user sees why at
// once instead of after the credentials, and the check at the end does
// not spend its retries on a server that is not there.
func (w *wizard) askServerFirst(ctx context.Context, r *config.Remote, t backend.Type) error {
	o, ok := config.FindOption(t.Options, optionURL)
	if !ok || o.Default == "" {
		return nil
	}
	w.printf("\nChecking that %s can be reached...\n", o.Default)
	err := probeServer(ctx, o.Default)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	w.printf("The default server %s cannot be reached (%v).\n", o.Default, err)
	w.printf("\nOption %s.\n%s\n", o.Name, o.Help)
	return w.askValue(ctx, r, o)
}

// pickType asks for the storage type from the registry.
func (w *wizard) pickType(ctx context.Context) (backend.Type, error) {
	types := w.g.registry()
	w.printf("\nOption Storage.\nType of storage to configure.\nChoose a number from below, or type in your own value.\n")
	for i, t := range types {
		w.printf("%2d / %s\n   \\ (%s)\n", i+1, t.Description, t.Name)
	}
	for {
		a, err := w.line(ctx, "Storage")
		if err != nil {
			return backend.Type{}, err
		}
		if i, err := strconv.Atoi(a); err == nil && i >= 1 && i <= len(types) {
			return types[i-1], nil
		}
		if i := slices.IndexFunc(types, func(t backend.Type) bool { return t.Name == a }); i >= 0 {
			return types[i], nil
		}
		w.printf("Choose a number from 1 to %d, or a type's name.\n", len(types))
	}
}

func (w *wizard) editRemote(ctx context.Context) error {
	name, err := w.pickRemote(ctx)
	if err != nil {
		return err
	}
	r := w.f.Remote(name).Clone()
	t, ok := w.g.resolver().Type(r.Type())
	if !ok {
		w.printf("Remote %q has unknown type %q; edit %s by hand or delete the remote.\n", name, r.Type(), w.f.Path())
		return nil
	}
	w.printf("Editing existing %q remote with options:\n", name)
	w.summary(r, t)
	return w.editOptions(ctx, r, t, true)
}

// editOptions asks for r's options, checks the credentials when the type
// can log in, and asks to keep, edit again or delete the remote. editing
// means r exists in the file already.
func (w *wizard) editOptions(ctx context.Context, r *config.Remote, t backend.Type, editing bool) error {
	for {
		if err := w.askOptions(ctx, r, t, false); err != nil {
			return err
		}
		if slices.ContainsFunc(t.Options, func(o backend.Option) bool { return o.Advanced }) {
			adv, err := w.yesNo(ctx, "\nEdit advanced config?", 'n')
			if err != nil {
				return err
			}
			if adv {
				if err := w.askOptions(ctx, r, t, true); err != nil {
					return err
				}
			}
		}
		if err := r.FillGenerated(t.Options); err != nil {
			return err
		}
		if t.Reconnect != nil {
			again, err := w.verify(ctx, r, t)
			if err != nil {
				return err
			}
			if again == 'e' {
				continue
			}
			if again == 'd' {
				return w.discard(r, editing)
			}
		}
		w.printf("\nConfiguration complete.\nOptions:\n")
		w.summary(r, t)
		w.printf("Keep this %q remote?\n", r.Name)
		c, err := w.choose(ctx, []choice{{'y', "Yes this is OK"}, {'e', "Edit this remote"}, {'d', "Delete this remote"}}, 'y')
		if err != nil {
			return err
		}
		switch c {
		case 'y':
			if err := w.f.Replace(r); err != nil {
				return err
			}
			if err := w.f.Save(); err != nil {
				return err
			}
			w.printf("\n")
			return nil
		case 'd':
			return w.discard(r, editing)
		}
	}
}

// discard drops a remote being created, or deletes one being edited.
func (w *wizard) discard(r *config.Remote, editing bool) error {
	if editing {
		return w.g.deleteRemote(w.f, r.Name)
	}
	// The credentials check may have cached a session for the new name.
	if dir := w.g.resolver().CacheDir(r.Name); dir != "" && w.f.Remote(r.Name) == nil {
		_ = os.RemoveAll(dir)
	}
	w.printf("\n")
	return nil
}

// summary lists r's options with secrets hidden.
func (w *wizard) summary(r *config.Remote, t backend.Type) {
	for _, k := range r.Keys() {
		v, _ := r.Get(k)
		if o, ok := config.FindOption(t.Options, k); ok && o.Secret {
			v = "*** ENCRYPTED ***"
		}
		w.printf("- %s: %s\n", k, v)
	}
}

// verify logs in once with r's options through the type's Reconnect
// (which also seeds the session cache). It returns 'y' to go on, 'e' to
// edit the options again or 'd' to delete the remote.
func (w *wizard) verify(ctx context.Context, r *config.Remote, t backend.Type) (byte, error) {
	cfg, err := r.Values(t.Options)
	if err == nil {
		w.printf("\nLogging in to check the credentials...\n")
		ctx = retry.WithObserver(ctx, printRetries(w.out))
		var env backend.Env
		if env, err = w.g.resolver().EnvFor(r.Name); err == nil {
			env.Prompt = func(ctx context.Context, question string, secret bool) (string, error) {
				return w.p.ask(ctx, w.out, strings.TrimRight(question, " ")+" ", secret)
			}
			err = t.Reconnect(ctx, r.Name, cfg, env)
		}
	}
	if err == nil {
		w.printf("Logged in.\n")
		return 'y', nil
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	w.printf("Login failed: %v\n", err)
	return w.choose(ctx, []choice{{'e', "Edit this remote"}, {'y', "Keep it anyway"}, {'d', "Delete this remote"}}, 'e')
}

// askOptions asks each option (advanced or not) in declaration order.
func (w *wizard) askOptions(ctx context.Context, r *config.Remote, t backend.Type, advanced bool) error {
	for _, o := range t.Options {
		if o.Advanced != advanced || o.Generated {
			continue
		}
		w.printf("\nOption %s.\n%s\n", o.Name, o.Help)
		var err error
		if o.Secret {
			err = w.askSecret(ctx, r, o)
		} else {
			err = w.askValue(ctx, r, o)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *wizard) askValue(ctx context.Context, r *config.Remote, o backend.Option) error {
	cur, has := r.Get(o.Name)
	if len(o.Examples) > 0 {
		w.printf("Choose a number from below, or type in your own value.\n")
		for i, e := range o.Examples {
			w.printf("%2d / %s\n", i+1, e)
		}
	}
	kind := "a value"
	if o.Bool {
		kind = "a boolean value (true or false)"
	}
	switch {
	case has:
		w.printf("Enter %s. Press Enter to keep the current value (%s).\n", kind, cur)
	case o.Default != "":
		w.printf("Enter %s. Press Enter for the default (%s).\n", kind, o.Default)
	case !o.Required:
		w.printf("Enter %s. Press Enter to leave empty.\n", kind)
	default:
		w.printf("Enter %s.\n", kind)
	}
	for {
		a, err := w.line(ctx, o.Name)
		if err != nil {
			return err
		}
		if a == "" {
			if has || o.Default != "" || !o.Required {
				return nil
			}
			w.printf("This value is required and it has no default.\n")
			continue
		}
		if i, err := strconv.Atoi(a); err == nil && i >= 1 && i <= len(o.Examples) {
			a = o.Examples[i-1]
		}
		if o.Bool {
			b, err := strconv.ParseBool(a)
			if err != nil {
				w.printf("Enter true or false.\n")
				continue
			}
			a = strconv.FormatBool(b)
		}
		return r.SetValue(o, a)
	}
}

func (w *wizard) askSecret(ctx context.Context, r *config.Remote, o backend.Option) error {
	_, has := r.Get(o.Name)
	choices := []choice{{'y', "Yes, type in my own password"}, {'g', "Generate random password"}}
	var def byte
	if has {
		choices = append([]choice{{'k', "Keep the current password"}}, choices...)
		def = 'k'
	}
	if !o.Required {
		choices = append(choices, choice{'n', "No, leave this optional password blank"})
		if def == 0 {
			def = 'n'
		}
	}
	w.printf("Choose an alternative below.\n")
	for {
		c, err := w.choose(ctx, choices, def)
		if err != nil {
			return err
		}
		switch c {
		case 'k':
			return nil
		case 'n':
			r.Unset(o.Name)
			return nil
		case 'y':
			pw, err := w.g.newPassword(ctx, w.out, "Enter the password:", "Confirm the password:")
			if err != nil {
				return err
			}
			if pw == "" && o.Required {
				w.printf("This value is required.\n")
				continue
			}
			return r.SetValue(o, pw)
		case 'g':
			pw, err := generatePassword()
			if err != nil {
				return err
			}
			w.printf("Your password is: %s\nUse this password? Please never use this password again!\n", pw)
			c, err := w.choose(ctx, []choice{{'y', "Yes (default)"}, {'n', "No"}}, 'y')
			if err != nil {
				return err
			}
			if c == 'y' {
				return r.SetValue(o, pw)
			}
		}
	}
}

// generatePassword returns 128 random bits in URL-safe base64.
func generatePassword() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (w *wizard) deleteRemote(ctx context.Context) error {
	name, err := w.pickRemote(ctx)
	if err != nil {
		return err
	}
	return w.g.deleteRemote(w.f, name)
}

func (w *wizard) renameOrCopy(ctx context.Context, copyIt bool) error {
	old, err := w.pickRemote(ctx)
	if err != nil {
		return err
	}
	q := fmt.Sprintf("Enter new name for %q remote.", old)
	if copyIt {
		q = fmt.Sprintf("Enter name for copy of %q remote.", old)
	}
	name, err := w.newName(ctx, q)
	if err != nil {
		return err
	}
	if copyIt {
		err = w.f.Copy(old, name)
	} else {
		err = w.f.Rename(old, name)
	}
	if err != nil {
		return err
	}
	if err := w.f.Save(); err != nil {
		return err
	}
	if !copyIt {
		w.g.renameCache(old, name)
	}
	return nil
}

// setPassword is the configuration password menu.
func (w *wizard) setPassword(ctx context.Context) error {
	for {
		var choices []choice
		if w.f.Encrypted() {
			w.printf("Your configuration is encrypted.\n")
			choices = []choice{{'c', "Change Password"}, {'u', "Unencrypt configuration"}, {'q', "Quit to main menu"}}
		} else {
			w.printf("Your configuration is not encrypted.\nIf you add a password, you will protect your login information to cloud services.\n")
			choices = []choice{{'a', "Add Password"}, {'q', "Quit to main menu"}}
		}
		c, err := w.choose(ctx, choices, 0)
		if err != nil {
			return err
		}
		switch c {
		case 'q':
			return nil
		case 'u':
			if err := w.f.SetPassword(""); err != nil {
				return err
			}
			if err := w.f.Save(); err != nil {
				return err
			}
			w.printf("Password removed\n")
		case 'a', 'c':
			pw, err := w.g.newPassword(ctx, w.out, "Enter NEW configuration password:", "Confirm NEW configuration password:")
			if err != nil {
				return err
			}
			if pw == "" {
				w.printf("Empty password: nothing changed.\n")
				continue
			}
			if err := w.f.SetPassword(pw); err != nil {
				return err
			}
			if err := w.f.Save(); err != nil {
				return err
			}
			w.printf("Password set\n")
		}
	}
}
