package sqlstore

import (
	"testing"

	"hangar/internal/core"
)

func TestMachineFieldSQLCoversCore(t *testing.T) {
	for f := range core.MachineFields {
		if _, ok := machineFieldSQL[f]; !ok {
			t.Errorf("core.MachineFields has %q, machineFieldSQL does not", f)
		}
	}
	for f := range machineFieldSQL {
		if _, ok := core.MachineFields[f]; !ok {
			t.Errorf("machineFieldSQL has %q, core.MachineFields does not", f)
		}
	}
}
