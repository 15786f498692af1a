package httpapi

import (
	"fmt"
	"strings"
	"testing"
)

// TestFieldSizes: every string a tenant sends has a maximum, and a value over it (or a name
// with a control character) is a 400 naming the field; nothing is stored.
func TestFieldSizes(t *testing.T) {
	e := newEnv(t)
	long := func(n int) string { return strings.Repeat("n", n) }
	create := func(extra ...any) response {
		return e.call(t, e.Alice.Key, "POST", "/machines/createSingleMachinePublic", createBody(extra...))
	}
	refused := func(r response, field string) {
		t.Helper()
		r.must(t, 400)
		if msg := r.errMessage(t); !strings.Contains(msg, field) {
			t.Errorf("message %q does not name %s", msg, field)
		}
	}
	machines := func() int {
		return len(e.call(t, e.Alice.Key, "GET", "/machines/getMachines", nil).must(t, 200).arr(t))
	}
	before := machines()

	create("machineName", long(255)).must(t, 200)
	refused(create("machineName", long(256)), "machineName")
	refused(create("machineName", long(100_000)), "machineName") // under the body cap, over the field's
	for _, bad := range []string{"a\x1b[2Jb", "two\nlines", "tab\there", "rtl\u202eevil", "del\x7f", "c1\u0085"} {
		refused(create("machineName", bad), "machineName")
	}
	refused(create("region", long(2000)), "region")
	local := long(65) + "@example.com"
	refused(create("email", local, "password", "password-1", "firstName", "A", "lastName", "B"), "email")
	refused(create("email", "a@"+long(250)+".com", "password", "password-1", "firstName", "A", "lastName", "B"), "email")
	refused(create("email", "new@example.com", "password", "password-1", "firstName", long(256), "lastName", "B"), "firstName")
	if got := machines(); got != before+1 {
		t.Errorf("%d machines after the refused creates, want %d", got, before+1)
	}

	id := create("machineName", "ok").must(t, 200).obj(t)["id"].(string)
	refused(e.call(t, e.Alice.Key, "POST", "/machines/"+id+"/updateMachinePublic", map[string]any{"machineName": "x\x00y"}), "machineName")
	refused(e.call(t, e.Alice.Key, "POST", "/teams/"+e.TeamA+"/createPrivateNetwork",
		map[string]any{"name": long(256), "regionId": 1}), "name")
	refused(e.call(t, e.Alice.Key, "POST", "/scripts/createScript",
		map[string]any{"scriptName": "s\x1b", "scriptText": "echo"}), "scriptName")
	refused(e.call(t, e.Alice.Key, "POST", "/scripts/createScript",
		map[string]any{"scriptName": "s", "scriptText": "echo", "scriptDescription": long(1025)}), "scriptDescription")

	// Filter values and order clauses.
	refused(e.call(t, e.Alice.Key, "GET", "/machines/getMachines?name="+long(1025), nil), "name")
	refused(e.call(t, e.Alice.Key, "GET", "/machines/getMachines",
		map[string]any{"filter": map[string]any{"where": map[string]any{"name": long(1025)}}}), "filter.where.name")
	many := strings.TrimSuffix(strings.Repeat("name ASC,", 2000), ",") // 2,000 terms was a 500
	refused(e.call(t, e.Alice.Key, "GET", "/machines/getMachines",
		map[string]any{"filter": map[string]any{"order": many}}), "order")
	// Repeated fields sort as one: under the length limit, any number of repeats is fine.
	e.call(t, e.Alice.Key, "GET", "/machines/getMachines",
		map[string]any{"filter": map[string]any{"order": strings.Repeat("name,", 100) + "id DESC"}}).must(t, 200)
	fields := []string{"id", "name", "os", "ram", "cpus", "gpu", "storageTotal", "storageUsed", "usageRate",
		"shutdownTimeoutInHours", "performAutoSnapshot", "autoSnapshotFrequency", "autoSnapshotSaveCount",
		"agentType", "dtCreated", "state", "updatesPending", "networkId", "privateIpAddress", "publicIpAddress",
		"region", "userId", "teamId", "scriptId", "dtLastRun"}
	r := e.call(t, e.Alice.Key, "GET", "/machines/getMachines",
		map[string]any{"filter": map[string]any{"order": strings.Join(fields, ",")}})
	refused(r, "order")
	if msg := r.errMessage(t); !strings.Contains(msg, "more than 16 fields") {
		t.Errorf("25 distinct order fields: %q, want the term limit", msg)
	}
}

// TestAnswerSizeBound: an answer's body has a byte bound as well as the list's count limit.
func TestAnswerSizeBound(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		e.call(t, e.Alice.Key, "POST", "/machines/createSingleMachinePublic",
			createBody("machineName", fmt.Sprintf("m%d-%s", i, strings.Repeat("x", 200)))).must(t, 200)
	}
	saved := maxAnswerBytes
	maxAnswerBytes = 2000
	t.Cleanup(func() { maxAnswerBytes = saved })
	r := e.call(t, e.Alice.Key, "GET", "/machines/getMachines", nil).must(t, 400)
	if msg := r.errMessage(t); !strings.Contains(msg, "limit and skip") {
		t.Errorf("message %q", msg)
	}
	e.call(t, e.Alice.Key, "GET", "/machines/getMachines?limit=1", nil).must(t, 200)
}
