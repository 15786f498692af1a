package cli

import (
	"io"

	"hangar/api"
)

// SimCmd is `hangar admin sim`.
type SimCmd struct {
	Faults FaultsCmd `cmd:"" help:"Inject failures into the sim driver."`
}

// FaultsCmd is `hangar admin sim faults`.
type FaultsCmd struct {
	List FaultsListCmd `cmd:"" help:"List pending faults."`
	Add  FaultsAddCmd  `cmd:"" help:"Make the next N operations of one kind fail."`
}

// FaultsListCmd is `hangar admin sim faults list`.
type FaultsListCmd struct{}

// Run lists pending faults.
func (c *FaultsListCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	fs, err := s.api.ListFaults(s.ctx)
	if err != nil {
		return err
	}
	return s.table(fs, "ACTION\tREMAINING\tMESSAGE", func(w io.Writer) {
		for _, f := range fs {
			printf(w, "%s\t%d\t%s\n", f.Action, f.Remaining, f.Message)
		}
	})
}

// FaultsAddCmd is `hangar admin sim faults add`.
type FaultsAddCmd struct {
	Action  string `required:"" placeholder:"ACTION" help:"Operation to fail: create, start, stop or restart."`
	Count   int    `default:"1" placeholder:"N" help:"How many of the next such operations fail (default: ${default})."`
	Message string `placeholder:"TEXT" help:"Error message the failed operations report."`
}

// Run adds a fault.
func (c *FaultsAddCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	f, err := s.api.AddFault(s.ctx, api.AddFaultRequest{Action: c.Action, Count: c.Count, Message: c.Message})
	if err != nil {
		return err
	}
	return s.emit(f, func(w io.Writer) {
		printf(w, "added fault: the next %d %s operation(s) fail\n", f.Remaining, f.Action)
	})
}
