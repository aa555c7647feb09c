// Package config is ferry's remotes file: an INI file with one section per
// remote, like rclone's rclone.conf.
//
//	[photos]
//	type = mega
//	user = alice@example.com
//	pass = 3Xk9…   (obscured, see Obscure)
//
// The default location is $XDG_CONFIG_HOME/ferry/ferry.conf (or
// ~/.config/ferry/ferry.conf), overridden by $FERRY_CONFIG and the --config
// flag (see DefaultPath).
//
// # Format
//
// Blank lines and lines starting with '#' or ';' are ignored (comments are
// kept on save). "[name]" starts a remote; "key = value" lines set its
// options. Values are taken literally after trimming spaces, except that a
// value starting with a double quote is a Go-quoted string, which is how
// values with leading or trailing spaces or control characters are written.
// Any other line is an error naming the file and the line:
//
//	/home/alice/.config/ferry/ferry.conf:7: expected "key = value"
//
// # Secrets
//
// Options declared Secret (passwords) are stored obscured: AES-CTR with a
// key built into ferry, so a casual glance at the file does not reveal them.
// This is not encryption; anyone with ferry can Reveal them. To protect the
// file, set a configuration password (File.SetPassword): the whole file is
// then encrypted with XChaCha20-Poly1305 under a key derived with argon2id,
// and written as a header line and base64 text (see encrypt.go).
//
// # Saving
//
// Save writes atomically (temporary file, fsync, rename) with mode 0600. A
// file that failed to load has no *File, so it is never overwritten, and
// Save refuses to replace a file that changed on disk since it was loaded.
package config
