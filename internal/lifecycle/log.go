package lifecycle

import (
	"context"
	"log/slog"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

// Logged returns st with every machine state change (Enter, and a destroy as the change to
// "destroyed") and every operation that ends in error (FinishEvent with core.EventError) logged
// at info, one line each, after the
// transaction that made it has committed: a transaction that fails or is run again logs only
// what its committed run did. It must be the outermost wrapper of the store handed to the
// service and the engine, because Enter and FinishEvent find it in the transaction they get.
func Logged(st store.Store, log *slog.Logger) store.Store {
	return store.KeepAuthGeneration(&logged{Store: st, log: log}, st)
}

type logged struct {
	store.Store
	log *slog.Logger
}

// Write implements store.Store.
func (l *logged) Write(ctx context.Context, fn func(store.Tx) error) error {
	var lines []logLine
	err := l.Store.Write(ctx, func(tx store.Tx) error {
		lines = lines[:0]
		return fn(&logTx{Tx: tx, lines: &lines})
	})
	if err != nil {
		return err
	}
	for _, ln := range lines {
		l.log.LogAttrs(ctx, slog.LevelInfo, ln.msg, ln.attrs...)
	}
	return nil
}

type logLine struct {
	msg   string
	attrs []slog.Attr
}

// logTx collects the lines of one run of a transaction.
type logTx struct {
	store.Tx
	lines *[]logLine
}

// DeleteMachine logs a destroy as the machine's last state change, to "destroyed".
func (t *logTx) DeleteMachine(id string, at time.Time) error {
	m, err := t.Tx.GetMachine(id)
	if err != nil {
		return err
	}
	if err := t.Tx.DeleteMachine(id, at); err != nil {
		return err
	}
	was := m.State
	m.State = "destroyed"
	noteTransition(t, &m, was)
	return nil
}

// noteTransition records that m moved from was to its current state in tx.
func noteTransition(tx store.Tx, m *core.Machine, was core.State) {
	lt, ok := tx.(*logTx)
	if !ok || was == m.State {
		return
	}
	from := string(was)
	if from == "" {
		from = "new"
	}
	*lt.lines = append(*lt.lines, logLine{msg: "machine state", attrs: []slog.Attr{
		slog.String("machine", m.ID), slog.String("from", from), slog.String("to", string(m.State)),
		slog.String("host", m.HostID)}})
}

// noteFailure records that the operation of ev ended in error in tx.
func noteFailure(tx store.Tx, ev core.Event) {
	lt, ok := tx.(*logTx)
	if !ok || ev.State != core.EventError {
		return
	}
	*lt.lines = append(*lt.lines, logLine{msg: "machine operation failed", attrs: []slog.Attr{
		slog.String("machine", ev.MachineID), slog.String("operation", ev.Name), slog.String("error", ev.ErrorMsg)}})
}
