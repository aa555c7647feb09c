// Command ferry is the ferry command-line tool.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"ferry/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal cancels ctx and the command winds down (exit
		// 130); a second one kills at once, as the default action does.
		<-ctx.Done()
		stop()
	}()
	code := cli.Run(ctx, os.Args[1:], cli.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
