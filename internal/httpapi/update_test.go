package httpapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestUpdate covers the parameters of spec §2.10 on both update routes: updateMachinePublic
// answers 204, paperspace-go's updateMachine 200 with the machine as show renders it.
func TestUpdate(t *testing.T) {
	e := newEnv(t)
	A := e.Alice.Key
	id := e.createMachine(t, A, "machineName", "orig")
	e.driveTo(t, "ready", id)
	num := func(n string) any { return json.Number(n) }
	cases := []struct {
		name string
		body map[string]any
		want map[string]any // fields after the update; nil with an error
		msg  string         // error message part (400)
	}{
		{"machineName", map[string]any{"machineName": "renamed"}, map[string]any{"name": "renamed"}, ""},
		{"name alias", map[string]any{"name": "aliased"}, map[string]any{"name": "aliased"}, ""},
		{"machineName as number", map[string]any{"machineName": 42}, map[string]any{"name": "42"}, ""},
		{"empty machineName", map[string]any{"machineName": ""}, nil, "machineName cannot be empty"},
		{"shutdownTimeoutInHours", map[string]any{"shutdownTimeoutInHours": 48}, map[string]any{"shutdownTimeoutInHours": num("48")}, ""},
		{"shutdownTimeoutInHours as text", map[string]any{"shutdownTimeoutInHours": "12"}, map[string]any{"shutdownTimeoutInHours": num("12")}, ""},
		{"shutdownTimeoutInHours 0 disables", map[string]any{"shutdownTimeoutInHours": 0}, map[string]any{"shutdownTimeoutInHours": num("0")}, ""},
		{"shutdownTimeoutInHours null disables", map[string]any{"shutdownTimeoutInHours": nil}, map[string]any{"shutdownTimeoutInHours": nil}, ""},
		{"shutdownTimeoutInHours negative", map[string]any{"shutdownTimeoutInHours": -1}, nil, "between 0 and 8760"},
		{"shutdownTimeoutForces", map[string]any{"shutdownTimeoutForces": "true"}, map[string]any{"shutdownTimeoutForces": true}, ""},
		{"shutdownTimeoutForces bad", map[string]any{"shutdownTimeoutForces": "maybe"}, nil, "shutdownTimeoutForces must be true or false"},
		{"performAutoSnapshot", map[string]any{"performAutoSnapshot": true}, map[string]any{"performAutoSnapshot": true}, ""},
		{"autoSnapshotFrequency", map[string]any{"autoSnapshotFrequency": "hour"}, map[string]any{"autoSnapshotFrequency": "hour"}, ""},
		{"autoSnapshotFrequency month", map[string]any{"autoSnapshotFrequency": "month"}, map[string]any{"autoSnapshotFrequency": "month"}, ""},
		{"autoSnapshotFrequency null", map[string]any{"autoSnapshotFrequency": nil}, map[string]any{"autoSnapshotFrequency": nil}, ""},
		{"autoSnapshotFrequency bad", map[string]any{"autoSnapshotFrequency": "yearly"}, nil, "Invalid autoSnapshotFrequency"},
		{"autoSnapshotSaveCount as text (terraform)", map[string]any{"autoSnapshotSaveCount": "7"}, map[string]any{"autoSnapshotSaveCount": num("7")}, ""},
		{"autoSnapshotSaveCount null", map[string]any{"autoSnapshotSaveCount": nil}, map[string]any{"autoSnapshotSaveCount": nil}, ""},
		{"autoSnapshotSaveCount zero", map[string]any{"autoSnapshotSaveCount": 0}, nil, "between 1 and 1000"},
		{"dynamicPublicIp bad", map[string]any{"dynamicPublicIp": "yes"}, nil, "dynamicPublicIp must be true or false"},
		{"both public IP kinds", map[string]any{"dynamicPublicIp": true, "assignPublicIP": true}, nil, "cannot both be true"},
		{"several at once", map[string]any{"machineName": "multi", "performAutoSnapshot": "false", "autoSnapshotFrequency": "week",
			"autoSnapshotSaveCount": 2, "shutdownTimeoutForces": false},
			map[string]any{"name": "multi", "performAutoSnapshot": false, "autoSnapshotFrequency": "week", "autoSnapshotSaveCount": num("2"), "shutdownTimeoutForces": false}, ""},
		{"unknown fields only", map[string]any{"debug": true, "foo": "bar"}, map[string]any{"name": "multi"}, ""},
		{"nothing", map[string]any{}, map[string]any{"name": "multi"}, ""},
	}
	show := func(t *testing.T) map[string]any {
		m := e.machine(t, A, id)
		delete(m, "events")
		return m
	}
	for _, route := range []string{"updateMachinePublic", "updateMachine"} {
		for _, c := range cases {
			t.Run(route+"/"+c.name, func(t *testing.T) {
				before := show(t)
				var r response
				if route == "updateMachine" {
					body := map[string]any{"machineId": id}
					for k, v := range c.body {
						body[k] = v
					}
					r = e.call(t, A, "POST", "/machines/updateMachine", body)
				} else {
					r = e.call(t, A, "POST", "/machines/"+id+"/updateMachinePublic", c.body)
				}
				after := show(t)
				if c.want == nil {
					r.must(t, 400)
					if msg := r.errMessage(t); !strings.Contains(msg, c.msg) {
						t.Errorf("message %q does not contain %q", msg, c.msg)
					}
					a, _ := json.Marshal(after)
					b, _ := json.Marshal(before)
					if !bytes.Equal(a, b) {
						t.Errorf("a refused update changed the machine:\nbefore %s\nafter  %s", b, a)
					}
					return
				}
				if route == "updateMachine" {
					got := r.must(t, 200).obj(t)
					a, _ := json.Marshal(after)
					g, _ := json.Marshal(got)
					if !bytes.Equal(a, g) {
						t.Errorf("updateMachine answered\n%s\nshow says\n%s", g, a)
					}
				} else {
					r.must(t, 204)
				}
				for k, v := range c.want {
					if after[k] != v {
						t.Errorf("%s = %#v, want %#v", k, after[k], v)
					}
				}
				for k, v := range before {
					if _, changed := c.want[k]; !changed && k != "name" && !equalJSON(v, after[k]) {
						t.Errorf("%s changed from %#v to %#v", k, v, after[k])
					}
				}
			})
		}
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestDestroyKeepsStaticIP: a destroyed machine's static IP stays reserved to its team and is
// reused by the team's next static IP (spec §2.9).
func TestDestroyKeepsStaticIP(t *testing.T) {
	e := newEnv(t)
	A := e.Alice.Key
	first := e.call(t, A, "POST", "/machines/createSingleMachinePublic", createBody("assignPublicIp", true)).must(t, 200).obj(t)
	ip := first["publicIpAddress"]
	if ip == nil {
		t.Fatal("no static IP")
	}
	e.call(t, A, "POST", "/machines/"+first["id"].(string)+"/destroyMachine", nil).must(t, 204)
	theirs := e.call(t, e.Carol.Key, "POST", "/machines/createSingleMachinePublic", createBody("assignPublicIp", true)).must(t, 200).obj(t)
	if theirs["publicIpAddress"] == ip {
		t.Fatalf("another team got the reserved IP %v", ip)
	}
	second := e.call(t, A, "POST", "/machines/createSingleMachinePublic", createBody("assignPublicIp", true)).must(t, 200).obj(t)
	if second["publicIpAddress"] != ip {
		t.Fatalf("the team's next static IP is %v, want its reserved %v", second["publicIpAddress"], ip)
	}
}
