package fleet

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hangar/api"
	"hangar/internal/core"
	"hangar/internal/hypervisor"
	"hangar/internal/store"
	"hangar/internal/store/sqlite"
)

type bundle struct {
	db    store.Store
	d     *Drivers
	added []string
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hangar.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := &bundle{db: db}
	b.d = &Drivers{Store: db, Clock: core.SystemClock{}, Added: func(h string) { b.added = append(b.added, h) }}
	seen := time.Now()
	if err := db.Write(t.Context(), func(tx store.Tx) error {
		return tx.CreateHost(&core.Host{ID: "ha", Name: "agent-a", Region: "East Coast (NY2)", Available: true,
			Capacity: map[string]int{"C5": 2}, Created: seen, Agent: core.HostAgent{CredentialHash: "c", Driver: "sim", LastSeen: &seen}})
	}); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *bundle) remote(t *testing.T) hypervisor.Driver {
	t.Helper()
	drv, err := b.d.DriverFor(t.Context(), "ha")
	if err != nil {
		t.Fatal(err)
	}
	return drv
}

func (b *bundle) pending(t *testing.T) []core.AgentOp {
	t.Helper()
	var ops []core.AgentOp
	if err := b.db.Read(t.Context(), func(tx store.Tx) (err error) { ops, err = tx.ListPendingAgentOps("ha", 100); return }); err != nil {
		t.Fatal(err)
	}
	return ops
}

// TestRemoteStepsBecomeOneOperation: repeated engine steps of one transition share one
// operation; the agent's result completes the step; a newer state supersedes the older
// operation.
func TestRemoteStepsBecomeOneOperation(t *testing.T) {
	b := setup(t)
	since := time.Now().Truncate(time.Millisecond)
	m := core.Machine{ID: "ps1", HostID: "ha", State: core.StateStarting, PhaseSince: since}
	for range 3 {
		res, err := b.remote(t).Advance(t.Context(), hypervisor.Request{Machine: m, Since: since})
		if err != nil || res.Done || res.RetryAfter <= 0 {
			t.Fatalf("advance before the agent answered: %+v %v", res, err)
		}
	}
	ops := b.pending(t)
	if len(ops) != 1 || ops[0].Kind != core.OpAdvance || len(b.added) != 3 {
		t.Fatalf("pending %+v, added %v", ops, b.added)
	}
	done, _ := json.Marshal(api.AgentResult{OpID: ops[0].ID, Done: true})
	if err := b.db.Write(t.Context(), func(tx store.Tx) error { _, err := tx.FinishAgentOp(ops[0].ID, done, time.Now()); return err }); err != nil {
		t.Fatal(err)
	}
	if res, err := b.remote(t).Advance(t.Context(), hypervisor.Request{Machine: m, Since: since}); err != nil || !res.Done {
		t.Fatalf("advance after the agent's result: %+v %v", res, err)
	}
	// A stop while a start is still pending: the start's operation is superseded.
	m.PhaseSince = since.Add(time.Second)
	if _, err := b.remote(t).Advance(t.Context(), hypervisor.Request{Machine: m, Since: m.PhaseSince}); err != nil {
		t.Fatal(err)
	}
	m.State, m.PhaseSince = core.StateStopping, since.Add(2*time.Second)
	if _, err := b.remote(t).Advance(t.Context(), hypervisor.Request{Machine: m, Since: m.PhaseSince}); err != nil {
		t.Fatal(err)
	}
	ops = b.pending(t)
	if len(ops) != 1 || !strings.Contains(string(ops[0].Request), `"state":"stopping"`) {
		t.Fatalf("pending after a newer state: %+v", ops)
	}
}

// TestUnreachableHost: steps are refused with the host-unreachable message, a destroy is
// still queued for the agent's return, and no VM is reported lost.
func TestUnreachableHost(t *testing.T) {
	b := setup(t)
	if err := b.db.Write(t.Context(), func(tx store.Tx) error {
		_, err := tx.MarkHostsUnreachable(time.Now().Add(time.Hour))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	m := core.Machine{ID: "ps1", HostID: "ha", State: core.StateStarting, PhaseSince: time.Now()}
	drv := b.remote(t)
	_, err := drv.Advance(t.Context(), hypervisor.Request{Machine: m})
	if err == nil || hypervisor.IsPermanent(err) || !strings.Contains(err.Error(), "host unreachable") {
		t.Fatalf("advance on an unreachable host: %v", err)
	}
	if drv.(hypervisor.Watcher).Lost(t.Context(), m) {
		t.Fatal("a machine of an unreachable host reported lost")
	}
	if err := drv.Destroy(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if ops := b.pending(t); len(ops) != 1 || ops[0].Kind != core.OpDestroy {
		t.Fatalf("pending after a destroy while away: %+v", ops)
	}
}
