package sqlstore

import (
	"fmt"
	"strings"

	"hangar/internal/core"
)

// machineFieldSQL maps every key of core.MachineFields to its SQL expression. usageRate is
// derived from the machine type and billing type.
var machineFieldSQL = map[string]string{
	"id": "id", "name": "name", "os": "os", "ram": "ram", "cpus": "cpus", "gpu": "gpu",
	"storageTotal": "storage_total", "storageUsed": "storage_used",
	"usageRate":              "(machine_type || ' ' || billing_type)",
	"shutdownTimeoutInHours": "shutdown_timeout_in_hours", "shutdownTimeoutForces": "shutdown_timeout_forces",
	"performAutoSnapshot": "perform_auto_snapshot", "autoSnapshotFrequency": "auto_snapshot_frequency",
	"autoSnapshotSaveCount": "auto_snapshot_save_count", "agentType": "agent_type", "dtCreated": "created",
	"state": "state", "updatesPending": "updates_pending", "networkId": "network_id",
	"privateIpAddress": "private_ip", "publicIpAddress": "public_ip", "region": "region",
	"userId": "user_id", "teamId": "team_id", "scriptId": "script_id", "dtLastRun": "last_run",
	"machineType": "machine_type", "dynamicPublicIp": "dynamic_public_ip", "isManaged": "is_managed",
	"restorePointSnapshotId": "restore_point_snapshot_id", "restorePointFrequency": "restore_point_frequency",
}

// MachineQuery translates q into one SELECT of the machine columns with its WHERE, ORDER BY,
// LIMIT and OFFSET, in dialect d, with numbered placeholders ($1, $2, …). Field names come
// from a fixed map and values are always bound, never spliced into the SQL.
func MachineQuery(q core.MachineQuery, d *Dialect) (string, []any, error) {
	if q.TeamID == "" {
		return "", nil, core.Errorf(core.Invalid, "a machine query needs a team")
	}
	var (
		where = []string{"team_id = $1", "deleted_at IS NULL"}
		args  = []any{q.TeamID}
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.VisibleTo != "" {
		p := arg(q.VisibleTo)
		where = append(where, fmt.Sprintf(
			"(user_id = %[1]s OR EXISTS (SELECT 1 FROM machine_access a WHERE a.machine_id = machines.id AND a.user_id = %[1]s))", p))
	}
	for _, f := range q.Where {
		col, kind, err := machineField(f.Field)
		if err != nil {
			return "", nil, err
		}
		if f.Value.Null {
			where = append(where, col+" IS NULL")
			continue
		}
		cast := ""
		if kind == core.KindInt {
			cast = d.IntCast
		}
		where = append(where, col+" = "+arg(filterArg(kind, f.Value))+cast)
	}
	if q.NameContains != "" {
		// LIKE on the folded name with the folded needle: case-insensitive for ASCII letters on
		// SQLite and case-sensitive on PostgreSQL, which the folding makes the same.
		where = append(where, fmt.Sprintf(d.FoldASCII, "name")+" LIKE "+arg("%"+likeEscape(foldASCII(q.NameContains))+"%")+` ESCAPE '\'`)
	}
	order := make([]string, 0, len(q.Order)+2)
	for _, o := range q.Order {
		col, _, err := machineField(o.Field)
		if err != nil {
			return "", nil, err
		}
		// Explicit NULL placement keeps SQLite and PostgreSQL in agreement.
		if o.Desc {
			order = append(order, col+" DESC NULLS LAST")
		} else {
			order = append(order, col+" ASC NULLS FIRST")
		}
	}
	if len(q.Order) == 0 {
		order = append(order, "created ASC")
	}
	order = append(order, "id ASC") // a total order, so Limit and Skip page deterministically
	if q.Limit < 0 || q.Skip < 0 {
		return "", nil, core.Errorf(core.Invalid, "limit and skip must not be negative")
	}
	limit := d.NoLimit
	if q.Limit > 0 {
		limit = int64(q.Limit)
	}
	query := machineSelect + " WHERE " + strings.Join(where, " AND ") + " ORDER BY " + strings.Join(order, ", ") +
		" LIMIT " + arg(limit) + " OFFSET " + arg(int64(q.Skip))
	return query, args, nil
}

// foldASCII lowers the ASCII letters of s, as Dialect.FoldASCII does in SQL.
func foldASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// likeEscape escapes the LIKE wildcards of s (and the escape character, '\').
var likeEscape = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace

func machineField(name string) (string, core.FieldKind, error) {
	kind, ok := core.MachineFields[name]
	col, ok2 := machineFieldSQL[name]
	if !ok || !ok2 {
		return "", 0, core.Errorf(core.Invalid, "unknown machine field %q", name)
	}
	return col, kind, nil
}

// filterArg returns the bound value of a non-null filter on a field of the given kind.
func filterArg(kind core.FieldKind, v core.FilterValue) any {
	switch kind {
	case core.KindInt, core.KindDigits:
		return v.Int
	case core.KindBool:
		return v.Bool
	case core.KindTime:
		return v.Time.UnixMilli()
	default:
		return v.Str
	}
}
