package storetest

import (
	"testing"

	"hangar/internal/core"
	"hangar/internal/store"
)

// testAgentHosts covers the agent side of hosts: credential lookup, heartbeats, the
// unreachable mark (taken by one transaction only) and the reported VMs.
func testAgentHosts(t *testing.T, b *bundle) {
	seen := at(10)
	h := core.Host{ID: "ha", Name: "agent-a", Region: "East Coast (NY2)", Capacity: map[string]int{"C5": 3},
		Available: true, Created: at(1), Agent: core.HostAgent{CredentialHash: "cred-a", Driver: "sim",
			Version: "v1", LastSeen: &seen, GPUs: map[string][]string{"P4000": {"0000:65:00.0"}}}}
	local := core.Host{ID: "hl", Name: "local", Region: "East Coast (NY2)", Capacity: map[string]int{}, Created: at(1)}
	b.write(t, func(tx store.Tx) error {
		if err := tx.CreateHost(&h); err != nil {
			return err
		}
		return tx.CreateHost(&local)
	})
	got := get(t, b, func(tx store.Tx) (core.HostLoad, error) { return tx.GetHostByCredential("cred-a") })
	equal(t, "GetHostByCredential", got, core.HostLoad{Host: h, Used: map[string]int{}})
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.HostLoad, error) { return tx.GetHostByCredential("nope") })

	var marked []string
	b.write(t, func(tx store.Tx) (err error) { marked, err = tx.MarkHostsUnreachable(at(20)); return })
	equal(t, "MarkHostsUnreachable", marked, []string{"ha"})
	b.write(t, func(tx store.Tx) (err error) { marked, err = tx.MarkHostsUnreachable(at(20)); return })
	equal(t, "MarkHostsUnreachable again", len(marked), 0)
	// Placement sees the mark and which host runs an agent: no free slot anywhere, and the
	// agent host as a machine's home is unreachable.
	placed := func(preferred string) []core.HostLoad {
		return get(t, b, func(tx store.Tx) ([]core.HostLoad, error) {
			return tx.PlacementHosts("East Coast (NY2)", "C5", preferred)
		})
	}
	equal(t, "PlacementHosts with the agent host unreachable", len(placed("")), 0)
	home := placed("ha")
	equal(t, "PlacementHosts of a machine on the unreachable agent host", home, []core.HostLoad{
		{Host: core.Host{ID: "ha", Name: "agent-a", Region: "East Coast (NY2)", Available: true, Capacity: map[string]int{"C5": 3},
			Agent: core.HostAgent{Driver: "sim", Unreachable: true}}, Used: map[string]int{"C5": 0}}})
	if home[0].State() != core.HostUnavailable || !home[0].Remote() || home[0].Free("C5") != 0 {
		t.Errorf("placement's view of the unreachable agent host: %+v", home[0])
	}
	var was bool
	b.write(t, func(tx store.Tx) (err error) { was, err = tx.TouchHost("ha", at(30), "v2"); return })
	equal(t, "TouchHost was unreachable", was, true)
	b.write(t, func(tx store.Tx) error { return tx.SetHostVMs("ha", []string{"ps1", "ps2"}, at(31)) })
	got = get(t, b, func(tx store.Tx) (core.HostLoad, error) { return tx.GetHost("ha") })
	want := h
	s30, s31 := at(30), at(31)
	want.Agent.LastSeen, want.Agent.Version, want.Agent.VMs, want.Agent.VMsAt = &s30, "v2", []string{"ps1", "ps2"}, &s31
	equal(t, "host after heartbeat", got, core.HostLoad{Host: want, Used: map[string]int{}})
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { _, err := tx.TouchHost("nope", at(1), ""); return err })
}

// testJoinTokens covers one-time join tokens.
func testJoinTokens(t *testing.T, b *bundle) {
	j := core.JoinToken{ID: "jt1", Hash: "hash1", Region: "East Coast (NY2)", Expires: at(100), Created: at(1)}
	b.write(t, func(tx store.Tx) error { return tx.CreateJoinToken(&j) })
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateJoinToken(&j) })
	got := get(t, b, func(tx store.Tx) (core.JoinToken, error) { return tx.GetJoinTokenByHash("hash1") })
	equal(t, "GetJoinTokenByHash", got, j)
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.JoinToken, error) { return tx.GetJoinTokenByHash("x") })
	b.write(t, func(tx store.Tx) error { return tx.UseJoinToken("jt1", "h1", at(5)) })
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.UseJoinToken("jt1", "h2", at(6)) })
	got = get(t, b, func(tx store.Tx) (core.JoinToken, error) { return tx.GetJoinTokenByHash("hash1") })
	used := at(5)
	j.Used, j.HostID = &used, "h1"
	equal(t, "used token", got, j)
}

