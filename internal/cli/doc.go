// Package cli implements `hangar admin …`, the operator commands, as kong commands over the
// operator API client (package client).
//
// The root kong struct lives in cmd/hangar. It embeds Admin as a command and binds *Globals:
//
//	type root struct {
//		Admin cli.Admin `cmd:"" help:"Manage teams, users, keys, templates, networks and hosts."`
//	}
//
//	parser := kong.Must(&r, kong.Name("hangar"), kong.Bind(&cli.Globals{Ctx: ctx, Stdout: os.Stdout, Stderr: os.Stderr}))
//	kctx, err := parser.Parse(os.Args[1:])
//	parser.FatalIfErrorf(err)
//	if err := kctx.Run(); err != nil {
//		cli.PrintError(os.Stderr, err)
//		os.Exit(cli.ExitCode(err))
//	}
//
// Every leaf command has a method Run(g *Globals, a *Admin) error; kong binds *Admin itself
// because it is a parent node of the selected command.
package cli
