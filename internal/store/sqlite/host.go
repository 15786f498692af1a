package sqlite

import (
	"encoding/json"

	sqlite3 "modernc.org/sqlite/lib"

	"hangar/internal/core"
)

const hostCols = `id, name, region, capacity, available, created`

func scanHost(s scanner) (core.HostLoad, error) {
	var (
		h   core.HostLoad
		cap []byte
	)
	if err := s.Scan(&h.ID, &h.Name, &h.Region, &cap, &h.Available, timeCol{&h.Created}); err != nil {
		return h, err
	}
	if err := json.Unmarshal(cap, &h.Capacity); err != nil {
		return h, err
	}
	if h.Capacity == nil {
		h.Capacity = map[string]int{}
	}
	h.Used = map[string]int{}
	return h, nil
}

func capacityJSON(c map[string]int) (string, error) {
	if c == nil {
		c = map[string]int{}
	}
	b, err := json.Marshal(c)
	return string(b), err
}

// CreateHost inserts h. A nil Capacity is stored (and read back) as an empty map.
func (t *tx) CreateHost(h *core.Host) error {
	cap, err := capacityJSON(h.Capacity)
	if err != nil {
		return core.Wrap(core.Internal, err, "sqlite: encode host capacity")
	}
	_, err = t.exec(`INSERT INTO hosts (`+hostCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		h.ID, h.Name, h.Region, cap, h.Available, ms(h.Created))
	return dbErrConflict(err, "host", h.ID, "a host with id "+h.ID+" or name "+h.Name+" already exists")
}

func (t *tx) GetHost(id string) (core.HostLoad, error) {
	h, err := scanHost(t.queryRow(`SELECT `+hostCols+` FROM hosts WHERE id = $1`, id))
	if err != nil {
		return h, dbErr(err, "host", id)
	}
	err = t.addUsage(map[string]*core.HostLoad{h.ID: &h},
		`SELECT host_id, machine_type, used FROM host_usage WHERE host_id = $1 AND used <> 0`, id)
	return h, err
}

func (t *tx) UpdateHost(h *core.Host) error {
	cap, err := capacityJSON(h.Capacity)
	if err != nil {
		return core.Wrap(core.Internal, err, "sqlite: encode host capacity")
	}
	err = t.execOne("host", h.ID, `UPDATE hosts SET name = $2, region = $3, capacity = $4, available = $5
		WHERE id = $1`, h.ID, h.Name, h.Region, cap, h.Available)
	return dbErrConflict(err, "host", h.ID, "a host named "+h.Name+" already exists")
}

// DeleteHost refuses while the host has usage or a live machine holding capacity on it.
// Its usage rows go with it (ON DELETE CASCADE).
func (t *tx) DeleteHost(id string) error {
	var busy bool
	err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM host_usage WHERE host_id = $1 AND used > 0)
		OR EXISTS (SELECT 1 FROM machines WHERE host_id = $1 AND holds_capacity AND deleted_at IS NULL)`, id).Scan(&busy)
	if err != nil {
		return dbErr(err, "host", id)
	}
	if busy {
		if _, err := t.GetHost(id); err != nil {
			return err
		}
		return core.Errorf(core.Conflict, "host %s still has machines holding capacity", id)
	}
	return t.execOne("host", id, `DELETE FROM hosts WHERE id = $1`, id)
}

// ListHosts reads the hosts and then their usage: two indexed queries. SQLite has one
// writer, so inside Write nothing else can place machines concurrently.
func (t *tx) ListHosts(region string) ([]core.HostLoad, error) {
	var (
		hosts []core.HostLoad
		err   error
	)
	if region == "" {
		hosts, err = list(t, "hosts", scanHost, `SELECT `+hostCols+` FROM hosts ORDER BY name`)
	} else {
		hosts, err = list(t, "hosts", scanHost, `SELECT `+hostCols+` FROM hosts WHERE region = $1 ORDER BY name`, region)
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
		return dbErr(err, "host usage", "")
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, mt string
			used   int
		)
		if err := rows.Scan(&id, &mt, &used); err != nil {
			return dbErr(err, "host usage", "")
		}
		if h := hosts[id]; h != nil {
			h.Used[mt] = used
		}
	}
	return dbErr(rows.Err(), "host usage", "")
}

// AddHostUsage returns NotFound for an unknown host and Conflict if the usage would go
// below zero (nothing is changed then).
func (t *tx) AddHostUsage(hostID, machineType string, delta int) error {
	// UPDATE first, then INSERT: an upsert would check the CHECK constraint on the
	// candidate row (delta alone) before finding the conflict.
	res, err := t.exec(`UPDATE host_usage SET used = used + $3 WHERE host_id = $1 AND machine_type = $2`,
		hostID, machineType, delta)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			_, err = t.exec(`INSERT INTO host_usage (host_id, machine_type, used) VALUES ($1, $2, $3)`,
				hostID, machineType, delta)
		}
	}
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return notFound("host", hostID)
	case sqlite3.SQLITE_CONSTRAINT_CHECK:
		return core.Wrap(core.Conflict, err, "usage of "+machineType+" on host "+hostID+" would go below zero")
	}
	return dbErr(err, "host usage", hostID)
}
