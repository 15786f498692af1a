package sqlstore

import (
	"fmt"
	"strings"
	"time"

	"hangar/internal/core"
)

// machineCols are the columns of a core.Machine except internal_id, in the order of
// machineArgs and scanMachine.
var machineCols = []string{
	"id", "name", "team_id", "user_id", "region", "machine_type", "billing_type", "template_id", "size_gb",
	"os", "ram", "cpus", "gpu", "storage_total", "storage_used", "agent_type",
	"shutdown_timeout_in_hours", "shutdown_timeout_forces", "perform_auto_snapshot",
	"auto_snapshot_frequency", "auto_snapshot_save_count", "dynamic_public_ip", "is_managed",
	"updates_pending", "network_id", "private_ip", "public_ip", "script_id", "last_run",
	"notification_mail", "take_initial_snapshot", "restore_point_snapshot_id", "restore_point_frequency",
	"state", "host_id", "holds_capacity", "booted", "op_event", "phase_since", "next_at", "attempts", "created",
	"mark_restore_point", "shutdown_at", "snapshot_at",
}

func machineArgs(m *core.Machine) []any {
	return []any{
		m.ID, m.Name, m.TeamID, m.UserID, m.Region, m.MachineType, m.BillingType, m.TemplateID, m.SizeGB,
		m.OS, m.RAM, m.CPUs, m.GPU, m.StorageTotal, m.StorageUsed,
		m.AgentType, m.ShutdownTimeoutInHours, m.ShutdownTimeoutForces, m.PerformAutoSnapshot,
		m.AutoSnapshotFrequency, m.AutoSnapshotSaveCount, m.DynamicPublicIP, m.IsManaged,
		m.UpdatesPending, m.NetworkID, m.PrivateIP, m.PublicIP, m.ScriptID,
		nullMS(m.LastRun), m.NotificationMail, m.TakeInitialSnapshot, m.RestorePointSnapshotID,
		m.RestorePointFrequency, m.State, m.HostID, m.HoldsCapacity, m.Booted, m.OpEvent,
		ms(m.PhaseSince), nullMS(m.NextAt), m.Attempts, ms(m.Created),
		m.MarkRestorePoint, nullMS(m.ShutdownAt), nullMS(m.SnapshotAt),
	}
}

func scanMachine(s Row) (core.Machine, error) {
	var m core.Machine
	err := s.Scan(&m.InternalID,
		&m.ID, &m.Name, &m.TeamID, &m.UserID, &m.Region, &m.MachineType, &m.BillingType, &m.TemplateID, &m.SizeGB,
		&m.OS, &m.RAM, &m.CPUs, &m.GPU, &m.StorageTotal, &m.StorageUsed,
		&m.AgentType, &m.ShutdownTimeoutInHours, &m.ShutdownTimeoutForces, &m.PerformAutoSnapshot,
		&m.AutoSnapshotFrequency, &m.AutoSnapshotSaveCount, &m.DynamicPublicIP, &m.IsManaged,
		&m.UpdatesPending, &m.NetworkID, &m.PrivateIP, &m.PublicIP, &m.ScriptID,
		nullTimeCol{&m.LastRun}, &m.NotificationMail, &m.TakeInitialSnapshot,
		&m.RestorePointSnapshotID, &m.RestorePointFrequency, &m.State, &m.HostID,
		&m.HoldsCapacity, &m.Booted, &m.OpEvent, timeCol{&m.PhaseSince}, nullTimeCol{&m.NextAt}, &m.Attempts,
		timeCol{&m.Created}, &m.MarkRestorePoint, nullTimeCol{&m.ShutdownAt}, nullTimeCol{&m.SnapshotAt})
	return m, err
}

// SQL built once from machineCols.
var (
	machineSelect = "SELECT internal_id, " + strings.Join(machineCols, ", ") + " FROM machines"
	machineInsert = "INSERT INTO machines (" + strings.Join(machineCols, ", ") + ") VALUES (" +
		placeholders(1, len(machineCols)) + ") ON CONFLICT DO NOTHING RETURNING internal_id"
	machineUpdate = func() string {
		sets := make([]string, 0, len(machineCols)-1)
		for i, c := range machineCols[1:] { // every column but id, which is $1
			sets = append(sets, fmt.Sprintf("%s = $%d", c, i+2))
		}
		return "UPDATE machines SET " + strings.Join(sets, ", ") + " WHERE id = $1 AND deleted_at IS NULL"
	}()
)

// placeholders returns "$from, ..., $(from+n-1)".
func placeholders(from, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = fmt.Sprintf("$%d", from+i)
	}
	return strings.Join(ps, ", ")
}

// CreateMachine reports a Conflict for an id taken by a live or destroyed machine.
func (t *Tx) CreateMachine(m *core.Machine) error {
	return t.insertReturning("machine", m.ID, machineInsert, machineArgs(m), &m.InternalID)
}

// GetMachine implements store.Tx.
func (t *Tx) GetMachine(id string) (core.Machine, error) {
	m, err := scanMachine(t.x.QueryRow(machineSelect+` WHERE id = $1 AND deleted_at IS NULL`, id))
	return m, t.Err(err, "machine", id)
}

// UpdateMachine writes every field but InternalID; the lease columns are left alone.
func (t *Tx) UpdateMachine(m *core.Machine) error {
	return t.execOne("machine", m.ID, machineUpdate, machineArgs(m)...)
}

// DeleteMachine soft-deletes the machine (the row stays for billing with deleted_at set),
// drops its lease, and removes its access grants, private IPs and snapshot records.
func (t *Tx) DeleteMachine(id string, at time.Time) error {
	if err := t.execOne("machine", id, `UPDATE machines SET deleted_at = $2, lease_owner = NULL, lease_until = NULL
		WHERE id = $1 AND deleted_at IS NULL`, id, ms(at)); err != nil {
		return err
	}
	if _, err := t.x.Exec(`DELETE FROM machine_access WHERE machine_id = $1`, id); err != nil {
		return t.Err(err, "machine access", id)
	}
	if _, err := t.x.Exec(`DELETE FROM snapshots WHERE machine_id = $1`, id); err != nil {
		return t.Err(err, "machine snapshots", id)
	}
	return t.DeletePrivateIPs(id)
}

// ListMachines implements store.Tx.
func (t *Tx) ListMachines(q core.MachineQuery) ([]core.Machine, error) {
	query, args, err := MachineQuery(q, t.d)
	if err != nil {
		return nil, err
	}
	rows, err := t.x.QueryBuilt(query, args...)
	return collect(t, rows, err, "machines", scanMachine)
}

// SetAccess implements store.Tx.
func (t *Tx) SetAccess(machineID, userID string, on bool) error {
	var err error
	if on {
		_, err = t.x.Exec(`INSERT INTO machine_access (machine_id, user_id) VALUES ($1, $2)
			ON CONFLICT (machine_id, user_id) DO NOTHING`, machineID, userID)
	} else {
		_, err = t.x.Exec(`DELETE FROM machine_access WHERE machine_id = $1 AND user_id = $2`, machineID, userID)
	}
	return t.Err(err, "machine access", machineID)
}

// HasAccess implements store.Tx.
func (t *Tx) HasAccess(machineID, userID string) (bool, error) {
	var ok bool
	err := t.x.QueryRow(`SELECT EXISTS (SELECT 1 FROM machine_access WHERE machine_id = $1 AND user_id = $2)`,
		machineID, userID).Scan(&ok)
	return ok, t.Err(err, "machine access", machineID)
}
