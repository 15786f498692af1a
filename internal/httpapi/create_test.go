package httpapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

// snapshot captures what a failed create must leave untouched: every user of every team, the
// caller's machines, and the hosts' usage.
type snapshot struct {
	users, machines, hosts []byte
}

func (e *env) snapshot(t *testing.T) snapshot {
	t.Helper()
	op := e.Operator.Key
	return snapshot{
		users:    e.call(t, op, "GET", "/hangar/v1/users", nil).must(t, 200).body,
		machines: e.call(t, e.Alice.Key, "GET", "/machines/getMachines", nil).must(t, 200).body,
		hosts:    e.call(t, op, "GET", "/hangar/v1/hosts", nil).must(t, 200).body,
	}
}

func (s snapshot) same(t *testing.T, now snapshot) {
	t.Helper()
	if !bytes.Equal(s.users, now.users) {
		t.Errorf("users changed:\nbefore %s\nafter  %s", s.users, now.users)
	}
	if !bytes.Equal(s.machines, now.machines) {
		t.Errorf("machines changed:\nbefore %s\nafter  %s", s.machines, now.machines)
	}
	if !bytes.Equal(s.hosts, now.hosts) {
		t.Errorf("host usage changed:\nbefore %s\nafter  %s", s.hosts, now.hosts)
	}
}

// newUser are the create parameters that also create a team user (spec §2.2).
func newUser(email string) []any {
	return []any{"email", email, "password", "s3cret-password", "firstName", "New", "lastName", "User"}
}

