package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// readPassword reads a password from g's standard input: the first line of it, or, on a
// terminal, the answer to a prompt on standard error, typed without echo. A password never
// comes from the command line, where other users of the host could read it.
func readPassword(g *Globals) (string, error) {
	in := io.Reader(os.Stdin)
	if g != nil && g.Stdin != nil {
		in = g.Stdin
	}
	if f, ok := in.(*os.File); ok {
		if restore, ok := noEcho(f); ok {
			errOut := io.Writer(os.Stderr)
			if g != nil && g.Stderr != nil {
				errOut = g.Stderr
			}
			printf(errOut, "New password: ")
			defer printf(errOut, "\n")
			defer restore()
		}
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input: pipe it in (echo \"$PW\" | hangar admin users update USER --password) or type it at the prompt")
	}
	return pw, nil
}
