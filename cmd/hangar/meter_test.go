package main

import (
	"testing"
	"time"
)

// TestMeterSurvivesKill9 checks that the utilization meter lives in the database: a stopped
// machine's machine seconds are the same after a SIGKILL and restart, a running machine keeps
// being metered across one, and a destroyed machine stays queryable.
func TestMeterSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real hangar processes")
	}
	data := t.TempDir()
	flags := []string{"--sim-time-scale", "0.01", "--sim-serviceready-min", "50ms"}
	p := startProc(t, data, flags...)
	opKey := readKey(t, data)
	admin := newTeamAdmin(t, p.ts(opKey))
	start := time.Now()

	var m map[string]any
	if st := p.ts(opKey).do(t, admin, "POST", "/machines/createSingleMachinePublic", createBody("metered"), &m); st != 200 {
		t.Fatalf("create: %d %v", st, m)
	}
	id := m["id"].(string)
	created, err := time.Parse(time.RFC3339, m["dtCreated"].(string))
	if err != nil {
		t.Fatal(err)
	}
	// usage sums the machine and storage seconds of the months from creation to now.
	usage := func(p *proc) (machine, storage float64) {
		t.Helper()
		for mo := created.UTC(); ; mo = time.Date(mo.Year(), mo.Month()+1, 1, 0, 0, 0, 0, time.UTC) {
			month := mo.Format("2006-01")
			var u struct {
				Utilization, StorageUtilization struct{ SecondsUsed float64 }
			}
			if st := p.ts(opKey).do(t, admin, "GET", "/machines/getUtilization?machineId="+id+"&billingMonth="+month, nil, &u); st != 200 {
				t.Fatalf("utilization %s: HTTP %d", month, st)
			}
			machine += u.Utilization.SecondsUsed
			storage += u.StorageUtilization.SecondsUsed
			if month == time.Now().UTC().Format("2006-01") {
				return machine, storage
			}
		}
	}
	ts := p.ts(opKey)
	ts.waitState(t, admin, id, "ready", 20*time.Second)
	if st := ts.do(t, admin, "POST", "/machines/"+id+"/stop", nil, nil); st != 204 {
		t.Fatalf("stop: %d", st)
	}
	ts.waitState(t, admin, id, "off", 20*time.Second)
	offMachine, offStorage := usage(p)
	if offMachine <= 0 || offStorage < offMachine {
		t.Fatalf("after a run and a stop: machine %v s, storage %v s", offMachine, offStorage)
	}

	p.kill9(t)
	p = startProc(t, data, flags...)
	ts = p.ts(opKey)
	if got, storage := usage(p); got != offMachine || storage <= offStorage {
		t.Errorf("off across a restart: machine %v s (was %v), storage %v s (was %v)", got, offMachine, storage, offStorage)
	}

	if st := ts.do(t, admin, "POST", "/machines/"+id+"/start", nil, nil); st != 204 {
		t.Fatalf("start: %d", st)
	}
	ts.waitState(t, admin, id, "ready", 20*time.Second)
	before, _ := usage(p)
	p.kill9(t)
	p = startProc(t, data, flags...)
	ts = p.ts(opKey)
	after, storage := usage(p)
	if after <= before {
		t.Errorf("running across a restart: machine %v s, was %v s before the kill", after, before)
	}
	if lived := time.Since(start).Seconds(); storage > lived || after > storage {
		t.Errorf("machine %v s, storage %v s, but the machine is only %v s old", after, storage, lived)
	}

	if st := ts.do(t, admin, "POST", "/machines/"+id+"/destroyMachine", nil, nil); st != 204 {
		t.Fatalf("destroy: %d", st)
	}
	gone, goneStorage := usage(p)
	p.kill9(t)
	p = startProc(t, data, flags...)
	if m, s := usage(p); m != gone || s != goneStorage {
		t.Errorf("destroyed machine across a restart: %v/%v s, was %v/%v s", m, s, gone, goneStorage)
	}
}
