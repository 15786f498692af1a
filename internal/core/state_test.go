package core

import "testing"

// TestNextState pins the transition table of spec §3.2 for every state and action.
func TestNextState(t *testing.T) {
	const rej, noop = "400", "noop"
	table := map[State][3]string{ // start, stop, restart
		StateProvisioning: {rej, rej, rej},
		StateStarting:     {noop, "stopping", rej},
		StateServiceReady: {noop, "stopping", "restarting"},
		StateReady:        {noop, "stopping", "restarting"},
		StateStopping:     {rej, noop, rej},
		StateOff:          {"starting", noop, rej},
		StateRestarting:   {noop, "stopping", "restarting"},
		StateUpgrading:    {rej, rej, rej},
	}
	if len(table) != len(States()) {
		t.Fatal("table does not cover every state")
	}
	for from, row := range table {
		for i, action := range []Action{ActionStart, ActionStop, ActionRestart} {
			next, outcome := NextState(from, action)
			var got string
			switch outcome {
			case OutcomeReject:
				got = rej
			case OutcomeNoop:
				got = noop
				if next != from {
					t.Errorf("%s/%s: no-op changed the state to %s", from, action, next)
				}
			case OutcomeMove:
				got = string(next)
			}
			if got != row[i] {
				t.Errorf("%s + %s = %s, want %s", from, action, got, row[i])
			}
		}
	}
}

func TestStateValid(t *testing.T) {
	for _, s := range States() {
		if !s.Valid() {
			t.Errorf("%s not valid", s)
		}
	}
	if State("running").Valid() {
		t.Error("running must not be a state (spec §3.1)")
	}
}

func TestCatalogApply(t *testing.T) {
	c := DefaultCatalog()
	if len(c.Types) != 19 {
		t.Fatalf("%d machine types, want 19", len(c.Types))
	}
	if err := c.Apply([]byte(`{"machineTypes":{"C4":{"cpus":2,"hourlyRate":"0.10"}},"storageRates":{"500":"20.00"}}`)); err != nil {
		t.Fatal(err)
	}
	if *c.Types["C4"].CPUs != 2 || *c.Types["C4"].HourlyRate != "0.10" || c.StorageRates[500] != "20.00" {
		t.Fatal("overrides not applied")
	}
	for _, bad := range []string{
		`{"machineTypes":{"C11":{}}}`, `{"machineTypes":{"C4":{"hourlyRate":"0.1"}}}`,
		`{"storageRates":{"60":"1.00"}}`, `{"unknown":1}`, `not json`,
	} {
		if err := DefaultCatalog().Apply([]byte(bad)); err == nil {
			t.Errorf("Apply(%s) accepted", bad)
		}
	}
}

func TestAllowedOn(t *testing.T) {
	c := DefaultCatalog()
	for name, mt := range c.Types {
		win, lin := mt.AllowedOn(OSWindows), mt.AllowedOn(OSLinux)
		switch mt.Class {
		case "cpu":
			if win || !lin {
				t.Errorf("%s: windows=%v linux=%v", name, win, lin)
			}
		case "grid":
			if !win || lin {
				t.Errorf("%s: windows=%v linux=%v", name, win, lin)
			}
		default:
			if !win || !lin {
				t.Errorf("%s: windows=%v linux=%v", name, win, lin)
			}
		}
	}
}
