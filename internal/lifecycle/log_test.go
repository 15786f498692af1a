package lifecycle_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/core/clocktest"
	"hangar/internal/lifecycle"
	"hangar/internal/store"
	"hangar/internal/store/sqlite"
)

// logLines decodes the JSON lines slog wrote to b.
func logLines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, ln := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if ln == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(ln), &m); err != nil {
			t.Fatalf("log line %q: %v", ln, err)
		}
		out = append(out, m)
	}
	return out
}

// TestLoggedTransitions checks that a Logged store logs each committed state change and each
// operation that ends in error at info, one line each with the machine, and nothing for a
// transaction that rolls back.
func TestLoggedTransitions(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.New(time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC))
	raw, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hangar.db"), sqlite.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var buf bytes.Buffer
	db := lifecycle.Logged(raw, slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	env := &lifecycle.Env{Clock: clock, Expect: func(core.State) time.Duration { return time.Minute }}

	m := core.Machine{ID: "ps0000001", Name: "m", TeamID: "te1", UserID: "u1", HostID: "sim-ny2-1",
		Region: "East Coast (NY2)", MachineType: "C5", BillingType: "hourly", TemplateID: "t04azgph",
		SizeGB: 50, AgentType: "LinuxHeadless", Created: clock.Now()}
	if err := db.Write(ctx, func(tx store.Tx) error {
		if err := env.Enter(tx, &m, core.StateProvisioning); err != nil {
			return err
		}
		return tx.CreateMachine(&m)
	}); err != nil {
		t.Fatal(err)
	}
	move := func(to core.State, fail error) error {
		return db.Write(ctx, func(tx store.Tx) error {
			cur, err := tx.GetMachine(m.ID)
			if err != nil {
				return err
			}
			if err := env.Enter(tx, &cur, to); err != nil {
				return err
			}
			if err := tx.UpdateMachine(&cur); err != nil {
				return err
			}
			return fail
		})
	}
	if err := move(core.StateStarting, nil); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("rolled back")
	if err := move(core.StateOff, boom); !errors.Is(err, boom) {
		t.Fatalf("rolled-back write: %v", err)
	}
	var ev core.Event
	if err := db.Write(ctx, func(tx store.Tx) error {
		var err error
		if ev, err = env.NewEvent(tx, m.ID, core.EventStart); err != nil {
			return err
		}
		if err := env.FinishEvent(tx, ev.Handle, core.EventError, "no capacity"); err != nil {
			return err
		}
		// Finishing an event again, or cancelling one, is not a failure to log.
		if err := env.FinishEvent(tx, ev.Handle, core.EventError, "again"); err != nil {
			return err
		}
		other, err := env.NewEvent(tx, m.ID, core.EventStop)
		if err != nil {
			return err
		}
		return env.FinishEvent(tx, other.Handle, core.EventCancelled, "superseded")
	}); err != nil {
		t.Fatal(err)
	}

	if err := db.Write(ctx, func(tx store.Tx) error { return tx.DeleteMachine(m.ID, clock.Now()) }); err != nil {
		t.Fatal(err)
	}

	lines := logLines(t, &buf)
	want := []map[string]any{
		{"level": "INFO", "msg": "machine state", "machine": m.ID, "from": "new", "to": "provisioning", "host": "sim-ny2-1"},
		{"level": "INFO", "msg": "machine state", "machine": m.ID, "from": "provisioning", "to": "starting", "host": "sim-ny2-1"},
		{"level": "INFO", "msg": "machine operation failed", "machine": m.ID, "operation": "start", "error": "no capacity"},
		{"level": "INFO", "msg": "machine state", "machine": m.ID, "from": "starting", "to": "destroyed", "host": "sim-ny2-1"},
	}
	if len(lines) != len(want) {
		t.Fatalf("logged %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		for k, v := range w {
			if lines[i][k] != v {
				t.Errorf("line %d: %s = %v, want %v (%v)", i, k, lines[i][k], v, lines[i])
			}
		}
	}
}
