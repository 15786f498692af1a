package sqlstore

import (
	"encoding/json"
	"time"

	"hangar/internal/core"
)

const hostCols = `id, name, region, capacity, available, created, agent_driver, agent_accelerator, agent_gpus,
	agent_version, credential_hash, last_seen, unreachable, vms, vms_at`

// scanHost reads a host row; its capacity column holds a JSON object, which comes back as
// the text of that object on both backends.
func scanHost(s Row) (core.HostLoad, error) {
	var (
		h             core.HostLoad
		cap, gpus, vm []byte
		cred          *string
	)
	a := &h.Agent
	if err := s.Scan(&h.ID, &h.Name, &h.Region, &cap, &h.Available, timeCol{&h.Created}, &a.Driver, &a.Accelerator,
		&gpus, &a.Version, &cred, nullTimeCol{&a.LastSeen}, &a.Unreachable, &vm, nullTimeCol{&a.VMsAt}); err != nil {
		return h, err
	}
	if cred != nil {
		a.CredentialHash = *cred
	}
	if err := json.Unmarshal(cap, &h.Capacity); err != nil {
		return h, err
	}
	if err := json.Unmarshal(gpus, &a.GPUs); err != nil {
		return h, err
	}
	if err := json.Unmarshal(vm, &a.VMs); err != nil {
		return h, err
	}
	if len(a.GPUs) == 0 { // hosts without an agent read back as they were written
		a.GPUs = nil
	}
	if len(a.VMs) == 0 {
		a.VMs = nil
	}
	if h.Capacity == nil {
		h.Capacity = map[string]int{}
	}
	h.Used = map[string]int{}
	return h, nil
}

// capacityJSON is the column value of a host's capacity: a JSON object, {} for nil, bound as
// text (which PostgreSQL's JSONB takes as JSON).
func (t *Tx) capacityJSON(c map[string]int) (string, error) {
	if c == nil {
		c = map[string]int{}
	}
	return t.jsonCol(c, "host capacity")
}

// jsonCol is the text of v as a JSON column value.
func (t *Tx) jsonCol(v any, what string) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", core.Wrap(core.Internal, err, t.d.Name+": encode "+what)
	}
	return string(b), nil
}

// hostArgs are the column values of h after its id, in hostCols order.
func (t *Tx) hostArgs(h *core.Host) ([]any, error) {
	cap, err := t.capacityJSON(h.Capacity)
	if err != nil {
		return nil, err
	}
	a := h.Agent
	gpus := a.GPUs
	if gpus == nil {
		gpus = map[string][]string{}
	}
	g, err := t.jsonCol(gpus, "host GPUs")
	if err != nil {
		return nil, err
	}
	vms := a.VMs
	if vms == nil {
		vms = []string{}
	}
	v, err := t.jsonCol(vms, "host VMs")
	if err != nil {
		return nil, err
	}
	var cred *string
	if a.CredentialHash != "" {
		cred = &a.CredentialHash
	}
	return []any{h.Name, h.Region, cap, h.Available, ms(h.Created), a.Driver, a.Accelerator, g, a.Version, cred,
		nullMS(a.LastSeen), a.Unreachable, v, nullMS(a.VMsAt)}, nil
}