// TestCreateValidation covers every validation rule of spec §2.2: each invalid request is a
// 400 (403 for a member) with a message naming the problem, and writes nothing.
func TestCreateValidation(t *testing.T) {
	e := newEnv(t)
	carolScript := e.call(t, e.Carol.Key, "POST", "/scripts/createScript", map[string]any{"scriptName": "theirs", "scriptText": "x"}).
		must(t, 200).obj(t)["id"].(string)
	before := e.snapshot(t)
	if string(before.machines) != "[]" {
		t.Fatalf("machines before: %s", before.machines)
	}
	with := func(kv ...any) map[string]any { return createBody(kv...) }
	cases := []struct {
		name   string
		key    string // default Alice
		body   any
		status int // default 400
		msg    string
	}{
		// Required parameters.
		{name: "missing region", body: with("region", omit), msg: "region is required"},
		{name: "null region", body: with("region", jsonNull), msg: "region is required"},
		{name: "missing machineType", body: with("machineType", omit), msg: "machineType is required"},
		{name: "missing size", body: with("size", omit), msg: "size is required"},
		{name: "null size", body: with("size", jsonNull), msg: "size is required"},
		{name: "missing billingType", body: with("billingType", omit), msg: "billingType is required"},
		{name: "missing machineName", body: with("machineName", omit), msg: "machineName is required"},
		{name: "empty machineName", body: with("machineName", ""), msg: "machineName is required"},
		{name: "blank machineName", body: with("machineName", "   "), msg: "machineName is required"},
		{name: "empty name alias", body: with("machineName", omit, "name", ""), msg: "machineName is required"},
		{name: "missing templateId", body: with("templateId", omit), msg: "templateId is required"},
		{name: "empty body", body: map[string]any{}, msg: "region is required"},

		// Enumerations and types.
		{name: "unknown region", body: with("region", "Mars (MRS1)"), msg: `Invalid region "Mars (MRS1)"`},
		{name: "unknown machineType", body: with("machineType", "P9000"), msg: `Invalid machineType "P9000"`},
		{name: "machineType is case sensitive", body: with("machineType", "p4000"), msg: `Invalid machineType "p4000"`},
		{name: "size not offered", body: with("size", 60), msg: "Invalid size 60"},
		{name: "size zero", body: with("size", 0), msg: "Invalid size 0"},
		{name: "size negative", body: with("size", -50), msg: "Invalid size -50"},
		{name: "size too big", body: with("size", 4000), msg: "Invalid size 4000"},
		{name: "size not a number", body: with("size", "fifty"), msg: "size must be a whole number"},
		{name: "size fractional", body: with("size", 50.5), msg: "size must be a whole number"},
		{name: "size boolean", body: with("size", true), msg: "size must be a number"},
		{name: "unknown billingType", body: with("billingType", "weekly"), msg: `Invalid billingType "weekly"`},
		{name: "machineName object", body: with("machineName", map[string]any{}), msg: "machineName must be a string"},
		{name: "templateId array", body: with("templateId", []any{linuxTmpl}), msg: "templateId must be a string"},
		{name: "assignPublicIp not boolean", body: with("assignPublicIp", "yes"), msg: "assignPublicIp must be true or false"},
		{name: "shutdownTimeoutInHours not a number", body: with("shutdownTimeoutInHours", "never"), msg: "shutdownTimeoutInHours must be a whole number"},

		// Templates.
		{name: "unknown template", body: with("templateId", "tnope123"), msg: "templateId not found"},
		{name: "another team's template", body: with("templateId", e.TmplB), msg: "templateId not found"},
		{name: "Windows template on C1", body: with("templateId", windowsTmpl, "machineType", "C1"), msg: "Windows templates cannot be used with machine type C1"},
		{name: "Windows template on C10", body: with("templateId", windowsTmpl, "machineType", "C10"), msg: "Windows templates cannot be used with machine type C10"},
		{name: "Linux template on Air", body: with("templateId", linuxTmpl, "machineType", "Air"), msg: "Linux templates cannot be used with machine type Air"},
		{name: "Linux desktop template on Advanced", body: with("templateId", desktopTmpl, "machineType", "Advanced"), msg: "Linux templates cannot be used"},
		{name: "team template in another region", body: with("templateId", e.TmplA, "region", "Europe (AMS1)"), msg: "is only available in East Coast (NY2)"},

		// Capacity (spec §2.12, §4.2).
		{name: "GPU+ not offered in CA1", body: with("machineType", "GPU+", "region", "West Coast (CA1)"), msg: "There are no GPU+ machines available in West Coast (CA1)"},
		{name: "V100 not offered in CA1", body: with("machineType", "V100", "region", "West Coast (CA1)"), msg: "no V100 machines available"},

		// Public IPs.
		{name: "assignPublicIp and dynamicPublicIp", body: with("assignPublicIp", true, "dynamicPublicIp", true), msg: "assignPublicIp and dynamicPublicIp cannot both be true"},
		{name: "assignPublicIP alias and dynamicPublicIp", body: with("assignPublicIP", true, "dynamicPublicIp", "true"), msg: "cannot both be true"},

		// Owner and team.
		{name: "userId with new-user fields", body: with(append([]any{"userId", e.Bob.ID}, newUser("x@acme.test")...)...), msg: "userId cannot be combined"},
		{name: "email without the other new-user fields", body: with("email", "x@acme.test"), msg: "are required together"},
		{name: "new-user fields without email", body: with("password", "s3cret-password", "firstName", "A", "lastName", "B"), msg: "are required together"},
		{name: "new user with invalid email", body: with(newUser("not an email")...), msg: "is not a valid email address"},
		{name: "new user with short password", body: with(append(newUser("short@acme.test"), "password", "short")...), msg: "at least 8 characters"},
		{name: "new user with blank names", body: with(append(newUser("blank@acme.test"), "firstName", " ")...), msg: "firstName and lastName are required"},
		{name: "new user with an email in use", body: with(newUser(e.Bob.Email)...), msg: "is already in use"},
		{name: "unknown userId", body: with("userId", "unope123"), msg: "userId unope123 not found in your team"},
		{name: "userId of another team", body: with("userId", e.Carol.ID), msg: "not found in your team"},
		{name: "teamId of another team", body: with("teamId", e.TeamB), msg: "is not your team"},
		{name: "unknown teamId", body: with("teamId", "tenope123"), msg: "is not your team"},

		// Network and script.
		{name: "unknown networkId", body: with("networkId", "nnope12"), msg: "networkId nnope12 not found"},
		{name: "another team's network", body: with("networkId", e.NetB), msg: "not found"},
		{name: "network in another region", body: with("networkId", e.NetA2), msg: "is in Europe (AMS1), not in East Coast (NY2)"},
		{name: "unknown scriptId", body: with("scriptId", "scnope123"), msg: "scriptId scnope123 not found"},
		{name: "another team's script", body: with("scriptId", carolScript), msg: "not found"},

		// Snapshots and timers.
		{name: "restore point without initial snapshot", body: with("markSnapshotAsRestorePoint", true, "restorePointFrequency", "shutdown"), msg: "requires takeInitialSnapshot"},
		{name: "restore point without frequency", body: with("markSnapshotAsRestorePoint", true, "takeInitialSnapshot", true), msg: "requires takeInitialSnapshot true and restorePointFrequency"},
		{name: "unknown restorePointFrequency", body: with("restorePointFrequency", "daily"), msg: `Invalid restorePointFrequency "daily"`},
		{name: "negative shutdownTimeoutInHours", body: with("shutdownTimeoutInHours", -1), msg: "between 0 and 8760"},
		{name: "huge shutdownTimeoutInHours", body: with("shutdownTimeoutInHours", 9000), msg: "between 0 and 8760"},
		{name: "unknown autoSnapshotFrequency", body: with("autoSnapshotFrequency", "yearly"), msg: `Invalid autoSnapshotFrequency "yearly"`},
		{name: "autoSnapshotSaveCount zero", body: with("autoSnapshotSaveCount", 0), msg: "between 1 and 1000"},
		{name: "autoSnapshotSaveCount string out of range", body: with("autoSnapshotSaveCount", "5000"), msg: "between 1 and 1000"},
		{name: "notificationEmail not an address", body: with("notificationEmail", "ops at acme"), msg: `Invalid notificationEmail "ops at acme"`},
		{name: "notificationEmail with a display name", body: with("notificationEmail", "Ops <ops@acme.test>"), msg: "must be an email address"},

		// Callers (spec §2.0: team admin only).
		{name: "team member", key: e.Bob.Key, body: with(), status: 403, msg: "Only the team administrator can create machines"},
		{name: "team member creating for themselves", key: e.Bob.Key, body: with("userId", e.Bob.ID), status: 403, msg: "Only the team administrator"},

		// Transport.
		{name: "invalid JSON", body: `{"region": "East Coast (NY2)",`, msg: "not valid JSON"},
		{name: "JSON string body", body: `"hello"`, msg: "must be a JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key, status := c.key, c.status
			if key == "" {
				key = e.Alice.Key
			}
			if status == 0 {
				status = 400
			}
			r := e.call(t, key, "POST", "/machines/createSingleMachinePublic", c.body).must(t, status)
			if msg := r.errMessage(t); !strings.Contains(msg, c.msg) {
				t.Errorf("message %q does not contain %q", msg, c.msg)
			}
			before.same(t, e.snapshot(t))
		})
	}
	t.Run("Idempotency-Key too long", func(t *testing.T) {
		r := e.do(t, request{method: "POST", path: "/machines/createSingleMachinePublic", key: e.Alice.Key, body: createBody(),
			header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}}).must(t, 400)
		if msg := r.errMessage(t); !strings.Contains(msg, "at most 255") {
			t.Errorf("message %q", msg)
		}
		before.same(t, e.snapshot(t))
	})
	// The same requests, corrected, succeed: the rules above reject only what they should.
	t.Run("valid variants succeed", func(t *testing.T) {
		for _, body := range []map[string]any{
			with("templateId", windowsTmpl, "machineType", "Air", "machineName", "win"),
			with("templateId", e.TmplA, "machineName", "team template"),
			with("machineType", "P4000", "region", "West Coast (CA1)", "machineName", "ca1"),
			with("region", "NY2", "machineName", "short region"),
			with("teamId", e.TeamA, "userId", e.Bob.ID, "networkId", e.NetA, "machineName", "for bob"),
			with("markSnapshotAsRestorePoint", true, "takeInitialSnapshot", true, "restorePointFrequency", "shutdown", "machineName", "snap"),
			with("shutdownTimeoutInHours", 0, "autoSnapshotFrequency", "month", "autoSnapshotSaveCount", 1000, "machineName", "timers"),
			with("shutdownTimeoutInHours", jsonNull, "machineName", "live forever"),
			with("dynamicPublicIp", true, "assignPublicIp", false, "enableNvlink", true, "notificationEmail", "ops@acme.test", "machineName", "dyn"),
			with(append(newUser("new@acme.test"), "machineName", "for new")...),
		} {
			m := e.call(t, e.Alice.Key, "POST", "/machines/createSingleMachinePublic", body).must(t, 200).obj(t)
			if m["state"] != "provisioning" || m["name"] != body["machineName"] {
				t.Errorf("create %v: %v", body, m)
			}
			if body["shutdownTimeoutInHours"] == jsonNull && m["shutdownTimeoutInHours"] != nil {
				t.Errorf("shutdownTimeoutInHours null became %v", m["shutdownTimeoutInHours"])
			}
			if body["region"] == "NY2" && m["region"] != "East Coast (NY2)" {
				t.Errorf("short region code rendered as %v", m["region"])
			}
		}
	})
}

