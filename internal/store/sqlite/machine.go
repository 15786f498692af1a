package sqlite

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
		nullable(m.OS), nullable(m.RAM), m.CPUs, nullable(m.GPU), nullable(m.StorageTotal), nullable(m.StorageUsed),
		m.AgentType, nullable(m.ShutdownTimeoutInHours), m.ShutdownTimeoutForces, m.PerformAutoSnapshot,
		nullable(m.AutoSnapshotFrequency), nullable(m.AutoSnapshotSaveCount), m.DynamicPublicIP, m.IsManaged,
		m.UpdatesPending, nullable(m.NetworkID), nullable(m.PrivateIP), nullable(m.PublicIP), nullable(m.ScriptID),
		nullMS(m.LastRun), nullable(m.NotificationMail), m.TakeInitialSnapshot, nullable(m.RestorePointSnapshotID),
		nullable(m.RestorePointFrequency), m.State, m.HostID, m.HoldsCapacity, m.Booted, m.OpEvent,
		ms(m.PhaseSince), nullMS(m.NextAt), m.Attempts, ms(m.Created),
		m.MarkRestorePoint, nullMS(m.ShutdownAt), nullMS(m.SnapshotAt),
	}
}

func scanMachine(s scanner) (core.Machine, error) {
	var m core.Machine
	err := s.Scan(&m.InternalID,
		&m.ID, &m.Name, &m.TeamID, &m.UserID, &m.Region, &m.MachineType, &m.BillingType, &m.TemplateID, &m.SizeGB,
		ptrCol(&m.OS), ptrCol(&m.RAM), &m.CPUs, ptrCol(&m.GPU), ptrCol(&m.StorageTotal), ptrCol(&m.StorageUsed),
		&m.AgentType, ptrCol(&m.ShutdownTimeoutInHours), &m.ShutdownTimeoutForces, &m.PerformAutoSnapshot,
		ptrCol(&m.AutoSnapshotFrequency), ptrCol(&m.AutoSnapshotSaveCount), &m.DynamicPublicIP, &m.IsManaged,
		&m.UpdatesPending, ptrCol(&m.NetworkID), ptrCol(&m.PrivateIP), ptrCol(&m.PublicIP), ptrCol(&m.ScriptID),
		nullTimeCol{&m.LastRun}, ptrCol(&m.NotificationMail), &m.TakeInitialSnapshot,
		ptrCol(&m.RestorePointSnapshotID), ptrCol(&m.RestorePointFrequency), &m.State, &m.HostID,
		&m.HoldsCapacity, &m.Booted, &m.OpEvent, timeCol{&m.PhaseSince}, nullTimeCol{&m.NextAt}, &m.Attempts,
		timeCol{&m.Created}, &m.MarkRestorePoint, nullTimeCol{&m.ShutdownAt}, nullTimeCol{&m.SnapshotAt})
	return m, err
}

// SQL built once from machineCols.
var (
	machineSelect = "SELECT internal_id, " + strings.Join(machineCols, ", ") + " FROM machines"
	machineInsert = "INSERT INTO machines (" + strings.Join(machineCols, ", ") + ") VALUES (" +
		placeholders(1, len(machineCols)) + ") RETURNING internal_id"
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

func (t *tx) CreateMachine(m *core.Machine) error {
	err := t.queryRow(machineInsert, machineArgs(m)...).Scan(&m.InternalID)
	return dbErr(err, "machine", m.ID)
}

func (t *tx) GetMachine(id string) (core.Machine, error) {
	m, err := scanMachine(t.queryRow(machineSelect+` WHERE id = $1 AND deleted_at IS NULL`, id))
	return m, dbErr(err, "machine", id)
}

// UpdateMachine writes every field but InternalID; the lease columns are left alone.
func (t *tx) UpdateMachine(m *core.Machine) error {
	return t.execOne("machine", m.ID, machineUpdate, machineArgs(m)...)
}

// DeleteMachine soft-deletes the machine (the row stays for billing with deleted_at set),
// drops its lease, and removes its access grants, private IPs and snapshot records.
func (t *tx) DeleteMachine(id string, at time.Time) error {
	if err := t.execOne("machine", id, `UPDATE machines SET deleted_at = $2, lease_owner = NULL, lease_until = NULL
		WHERE id = $1 AND deleted_at IS NULL`, id, ms(at)); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM machine_access WHERE machine_id = $1`, id); err != nil {
		return dbErr(err, "machine access", id)
	}
	if _, err := t.exec(`DELETE FROM snapshots WHERE machine_id = $1`, id); err != nil {
		return dbErr(err, "machine snapshots", id)
	}
	return t.DeletePrivateIPs(id)
}

func (t *tx) ListMachines(q core.MachineQuery) ([]core.Machine, error) {
	query, args, err := buildMachineQuery(q)
	if err != nil {
		return nil, err
	}
	rows, err := t.q.QueryContext(t.ctx, query, args...) // built at run time: not cached
	return collect(rows, err, "machines", scanMachine)
}

func (t *tx) SetAccess(machineID, userID string, on bool) error {
	var err error
	if on {
		_, err = t.exec(`INSERT INTO machine_access (machine_id, user_id) VALUES ($1, $2)
			ON CONFLICT (machine_id, user_id) DO NOTHING`, machineID, userID)
	} else {
		_, err = t.exec(`DELETE FROM machine_access WHERE machine_id = $1 AND user_id = $2`, machineID, userID)
	}
	return dbErr(err, "machine access", machineID)
}

func (t *tx) HasAccess(machineID, userID string) (bool, error) {
	var ok bool
	err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM machine_access WHERE machine_id = $1 AND user_id = $2)`,
		machineID, userID).Scan(&ok)
	return ok, dbErr(err, "machine access", machineID)
}
