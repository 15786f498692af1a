package httpapi

import (
	"strings"
	"testing"
)

// succ is where a machine in state s is one phase later, without user calls (spec §3.2).
func succ(s string) string {
	switch s {
	case "provisioning":
		return "starting" // startOnCreate defaults to true
	case "starting", "restarting":
		return "serviceready"
	case "serviceready", "ready":
		return "ready"
	case "stopping", "off":
		return "off"
	}
	return s
}

type event struct{ Name, State, ErrorMsg string }

func (e *env) events(t *testing.T, id string) []event {
	t.Helper()
	var m struct{ Events []event }
	e.call(t, e.Alice.Key, "GET", "/machines/getMachinePublic?machineId="+id, nil).must(t, 200).json(t, &m)
	return m.Events
}

// TestTransitions checks every cell of the spec §3.2 table that the API can reach (upgrading is
// entered only by an out-of-API resize), through HTTP, and then follows each machine until it
// settles.
func TestTransitions(t *testing.T) {
	type cell struct {
		status int    // 204 or 400
		now    string // state right after the call; "" = unchanged (no-op or rejected)
	}
	reject, noop := cell{400, ""}, cell{204, ""}
	table := map[string]map[string]cell{
		"provisioning": {"start": reject, "stop": reject, "restart": reject},
		"starting":     {"start": noop, "stop": {204, "stopping"}, "restart": reject},
		"serviceready": {"start": noop, "stop": {204, "stopping"}, "restart": {204, "restarting"}},
		"ready":        {"start": noop, "stop": {204, "stopping"}, "restart": {204, "restarting"}},
		"stopping":     {"start": reject, "stop": noop, "restart": reject},
		"off":          {"start": {204, "starting"}, "stop": noop, "restart": reject},
		"restarting":   {"start": noop, "stop": {204, "stopping"}, "restart": {204, "restarting"}},
	}
	actions := []string{"start", "stop", "restart"}
	for _, from := range []string{"provisioning", "starting", "serviceready", "ready", "stopping", "off", "restarting"} {
		t.Run(from, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			A := e.Alice.Key
			ids := map[string]string{}
			var all []string
			for _, a := range append(actions, "destroy", "update", "member") {
				ids[a] = e.createMachine(t, A, "machineName", from+"-"+a, "userId", e.Bob.ID)
				all = append(all, ids[a])
			}
			e.driveTo(t, from, all...)
			expect := map[string]string{} // machine id -> expected state
			for _, id := range all {
				expect[id] = from
			}
			moved := map[string]string{} // machine id -> action that moved it
			for _, a := range actions {
				t.Run(a, func(t *testing.T) {
					id, c := ids[a], table[from][a]
					before := e.events(t, id)
					r := e.call(t, A, "POST", "/machines/"+id+"/"+a, nil).must(t, c.status)
					after := e.events(t, id)
					got := e.state(t, id)
					switch {
					case c.status == 400:
						want := "Cannot " + a + " machine " + id + " while it is " + from
						if msg := r.errMessage(t); msg != want {
							t.Errorf("message %q, want %q", msg, want)
						}
						fallthrough
					case c.now == "":
						if got != from {
							t.Errorf("state %s after %s, want %s unchanged", got, a, from)
						}
						if len(after) != len(before) {
							t.Errorf("events %v after a refused or no-op %s (before %v)", after, a, before)
						}
					default:
						expect[id], moved[id] = c.now, a
						if got != c.now {
							t.Errorf("state %s after %s, want %s", got, a, c.now)
						}
						if len(after) != len(before)+1 || after[0].Name != a || after[0].State != "in progress" {
							t.Errorf("events after %s: %v (before %v)", a, after, before)
						}
					}
				})
			}
			t.Run("owner start/stop/restart like the admin", func(t *testing.T) {
				// Bob owns every machine: he may call power actions with the same outcome.
				id, c := ids["member"], table[from]["stop"]
				e.call(t, e.Bob.Key, "POST", "/machines/"+id+"/stop", nil).must(t, c.status)
				if c.now != "" {
					expect[id], moved[id] = c.now, "stop"
				}
			})
			t.Run("update is allowed", func(t *testing.T) {
				id := ids["update"]
				e.call(t, A, "POST", "/machines/"+id+"/updateMachinePublic", map[string]any{"machineName": "updated in " + from}).must(t, 204)
				m := e.machine(t, A, id)
				if m["name"] != "updated in "+from || m["state"] != from {
					t.Errorf("after update: name %v state %v", m["name"], m["state"])
				}
			})
			t.Run("destroy is allowed", func(t *testing.T) {
				id := ids["destroy"]
				e.call(t, A, "POST", "/machines/"+id+"/destroyMachine", nil).must(t, 204)
				e.call(t, A, "GET", "/machines/getMachinePublic?machineId="+id, nil).must(t, 404)
				e.call(t, A, "POST", "/machines/"+id+"/destroyMachine", nil).must(t, 404)
				e.call(t, A, "POST", "/machines/"+id+"/start", nil).must(t, 404)
				for _, m := range e.call(t, A, "GET", "/machines/getMachines", nil).must(t, 200).arr(t) {
					if m["id"] == id {
						t.Fatal("destroyed machine still listed")
					}
				}
				delete(expect, id)
			})
			// Everything settles: every machine moves one state per phase.
			for range 4 {
				e.advance(phase)
				for id, s := range expect {
					expect[id] = succ(s)
					e.waitState(t, id, expect[id])
				}
			}
			for id, a := range moved {
				if ev := e.events(t, id); ev[0].Name != a || ev[0].State != "done" || ev[0].ErrorMsg != "" {
					t.Errorf("machine %s: last event %+v after %s settled, want done", id, ev[0], a)
				}
			}
		})
	}
}