// TestCreateWithUserIsAtomic: a create that also creates a user, and then fails, leaves no
// user behind (Hangar is stricter than Paperspace here, spec §2.2).
func TestCreateWithUserIsAtomic(t *testing.T) {
	e := newEnv(t)
	// No P6000 capacity left in NY2: the operator empties both hosts.
	for _, h := range e.call(t, e.Operator.Key, "GET", "/hangar/v1/hosts?region="+q("East Coast (NY2)"), nil).must(t, 200).arr(t) {
		capacity := h["capacity"].(map[string]any)
		capacity["P6000"] = 0
		e.call(t, e.Operator.Key, "POST", "/hangar/v1/hosts/"+h["id"].(string), map[string]any{"capacity": capacity}).must(t, 200)
	}
	avail := map[string]bool{}
	e.call(t, e.Alice.Key, "GET", "/machines/getAvailability?region="+q("East Coast (NY2)")+"&machineType=P6000", nil).
		must(t, 200).json(t, &avail)
	if avail["available"] {
		t.Fatal("P6000 still available in NY2")
	}
	before := e.snapshot(t)
	cases := []struct {
		name string
		body map[string]any
		msg  string
	}{
		{"no capacity", createBody(append(newUser("atomic@acme.test"), "machineType", "P6000")...), "There are no P6000 machines available"},
		{"type not offered in region", createBody(append(newUser("atomic@acme.test"), "machineType", "GPU+", "region", "West Coast (CA1)")...), "no GPU+ machines"},
		{"unknown network", createBody(append(newUser("atomic@acme.test"), "networkId", "nnope12")...), "networkId nnope12 not found"},
		{"network in another region", createBody(append(newUser("atomic@acme.test"), "networkId", e.NetA2)...), "is in Europe (AMS1)"},
		{"unknown script", createBody(append(newUser("atomic@acme.test"), "scriptId", "scnope123")...), "scriptId scnope123 not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.call(t, e.Alice.Key, "POST", "/machines/createSingleMachinePublic", c.body).must(t, 400)
			if msg := r.errMessage(t); !strings.Contains(msg, c.msg) {
				t.Errorf("message %q does not contain %q", msg, c.msg)
			}
			before.same(t, e.snapshot(t))
			e.call(t, "", "POST", "/users/login", map[string]any{"email": "atomic@acme.test", "password": "s3cret-password"}).must(t, 401)
			var users []map[string]any
			e.call(t, e.Alice.Key, "GET", "/users/getUsers?email="+q("atomic@acme.test"), nil).must(t, 200).json(t, &users)
			if len(users) != 0 {
				t.Fatalf("user left behind: %v", users)
			}
		})
	}
	t.Run("the same user can then be created", func(t *testing.T) {
		m := e.call(t, e.Alice.Key, "POST", "/machines/createSingleMachinePublic", createBody(newUser("atomic@acme.test")...)).must(t, 200).obj(t)
		users := e.call(t, e.Alice.Key, "GET", "/users/getUsers?email="+q("atomic@acme.test"), nil).must(t, 200).arr(t)
		if len(users) != 1 || m["userId"] != users[0]["id"] {
			t.Fatalf("machine owner %v, users %v", m["userId"], users)
		}
		if users[0]["firstname"] != "New" || users[0]["lastname"] != "User" || users[0]["teamId"] != e.TeamA {
			t.Fatalf("new user %v", users[0])
		}
		e.call(t, "", "POST", "/users/login", map[string]any{"email": "atomic@acme.test", "password": "s3cret-password"}).must(t, 200)
	})
}

