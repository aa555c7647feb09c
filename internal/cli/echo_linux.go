package cli

import "golang.org/x/sys/unix"

// echoOff turns a terminal's echo off and returns what turns it back on
// (term.ReadPassword turns it off only once it reads, after the prompt
// has been written).
func echoOff(fd int) (restore func()) {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}
	}
	old := *t
	t.Lflag &^= unix.ECHO
	if unix.IoctlSetTermios(fd, unix.TCSETS, t) != nil {
		return func() {}
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, &old) }
}
