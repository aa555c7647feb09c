package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"
)

// errNoInput reports that stdin ended while ferry was waiting for an answer.
var errNoInput = errors.New("unexpected end of input while waiting for an answer")

// prompter reads answers from stdin: one line at a time, and passwords
// without echo when stdin is a terminal. One prompter serves a whole run,
// so lines buffered from a pipe are not lost between questions.
type prompter struct {
	mu  sync.Mutex // serialises questions
	in  *bufio.Reader
	tty *os.File // stdin when it is a terminal, else nil
}

func newPrompter(in io.Reader) *prompter {
	p := &prompter{in: bufio.NewReader(in)}
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = f
	}
	return p
}

// terminal reports whether answers come from a terminal.
func (p *prompter) terminal() bool { return p.tty != nil }

// ask writes question to w and reads the answer, hiding it on a terminal
// when secret. The answer has its line ending removed.
func (p *prompter) ask(ctx context.Context, w io.Writer, question string, secret bool) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if secret && p.tty != nil {
		// Echo goes off before the question shows, so an answer typed
		// (or pasted) the moment it shows is never echoed.
		restore := echoOff(int(p.tty.Fd()))
		defer restore()
		fmt.Fprint(w, question)
		s, err := p.readPassword(ctx)
		fmt.Fprintln(w)
		return s, err
	}
	fmt.Fprint(w, question)
	return p.readLine(ctx)
}

type answer struct {
	s   string
	err error
}

// readLine reads one line, giving up when ctx ends. The read itself cannot
// be interrupted: after a cancellation its goroutine ends with stdin.
func (p *prompter) readLine(ctx context.Context) (string, error) {
	ch := make(chan answer, 1)
	go func() {
		s, err := p.in.ReadString('\n')
		if err == io.EOF && s != "" {
			err = nil
		}
		if err == io.EOF {
			err = errNoInput
		}
		ch <- answer{strings.TrimRight(s, "\r\n"), err}
	}()
	select {
	case a := <-ch:
		return a.s, a.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// readPassword reads a line with echo off, restoring the terminal if ctx
// ends first (Ctrl-C cancels ctx rather than killing ferry).
func (p *prompter) readPassword(ctx context.Context) (string, error) {
	fd := int(p.tty.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return "", err
	}
	ch := make(chan answer, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		ch <- answer{string(b), err}
	}()
	select {
	case a := <-ch:
		if errors.Is(a.err, io.EOF) {
			a.err = errNoInput
		}
		return a.s, a.err
	case <-ctx.Done():
		_ = term.Restore(fd, state)
		return "", ctx.Err()
	}
}

// prompter returns the run's prompter.
func (g *globals) prompter() *prompter {
	g.rem.promptOnce.Do(func() { g.rem.prompt = newPrompter(g.stdio.In) })
	return g.rem.prompt
}

// backendPrompt is backend.Env.Prompt: questions (a two-factor PIN) go to
// stderr and answers come from the terminal. It is nil unless stdin is a
// terminal or interactive is set (ferry config asks on any stdin).
func (g *globals) backendPrompt(interactive bool) func(ctx context.Context, question string, secret bool) (string, error) {
	p := g.prompter()
	if !p.terminal() && !interactive {
		return nil
	}
	return func(ctx context.Context, question string, secret bool) (string, error) {
		q := strings.TrimRight(question, " ")
		if !strings.HasSuffix(q, ">") && !strings.HasSuffix(q, ":") && !strings.HasSuffix(q, "?") {
			q += ":"
		}
		return p.ask(ctx, g.stdio.Err, q+" ", secret)
	}
}
