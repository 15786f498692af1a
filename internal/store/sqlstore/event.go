package sqlstore

import "hangar/internal/core"

const eventCols = `handle, machine_id, name, state, error_msg, created, modified, finished`

func scanEvent(s Row) (core.Event, error) {
	var e core.Event
	err := s.Scan(&e.Handle, &e.MachineID, &e.Name, &e.State, &e.ErrorMsg, timeCol{&e.Created},
		timeCol{&e.Modified}, nullTimeCol{&e.Finished})
	return e, err
}

// CreateEvent implements store.Tx.
func (t *Tx) CreateEvent(e *core.Event) error {
	return t.insert("event", e.Handle, "",
		`INSERT INTO events (`+eventCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		e.Handle, e.MachineID, e.Name, e.State, e.ErrorMsg, ms(e.Created), ms(e.Modified), nullMS(e.Finished))
}

// GetEvent implements store.Tx.
func (t *Tx) GetEvent(handle string) (core.Event, error) {
	e, err := scanEvent(t.x.QueryRow(`SELECT `+eventCols+` FROM events WHERE handle = $1`, handle))
	return e, t.Err(err, "event", handle)
}

// UpdateEvent implements store.Tx.
func (t *Tx) UpdateEvent(e *core.Event) error {
	return t.execOne("event", e.Handle, `UPDATE events SET state = $2, error_msg = $3, modified = $4, finished = $5
		WHERE handle = $1`, e.Handle, e.State, e.ErrorMsg, ms(e.Modified), nullMS(e.Finished))
}

// ListEvents orders by creation time, newest first; events created in the same millisecond
// come newest-inserted first.
func (t *Tx) ListEvents(machineID string, limit int) ([]core.Event, error) {
	n := t.d.NoLimit
	if limit > 0 {
		n = int64(limit)
	}
	return list(t, "events", scanEvent, `SELECT `+eventCols+` FROM events WHERE machine_id = $1
		ORDER BY created DESC, seq DESC LIMIT $2`, machineID, n)
}
