package postgres

import "hangar/internal/core"

const eventCols = `handle, machine_id, name, state, error_msg, created, modified, finished`

func scanEvent(s scanner) (core.Event, error) {
	var e core.Event
	err := s.Scan(&e.Handle, &e.MachineID, &e.Name, &e.State, &e.ErrorMsg, timeCol{&e.Created},
		timeCol{&e.Modified}, nullTimeCol{&e.Finished})
	return e, err
}

func (t *tx) CreateEvent(e *core.Event) error {
	return t.insert("event", e.Handle, "",
		`INSERT INTO events (`+eventCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		e.Handle, e.MachineID, e.Name, e.State, e.ErrorMsg, ms(e.Created), ms(e.Modified), nullMS(e.Finished))
}

func (t *tx) GetEvent(handle string) (core.Event, error) {
	e, err := scanEvent(t.queryRow(`SELECT `+eventCols+` FROM events WHERE handle = $1`, handle))
	return e, t.dbErr(err, "event", handle)
}

func (t *tx) UpdateEvent(e *core.Event) error {
	return t.execOne("event", e.Handle, `UPDATE events SET state = $2, error_msg = $3, modified = $4, finished = $5
		WHERE handle = $1`, e.Handle, e.State, e.ErrorMsg, ms(e.Modified), nullMS(e.Finished))
}

// ListEvents orders by creation time, newest first; events created in the same millisecond
// come newest-inserted first. A NULL limit is no limit.
func (t *tx) ListEvents(machineID string, limit int) ([]core.Event, error) {
	var n *int64
	if limit > 0 {
		l := int64(limit)
		n = &l
	}
	return list(t, "events", scanEvent, `SELECT `+eventCols+` FROM events WHERE machine_id = $1
		ORDER BY created DESC, seq DESC LIMIT $2`, machineID, n)
}