// TestIdempotencyKey: a retried create with the same key and body returns the first machine
// and creates nothing; the same key with another body is a 400.
func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	create := func(t *testing.T, key, idem string, body any) response {
		t.Helper()
		return e.do(t, request{method: "POST", path: "/machines/createSingleMachinePublic", key: key, body: body,
			header: map[string]string{"Idempotency-Key": idem}})
	}
	count := func(t *testing.T, key string) int {
		t.Helper()
		return len(e.call(t, key, "GET", "/machines/getMachines", nil).must(t, 200).arr(t))
	}
	body := createBody("machineName", "idem", "assignPublicIp", true)
	first := create(t, e.Alice.Key, "key-1", body).must(t, 200)
	id := first.obj(t)["id"].(string)

	t.Run("same key and body", func(t *testing.T) {
		again := create(t, e.Alice.Key, "key-1", body).must(t, 200)
		if !bytes.Equal(again.body, first.body) {
			t.Fatalf("retry answered\n%s\nfirst\n%s", again.body, first.body)
		}
		if n := count(t, e.Alice.Key); n != 1 {
			t.Fatalf("%d machines after a retry", n)
		}
	})
	t.Run("same key and body with other key order and spellings", func(t *testing.T) {
		raw := `{"templateId":"` + linuxTmpl + `","assignPublicIp":true,"machineName":"idem","billingType":"hourly","size":50,` +
			`"machineType":"C1","region":"East Coast (NY2)"}`
		again := create(t, e.Alice.Key, "key-1", raw).must(t, 200)
		if again.obj(t)["id"] != id {
			t.Fatalf("another machine: %s", again.body)
		}
	})
	t.Run("same key and a different body", func(t *testing.T) {
		r := create(t, e.Alice.Key, "key-1", createBody("machineName", "other")).must(t, 400)
		if msg := r.errMessage(t); !strings.Contains(msg, "already used with different parameters") {
			t.Fatalf("message %q", msg)
		}
		if n := count(t, e.Alice.Key); n != 1 {
			t.Fatalf("%d machines", n)
		}
	})
	t.Run("the retry is answered after the machine moved on", func(t *testing.T) {
		e.next(t, "starting", id)
		again := create(t, e.Alice.Key, "key-1", body).must(t, 200)
		if again.obj(t)["id"] != id {
			t.Fatalf("another machine: %s", again.body)
		}
	})
	t.Run("another key creates another machine", func(t *testing.T) {
		other := create(t, e.Alice.Key, "key-2", body).must(t, 200)
		if other.obj(t)["id"] == id {
			t.Fatal("key-2 returned key-1's machine")
		}
		if n := count(t, e.Alice.Key); n != 2 {
			t.Fatalf("%d machines", n)
		}
	})
	t.Run("keys are per user", func(t *testing.T) {
		theirs := create(t, e.Carol.Key, "key-1", body).must(t, 200)
		if theirs.obj(t)["id"] == id || theirs.obj(t)["teamId"] != e.TeamB {
			t.Fatalf("Carol got Alice's machine: %s", theirs.body)
		}
	})
	t.Run("a failed create does not use the key", func(t *testing.T) {
		create(t, e.Alice.Key, "key-3", createBody("templateId", "tnope123")).must(t, 400)
		ok := create(t, e.Alice.Key, "key-3", createBody("machineName", "fixed")).must(t, 200)
		if ok.obj(t)["name"] != "fixed" {
			t.Fatalf("%s", ok.body)
		}
	})
	t.Run("concurrent retries create one machine", func(t *testing.T) {
		b := createBody("machineName", "race")
		ids := make([]string, 8)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				r := create(t, e.Alice.Key, "key-race", b)
				var m struct{ ID string }
				if r.status != 200 || json.Unmarshal(r.body, &m) != nil {
					t.Errorf("concurrent retry: %s", r)
				}
				ids[i] = m.ID
			})
		}
		wg.Wait()
		for _, got := range ids {
			if got != ids[0] {
				t.Fatalf("concurrent retries created %v", ids)
			}
		}
		names := 0
		for _, m := range e.call(t, e.Alice.Key, "GET", "/machines/getMachines?name=race", nil).must(t, 200).arr(t) {
			if m["name"] == "race" {
				names++
			}
		}
		if names != 1 {
			t.Fatalf("%d machines named race", names)
		}
	})
}
