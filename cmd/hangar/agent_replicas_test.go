package main

import (
	"fmt"
	"testing"
	"time"

	"hangar/internal/store/postgres/pgtest"
)

// TestAgentsTwoReplicasOnPostgres runs two control-plane replicas on one PostgreSQL database,
// an agent connected to each, creates sent to both: machines land on both agents (the engine
// of either replica drives a machine of either host, handing its steps to the agent through
// the database). One replica is killed mid-operations: the other finishes the operations of
// the surviving agent's machines and marks the killed replica's agent unavailable; when the
// replica comes back on its address, its agent is up again and every machine converges.
func TestAgentsTwoReplicasOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real hangar processes")
	}
	dsn := pgtest.SchemaURL(t, "agents")
	addrA := freeAddr(t)
	dataA, dataB := t.TempDir(), t.TempDir()
	a := agentCP(t, dataA, addrA, "--database", dsn)
	b := agentCP(t, dataB, "127.0.0.1:0", "--database", dsn)
	op := a.ts(readKey(t, dataA))
	admin := newTeamAdmin(t, op)
	startAgent(t, a.url, joinToken(t, op, ny2, "10m"), t.TempDir(), "pa", "--capacity", "C5=6")
	startAgent(t, b.url, joinToken(t, op, ny2, "10m"), t.TempDir(), "pb", "--capacity", "C5=6")
	waitHost(t, op, "pa", "up", 20*time.Second)
	waitHost(t, op, "pb", "up", 20*time.Second)
	var ids []string
	for i := range 8 {
		ts := a.ts("")
		if i%2 == 1 {
			ts = b.ts("")
		}
		var m map[string]any
		if st := ts.do(t, admin, "POST", "/machines/createSingleMachinePublic", createBody(fmt.Sprint("p", i)), &m); st != 200 {
			t.Fatalf("create %d: %d %v", i, st, m)
		}
		ids = append(ids, m["id"].(string))
	}
	hosts := hostsByName(t, b.ts(op.Key))
	if hosts["pa"].Used["C5"] != 4 || hosts["pb"].Used["C5"] != 4 {
		t.Fatalf("placements did not spread: %+v", hosts)
	}
	a.kill9(t)
	bt := b.ts(op.Key)
	waitHost(t, bt, "pa", "unavailable", 15*time.Second)
	pbMachines := 0
	for _, id := range ids {
		var m map[string]any
		bt.do(t, admin, "GET", "/machines/getMachinePublic?machineId="+id, nil, &m)
		_, _, evs := eventsOf(t, bt, admin, id)
		if len(evs) > 0 && evs[0]["name"] == "host-unreachable" {
			continue // on pa
		}
		bt.waitState(t, admin, id, "ready", 30*time.Second)
		pbMachines++
	}
	if pbMachines != 4 {
		t.Fatalf("%d machines finished on pb through the surviving replica, want 4", pbMachines)
	}
	a = agentCP(t, dataA, addrA, "--database", dsn)
	waitHost(t, bt, "pa", "up", 20*time.Second)
	for _, id := range ids {
		a.ts("").waitState(t, admin, id, "ready", 40*time.Second)
	}
}