// TestRestartWhileRestarting: a new restart restarts the restart timer and adds another event
// (spec §2.8).
func TestRestartWhileRestarting(t *testing.T) {
	e := newEnv(t)
	id := e.createMachine(t, e.Alice.Key)
	e.driveTo(t, "restarting", id)
	e.advance(phase / 2)
	e.call(t, e.Alice.Key, "POST", "/machines/"+id+"/restart", nil).must(t, 204)
	ev := e.events(t, id)
	if ev[0].Name != "restart" || ev[0].State != "in progress" || ev[1].Name != "restart" || ev[1].State != "cancelled" {
		t.Fatalf("events %+v", ev)
	}
	e.advance(phase / 2) // the first restart would be over now
	e.settle(t)
	if s := e.state(t, id); s != "restarting" {
		t.Fatalf("state %s: the second restart did not restart the timer", s)
	}
	e.advance(phase / 2)
	e.waitState(t, id, "serviceready")
	e.next(t, "ready", id)
}

// TestFailedStart: a start that fails (injected driver fault, or no capacity) records an error
// event and leaves the machine off; the call itself succeeds (spec §3.2).
func TestFailedStart(t *testing.T) {
	e := newEnv(t)
	A := e.Alice.Key
	id := e.createMachine(t, A, "machineType", "P5000", "startOnCreate", false)
	other := e.createMachine(t, A, "machineType", "P5000", "machineName", "other")
	e.next(t, "off", id)
	e.waitState(t, other, "starting")
	// The fault below fails the next start the engine works on: no other machine may be
	// starting then.
	e.next(t, "serviceready", other)

	t.Run("driver fault", func(t *testing.T) {
		e.call(t, e.Operator.Key, "POST", "/hangar/v1/sim/faults", map[string]any{"action": "start", "count": 1, "message": "boom"}).must(t, 200)
		e.call(t, A, "POST", "/machines/"+id+"/start", nil).must(t, 204)
		e.next(t, "off", id)
		e.waitState(t, other, "ready")
		if ev := e.events(t, id); ev[0].Name != "start" || ev[0].State != "error" || ev[0].ErrorMsg != "boom" {
			t.Fatalf("events %+v", ev)
		}
		if f := e.call(t, e.Operator.Key, "GET", "/hangar/v1/sim/faults", nil).must(t, 200).arr(t); len(f) != 0 {
			t.Fatalf("fault not consumed: %v", f)
		}
	})
	t.Run("no capacity", func(t *testing.T) {
		for _, h := range e.call(t, e.Operator.Key, "GET", "/hangar/v1/hosts?region="+q("East Coast (NY2)"), nil).must(t, 200).arr(t) {
			e.call(t, e.Operator.Key, "POST", "/hangar/v1/hosts/"+h["id"].(string), map[string]any{"available": false}).must(t, 200)
		}
		e.call(t, A, "POST", "/machines/"+id+"/start", nil).must(t, 204)
		if s := e.state(t, id); s != "off" {
			t.Fatalf("state %s", s)
		}
		ev := e.events(t, id)
		if ev[0].Name != "start" || ev[0].State != "error" || !strings.Contains(ev[0].ErrorMsg, "no P5000 machines available") {
			t.Fatalf("events %+v", ev)
		}
		// A machine already running keeps its slot.
		if s := e.state(t, other); s != "ready" {
			t.Fatalf("the running machine is %s", s)
		}
	})
}

// TestDynamicPublicIP: a dynamic public IP is attached while the machine runs and released when
// it is off (spec §3.2 side effects).
func TestDynamicPublicIP(t *testing.T) {
	e := newEnv(t)
	A := e.Alice.Key
	id := e.createMachine(t, A, "dynamicPublicIp", true)
	ip := func() any { return e.machine(t, A, id)["publicIpAddress"] }
	if v := ip(); v != nil {
		t.Fatalf("provisioning machine has public IP %v", v)
	}
	e.next(t, "starting", id)
	if ip() == nil {
		t.Fatal("no dynamic IP while starting")
	}
	e.next(t, "serviceready", id)
	e.next(t, "ready", id)
	e.call(t, A, "POST", "/machines/"+id+"/stop", nil).must(t, 204)
	e.next(t, "off", id)
	if v := ip(); v != nil {
		t.Fatalf("off machine keeps public IP %v", v)
	}
	e.call(t, A, "POST", "/machines/"+id+"/start", nil).must(t, 204)
	if ip() == nil {
		t.Fatal("no dynamic IP after start")
	}
	e.call(t, A, "POST", "/machines/"+id+"/updateMachinePublic", map[string]any{"dynamicPublicIp": "false"}).must(t, 204)
	if v := ip(); v != nil {
		t.Fatalf("dynamicPublicIp false keeps IP %v", v)
	}
	e.call(t, A, "POST", "/machines/"+id+"/updateMachinePublic", map[string]any{"assignPublicIp": true}).must(t, 204)
	static := ip()
	if static == nil {
		t.Fatal("assignPublicIp gave no IP")
	}
	e.call(t, A, "POST", "/machines/"+id+"/updateMachinePublic", map[string]any{"assignPublicIp": true, "dynamicPublicIp": true}).must(t, 400)
	e.next(t, "serviceready", id)
	e.call(t, A, "POST", "/machines/"+id+"/stop", nil).must(t, 204)
	e.next(t, "off", id)
	if v := ip(); v != static {
		t.Fatalf("static IP %v changed to %v by a stop", static, v)
	}
}
