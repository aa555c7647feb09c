//go:build !linux

package cli

// echoOff does nothing here: term.ReadPassword turns echo off as it reads.
func echoOff(int) (restore func()) { return func() {} }
