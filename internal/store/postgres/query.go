package postgres

import (
	"hangar/internal/core"
	"hangar/internal/store/sqlq"
)

// machineFieldSQL maps every key of core.MachineFields to its SQL expression.
var machineFieldSQL = sqlq.MachineFieldSQL

// buildMachineQuery translates q into one SELECT with numbered placeholders.
func buildMachineQuery(q core.MachineQuery) (string, []any, error) {
	return sqlq.MachineQuery(machineSelect, q, sqlq.Dialect{IntCast: "::bigint", NoLimit: nil})
}