// testAgentOps covers the operations queue: one row per id, first result wins, pruning.
func testAgentOps(t *testing.T, b *bundle) {
	op := core.AgentOp{ID: "op1", HostID: "h1", MachineID: "ps1", Kind: core.OpAdvance, Request: []byte(`{"a":1}`),
		Created: at(1)}
	var got core.AgentOp
	b.write(t, func(tx store.Tx) (err error) { got, err = tx.EnsureAgentOp(&op); return })
	equal(t, "EnsureAgentOp", got, op)
	again := op
	again.Request = []byte(`{"b":2}`)
	b.write(t, func(tx store.Tx) (err error) { got, err = tx.EnsureAgentOp(&again); return })
	equal(t, "EnsureAgentOp keeps the first", got, op)
	op2 := core.AgentOp{ID: "op2", HostID: "h1", MachineID: "ps2", Kind: core.OpDestroy, Request: []byte(`{}`), Created: at(2)}
	b.write(t, func(tx store.Tx) (err error) { _, err = tx.EnsureAgentOp(&op2); return })
	pending := get(t, b, func(tx store.Tx) ([]core.AgentOp, error) { return tx.ListPendingAgentOps("h1", 10) })
	equal(t, "pending", len(pending), 2)
	var first, second bool
	b.write(t, func(tx store.Tx) (err error) {
		first, err = tx.FinishAgentOp("op1", []byte(`{"done":true}`), at(3))
		return
	})
	b.write(t, func(tx store.Tx) (err error) { second, err = tx.FinishAgentOp("op1", []byte(`{"x":1}`), at(4)); return })
	equal(t, "FinishAgentOp first, second", [2]bool{first, second}, [2]bool{true, false})
	got = get(t, b, func(tx store.Tx) (core.AgentOp, error) { return tx.GetAgentOp("op1") })
	equal(t, "result", string(got.Result), `{"done":true}`)
	pending = get(t, b, func(tx store.Tx) ([]core.AgentOp, error) { return tx.ListPendingAgentOps("h1", 10) })
	equal(t, "pending after finish", len(pending), 1)
	keys := get(t, b, func(tx store.Tx) ([]core.AgentOpKey, error) { return tx.ListPendingAgentOpKeys(10) })
	equal(t, "pending keys", keys, []core.AgentOpKey{{HostID: "h1", ID: "op2"}})
	op3 := core.AgentOp{ID: "op3", HostID: "h1", MachineID: "ps2", Kind: core.OpDestroy, Request: []byte(`{}`), Created: at(3)}
	b.write(t, func(tx store.Tx) (err error) { _, err = tx.EnsureAgentOp(&op3); return })
	var superseded int
	b.write(t, func(tx store.Tx) (err error) {
		superseded, err = tx.SupersedeAgentOps("ps2", core.OpDestroy, "op3", []byte(`{"error":"superseded"}`), at(4))
		return
	})
	equal(t, "superseded", superseded, 1)
	keys = get(t, b, func(tx store.Tx) ([]core.AgentOpKey, error) { return tx.ListPendingAgentOpKeys(10) })
	equal(t, "pending keys after supersede", keys, []core.AgentOpKey{{HostID: "h1", ID: "op3"}})
	got = get(t, b, func(tx store.Tx) (core.AgentOp, error) { return tx.GetAgentOp("op2") })
	equal(t, "superseded result", string(got.Result), `{"error":"superseded"}`)
	var n int
	b.write(t, func(tx store.Tx) (err error) { n, err = tx.PruneAgentOps(at(10)); return })
	equal(t, "pruned", n, 2)
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.AgentOp, error) { return tx.GetAgentOp("op1") })
}

// testHostMachines covers ListHostMachines: the live machines of one host, destroyed ones
// left out.
func testHostMachines(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	on, other, gone := bareMachine("m1", "te1", "u1", at(1)), bareMachine("m2", "te1", "u1", at(1)), bareMachine("m3", "te1", "u1", at(1))
	on.HostID, other.HostID, gone.HostID = "hx", "hy", "hx"
	createMachines(t, b, on, other, gone)
	b.write(t, func(tx store.Tx) error { return tx.DeleteMachine("m3", at(2)) })
	got := get(t, b, func(tx store.Tx) ([]core.Machine, error) { return tx.ListHostMachines("hx") })
	equal(t, "ListHostMachines", machineIDs(got), []string{"m1"})
}
