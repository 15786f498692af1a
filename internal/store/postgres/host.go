package postgres

import (
	"hangar/internal/core"
)

const hostCols = `id, name, region, capacity, available, created`

func scanHost(s scanner) (core.HostLoad, error) {
	var h core.HostLoad
	if err := s.Scan(&h.ID, &h.Name, &h.Region, &h.Capacity, &h.Available, timeCol{&h.Created}); err != nil {
		return h, err
	}
	if h.Capacity == nil {
		h.Capacity = map[string]int{}
	}
	h.Used = map[string]int{}
	return h, nil
}

// capacity is the JSONB value of a host's capacity; nil is stored (and read back) as {}.
func capacity(c map[string]int) map[string]int {
	if c == nil {
		return map[string]int{}
	}
	return c
}

// CreateHost covers both unique keys (id and name) with one ON CONFLICT DO NOTHING.
func (t *tx) CreateHost(h *core.Host) error {
	return t.insert("host", h.ID, "a host with id "+h.ID+" or name "+h.Name+" already exists",
		`INSERT INTO hosts (`+hostCols+`) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		h.ID, h.Name, h.Region, capacity(h.Capacity), h.Available, ms(h.Created))
}

func (t *tx) GetHost(id string) (core.HostLoad, error) {
	h, err := scanHost(t.queryRow(`SELECT `+hostCols+` FROM hosts WHERE id = $1`, id))
	if err != nil {
		return h, t.dbErr(err, "host", id)
	}
	err = t.addUsage(map[string]*core.HostLoad{h.ID: &h},
		`SELECT host_id, machine_type, used FROM host_usage WHERE host_id = $1 AND used <> 0`, id)
	return h, err
}

// UpdateHost is guarded: the new name may be taken.
func (t *tx) UpdateHost(h *core.Host) error {
	tag, err := t.guarded(`UPDATE hosts SET name = $2, region = $3, capacity = $4, available = $5
		WHERE id = $1`, h.ID, h.Name, h.Region, capacity(h.Capacity), h.Available)
	if err != nil {
		return t.dbErrConflict(err, "host", h.ID, "a host named "+h.Name+" already exists")
	}
	if tag.RowsAffected() == 0 {
		return notFound("host", h.ID)
	}
	return nil
}

// DeleteHost refuses while the host has usage or a live machine holding capacity on it.
// Its usage rows go with it (ON DELETE CASCADE).
func (t *tx) DeleteHost(id string) error {
	var busy bool
	err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM host_usage WHERE host_id = $1 AND used > 0)
		OR EXISTS (SELECT 1 FROM machines WHERE host_id = $1 AND holds_capacity AND deleted_at IS NULL)`, id).Scan(&busy)
	if err != nil {
		return t.dbErr(err, "host", id)
	}
	if busy {
		if _, err := t.GetHost(id); err != nil {
			return err
		}
		return core.Errorf(core.Conflict, "host %s still has machines holding capacity", id)
	}
	return t.execOne("host", id, `DELETE FROM hosts WHERE id = $1`, id)
}

// ListHosts reads the hosts and then their usage: two indexed queries. Inside Write it
// locks the host rows, in name order so that two placements cannot deadlock, and a
// concurrent placement in the region waits until this transaction ends.
func (t *tx) ListHosts(region string) ([]core.HostLoad, error) {
	lock := ""
	if t.write {
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

// addUsage fills the Used maps of hosts from a (host_id, machine_type, used) query.
func (t *tx) addUsage(hosts map[string]*core.HostLoad, query string, args ...any) error {
	rows, err := t.query(query, args...)
	if err != nil {
		return t.dbErr(err, "host usage", "")
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, mt string
			used   int
		)
		if err := rows.Scan(&id, &mt, &used); err != nil {
			return t.dbErr(err, "host usage", "")
		}
		if h := hosts[id]; h != nil {
			h.Used[mt] = used
		}
	}
	return t.dbErr(rows.Err(), "host usage", "")
}

// AddHostUsage returns NotFound for an unknown host and Conflict if the usage would go
// below zero (nothing is changed then). One guarded statement updates the usage row or, if
// there is none, inserts it: an upsert would check the CHECK constraint on the candidate row
// (delta alone) before finding the existing one.
func (t *tx) AddHostUsage(hostID, machineType string, delta int) error {
	_, err := t.guarded(`WITH up AS (
			UPDATE host_usage SET used = used + $3 WHERE host_id = $1 AND machine_type = $2 RETURNING 1)
		INSERT INTO host_usage (host_id, machine_type, used)
		SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM up)`, hostID, machineType, delta)
	switch pgCode(err) {
	case codeForeignKey:
		return notFound("host", hostID)
	case codeCheck:
		if _, gerr := t.GetHost(hostID); core.IsNotFound(gerr) {
			return gerr // an unknown host with a negative delta fails the CHECK first
		}
		return core.Wrap(core.Conflict, err, "usage of "+machineType+" on host "+hostID+" would go below zero")
	case codeUnique:
		// A concurrent transaction inserted the row after this one's snapshot: under
		// SERIALIZABLE that is a serialization failure in substance, so retry.
		if t.retryErr == nil {
			t.retryErr = core.Wrap(core.Internal, err, "postgres: concurrent host usage insert")
		}
		return t.retryErr
	}
	return t.dbErr(err, "host usage", hostID)
}
