// Command hangar is the Hangar machine cloud: `hangar serve` runs the control plane with the
// Paperspace Core API, `hangar admin …` manages it through the operator API.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"hangar/internal/cli"
)

// root is the command line.
type root struct {
	Version kong.VersionFlag `help:"Print the version of this binary and exit."`

	Serve ServeCmd  `cmd:"" help:"Run the Hangar control plane (Paperspace Core API on --listen)."`
	Agent AgentCmd  `cmd:"" help:"Run this host's machines for a control plane: join with a token, dial out, execute operations with the local driver."`
	Admin cli.Admin `cmd:"" help:"Manage teams, users, keys, templates, networks and hosts, and report usage, through the operator API."`
	Help  HelpCmd   `cmd:"" help:"Show help for a command (hangar help admin keys): the same as --help."`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args and runs the chosen command; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		// A usage error like any other (exit 2), but one line instead of the whole usage.
		fmt.Fprintln(stderr, "hangar: no command given: run `hangar --help` for the commands, or `hangar serve` to start a server")
		return 2
	}
	var r root
	exit := -1
	parser, err := newParser(&r, stdout, stderr, ctx, kong.Exit(func(c int) { exit = c }))
	if err != nil {
		fmt.Fprintln(stderr, "hangar:", err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if exit >= 0 { // --help
		return exit
	}
	if err != nil {
		fmt.Fprintln(stderr, "hangar:", err)
		return 2
	}
	if err := kctx.Run(); err != nil {
		cli.PrintError(stderr, err)
		return cli.ExitCode(err)
	}
	return 0
}

// newParser builds the kong parser for r.
func newParser(r *root, stdout, stderr io.Writer, ctx context.Context, opts ...kong.Option) (*kong.Kong, error) {
	opts = append([]kong.Option{kong.Name("hangar"),
		kong.Description("Hangar: a self-hosted machine cloud that speaks the Paperspace Core API."),
		kong.UsageOnError(), kong.Writers(stdout, stderr), kong.Vars{"version": version()},
		kong.Bind(&cli.Globals{Ctx: ctx, Stdout: stdout, Stderr: stderr})}, opts...)
	return kong.New(r, opts...)
}
