package main

import (
	"runtime/debug"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// version describes this binary: `hangar --version`.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return versionOf(nil)
	}
	return versionOf(info)
}

// versionOf renders build information as "hangar VERSION [(REVISION TIME[, modified])] GO":
// the module version when the binary was built from a tagged module or a VCS checkout (a
// pseudo-version such as v0.0.0-20261203074225-43b005d89c9e+dirty names the commit itself),
// "devel" otherwise (go run, go test, -buildvcs=false), and the VCS revision and commit time
// when the build recorded them but the version does not show them.
func versionOf(info *debug.BuildInfo) string {
	if info == nil {
		return "hangar devel"
	}
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	var rev, at string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	out := "hangar " + v
	rev = rev[:min(len(rev), 12)]
	if rev != "" && !strings.Contains(v, rev) { // a pseudo-version already names its commit
		out += " (" + rev
		if at != "" {
			out += " " + at
		}
		if modified {
			out += ", modified"
		}
		out += ")"
	}
	if info.GoVersion != "" {
		out += " " + info.GoVersion
	}
	return out
}

// HelpCmd is `hangar help [COMMAND…]`: the same as `hangar [COMMAND…] --help`.
type HelpCmd struct {
	Command []string `arg:"" optional:"" help:"Command to show help for, e.g. admin keys."`
}

// Run prints the help of the command named by h.Command (the whole program's without one).
func (h *HelpCmd) Run(ctx *kong.Context) error {
	k := ctx.Kong
	exit, helped := k.Exit, false
	k.Exit = func(code int) { helped = true; exit(code) }
	defer func() { k.Exit = exit }()
	_, err := k.Parse(append(slices.Clone(h.Command), "--help"))
	if helped {
		return nil
	}
	return err
}
