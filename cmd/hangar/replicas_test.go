package main

import (
	"fmt"
	"hangar/internal/store/postgres/pgtest"
	"os"
	"sync"
	"testing"
	"time"
)

// TestTwoReplicasOnPostgres runs two hangar processes on one PostgreSQL database: creates sent
// to both never oversubscribe the shared hosts, and both engines drive machines to ready.
func TestTwoReplicasOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real hangar processes")
	}
	dsn := pgtest.SchemaURL(t, "e2e")
	flags := []string{"--database", dsn, "--sim-time-scale", "0.02", "--sim-serviceready-min", "100ms", "--no-default-fleet"}
	dataA, dataB := t.TempDir(), t.TempDir()
	a := startProc(t, dataA, flags...)
	b := startProc(t, dataB, flags...) // finds the operator made by a: writes no key
	op := a.ts(readKey(t, dataA))
	if _, err := os.Stat(dataB + "/operator.key"); err == nil {
		t.Fatal("the second replica created a second operator")
	}
	admin := newTeamAdmin(t, op)
	if st := op.do(t, op.Key, "POST", "/hangar/v1/hosts", map[string]any{"name": "shared",
		"region": "East Coast (NY2)", "capacity": map[string]int{"C5": 6}}, nil); st != 200 {
		t.Fatalf("host: %d", st)
	}
	const clients = 24
	ids := make(chan string, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			ts := a.ts("")
			if i%2 == 1 {
				ts = b.ts("")
			}
			var m map[string]any
			switch st := ts.do(t, admin, "POST", "/machines/createSingleMachinePublic", createBody(fmt.Sprint("r", i)), &m); st {
			case 200:
				ids <- m["id"].(string)
			case 400:
			default:
				t.Errorf("create: %d %v", st, m)
			}
		})
	}
	wg.Wait()
	close(ids)
	var created []string
	for id := range ids {
		created = append(created, id)
	}
	if len(created) != 6 {
		t.Fatalf("%d creates succeeded on 6 slots", len(created))
	}
	for i, id := range created { // read through both replicas
		ts := a.ts("")
		if i%2 == 0 {
			ts = b.ts("")
		}
		ts.waitState(t, admin, id, "ready", 30*time.Second)
	}
	var hosts []struct {
		Used map[string]int `json:"used"`
	}
	b.ts("").do(t, op.Key, "GET", "/hangar/v1/hosts", nil, &hosts)
	if len(hosts) != 1 || hosts[0].Used["C5"] != 6 {
		t.Fatalf("hosts = %+v", hosts)
	}
}