// CreateHost covers both unique keys (id and name) with one ON CONFLICT DO NOTHING. A nil
// Capacity is stored (and read back) as an empty map.
func (t *Tx) CreateHost(h *core.Host) error {
	args, err := t.hostArgs(h)
	if err != nil {
		return err
	}
	return t.insert("host", h.ID, "a host with id "+h.ID+" or name "+h.Name+" already exists",
		`INSERT INTO hosts (`+hostCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT DO NOTHING`, append([]any{h.ID}, args...)...)
}

// GetHost implements store.Tx.
func (t *Tx) GetHost(id string) (core.HostLoad, error) {
	h, err := scanHost(t.x.QueryRow(`SELECT `+hostCols+` FROM hosts WHERE id = $1`, id))
	if err != nil {
		return h, t.Err(err, "host", id)
	}
	err = t.addUsage(map[string]*core.HostLoad{h.ID: &h},
		`SELECT host_id, machine_type, used FROM host_usage WHERE host_id = $1 AND used <> 0`, id)
	return h, err
}

// UpdateHost is guarded: the new name may be taken. It writes every column but created.
func (t *Tx) UpdateHost(h *core.Host) error {
	args, err := t.hostArgs(h)
	if err != nil {
		return err
	}
	args = append(args[:4], args[5:]...) // not created
	return t.guardedOne("host", h.ID, "a host named "+h.Name+" already exists",
		`UPDATE hosts SET name = $2, region = $3, capacity = $4, available = $5, agent_driver = $6,
		agent_accelerator = $7, agent_gpus = $8, agent_version = $9, credential_hash = $10, last_seen = $11,
		unreachable = $12, vms = $13, vms_at = $14 WHERE id = $1`, append([]any{h.ID}, args...)...)
}

// GetHostByCredential implements store.Tx.
func (t *Tx) GetHostByCredential(hash string) (core.HostLoad, error) {
	var id string
	if err := t.x.QueryRow(`SELECT id FROM hosts WHERE credential_hash = $1`, hash).Scan(&id); err != nil {
		return core.HostLoad{}, t.Err(err, "host credential", "")
	}
	return t.GetHost(id)
}

// TouchHost implements store.Tx: one read of the flag and one update.
func (t *Tx) TouchHost(id string, seen time.Time, version string) (bool, error) {
	var was bool
	if err := t.x.QueryRow(`SELECT unreachable FROM hosts WHERE id = $1`, id).Scan(&was); err != nil {
		return false, t.Err(err, "host", id)
	}
	return was, t.execOne("host", id, `UPDATE hosts SET last_seen = $2, agent_version = $3, unreachable = $4 WHERE id = $1`,
		id, ms(seen), version, false)
}

// MarkHostsUnreachable implements store.Tx with one UPDATE … RETURNING.
func (t *Tx) MarkHostsUnreachable(seenBefore time.Time) ([]string, error) {
	return list(t, "hosts", func(r Row) (id string, err error) { err = r.Scan(&id); return },
		`UPDATE hosts SET unreachable = $2 WHERE agent_driver <> '' AND unreachable = $3 AND last_seen < $1 RETURNING id`,
		ms(seenBefore), true, false)
}

// SetHostVMs implements store.Tx.
func (t *Tx) SetHostVMs(id string, vms []string, at time.Time) error {
	if vms == nil {
		vms = []string{}
	}
	v, err := t.jsonCol(vms, "host VMs")
	if err != nil {
		return err
	}
	return t.execOne("host", id, `UPDATE hosts SET vms = $2, vms_at = $3 WHERE id = $1`, id, v, ms(at))
}

// DeleteHost refuses while the host has usage or a live machine holding capacity on it.
// Its usage rows go with it (ON DELETE CASCADE).
func (t *Tx) DeleteHost(id string) error {
	var busy bool
	err := t.x.QueryRow(`SELECT EXISTS (SELECT 1 FROM host_usage WHERE host_id = $1 AND used > 0)
		OR EXISTS (SELECT 1 FROM machines WHERE host_id = $1 AND holds_capacity AND deleted_at IS NULL)`, id).Scan(&busy)
	if err != nil {
		return t.Err(err, "host", id)
	}
	if busy {
		if _, err := t.GetHost(id); err != nil {
			return err
		}
		return core.Errorf(core.Conflict, "host %s still has machines holding capacity", id)
	}
	return t.execOne("host", id, `DELETE FROM hosts WHERE id = $1`, id)
}

// ListHosts reads the hosts and then their usage: two indexed queries. Inside Write, on a
// backend with row locks, it locks the host rows, in name order so that two placements
// cannot deadlock, and a concurrent placement in the region waits until this transaction
// ends. SQLite has one writer, so nothing else can place machines meanwhile.
func (t *Tx) ListHosts(region string) ([]core.HostLoad, error) {
	lock := ""
	if t.write && t.d.RowLocks {
		lock = " FOR UPDATE"
	}
	var (
		hosts []core.HostLoad
		err   error
	)
	if region == "" {
		hosts, err = list(t, "hosts", scanHost, `SELECT `+hostCols+` FROM hosts ORDER BY name`+lock)
	} else {
		hosts, err = list(t, "hosts", scanHost, `SELECT `+hostCols+` FROM hosts WHERE region = $1 ORDER BY name`+lock, region)
	}
	if err != nil || len(hosts) == 0 {
		return hosts, err
	}
	byID := make(map[string]*core.HostLoad, len(hosts))
	for i := range hosts {
		byID[hosts[i].ID] = &hosts[i]
	}
	err = t.addUsage(byID, `SELECT u.host_id, u.machine_type, u.used FROM host_usage u
		JOIN hosts h ON h.id = u.host_id WHERE ($1 = '' OR h.region = $1) AND u.used <> 0`, region)
	return hosts, err
}

// PlacementHosts reads one machine type's slots straight out of the capacity JSON (->> on
// both backends) and its usage in the same statement, and lets the database choose the up
// host with the most free slots (ties by name) instead of handing every host of the region
// to Go: at 1,000 hosts that is one row read instead of 1,000. Of the agent's fields it reads
// what placement asks (Remote, State): the driver and whether the host is unreachable.
func (t *Tx) PlacementHosts(region, machineType, preferred string) ([]core.HostLoad, error) {
	lock := ""
	if t.write && t.d.RowLocks {
		lock = " FOR UPDATE OF h"
	}
	scan := func(s Row) (core.HostLoad, error) {
		var (
			h         core.HostLoad
			cap, used int
		)
		err := s.Scan(&h.ID, &h.Name, &h.Available, &h.Agent.Driver, &h.Agent.Unreachable, &cap, &used)
		h.Region = region
		h.Capacity = map[string]int{machineType: cap}
		h.Used = map[string]int{machineType: used}
		return h, err
	}
	const slots = `SELECT h.id, h.name, h.available, h.agent_driver, h.unreachable, ` + slotsCap + `, COALESCE(u.used, 0)
		FROM hosts h LEFT JOIN host_usage u ON u.host_id = h.id AND u.machine_type = $2 WHERE h.region = $1 AND `
	best, err := list(t, "hosts", scan, slots+`h.available AND NOT h.unreachable AND `+slotsCap+` - COALESCE(u.used, 0) > 0
		ORDER BY `+slotsCap+` - COALESCE(u.used, 0) DESC, h.name LIMIT 1`+lock, region, machineType)
	if err != nil || preferred == "" || (len(best) == 1 && best[0].ID == preferred) {
		return best, err
	}
	pref, err := list(t, "hosts", scan, slots+`h.id = $3`+lock, region, machineType, preferred)
	return append(pref, best...), err
}

// slotsCap is a host's slots of machine type $2, from its capacity JSON.
const slotsCap = `COALESCE(CAST(h.capacity ->> CAST($2 AS TEXT) AS INTEGER), 0)`

// addUsage fills the Used maps of hosts from a (host_id, machine_type, used) query.
func (t *Tx) addUsage(hosts map[string]*core.HostLoad, query string, args ...any) error {
	type usage struct {
		host, machineType string
		used              int
	}
	us, err := list(t, "host usage", func(s Row) (u usage, err error) {
		err = s.Scan(&u.host, &u.machineType, &u.used)
		return u, err
	}, query, args...)
	for _, u := range us {
		if h := hosts[u.host]; h != nil {
			h.Used[u.machineType] = u.used
		}
	}
	return err
}

// AddHostUsage returns NotFound for an unknown host and Conflict if the usage would go
// below zero (nothing is changed then). It updates the usage row, or inserts it if there is
// none: an upsert would check the CHECK constraint on the candidate row (delta alone) before
// finding the existing one.
func (t *Tx) AddHostUsage(hostID, machineType string, delta int) error {
	n, err := t.x.ExecGuarded(`UPDATE host_usage SET used = used + $3 WHERE host_id = $1 AND machine_type = $2`,
		hostID, machineType, delta)
	if err == nil && n == 0 {
		_, err = t.x.ExecGuarded(`INSERT INTO host_usage (host_id, machine_type, used) VALUES ($1, $2, $3)`,
			hostID, machineType, delta)
	}
	if err == nil {
		return nil
	}
	switch t.d.Classify(err) {
	case ErrForeignKey:
		return notFound("host", hostID)
	case ErrCheck:
		if _, gerr := t.GetHost(hostID); core.IsNotFound(gerr) {
			return gerr // an unknown host with a negative delta fails the CHECK first
		}
		return core.Wrap(core.Conflict, err, "usage of "+machineType+" on host "+hostID+" would go below zero")
	case ErrUnique:
		// A concurrent transaction inserted the row after this one's snapshot (PostgreSQL):
		// under SERIALIZABLE that is a serialization failure in substance, so retry.
		return t.retry(err, "concurrent host usage insert")
	}
	return t.Err(err, "host usage", hostID)
}
