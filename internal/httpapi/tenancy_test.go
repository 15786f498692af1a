package httpapi

import (
	"slices"
	"strings"
	"testing"

	"hangar/api"
)

func ids(t *testing.T, r response) []string {
	t.Helper()
	var out []string
	for _, m := range r.arr(t) {
		s, _ := m["id"].(string)
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func sorted(v ...string) []string {
	slices.Sort(v)
	return v
}

// TestTenancy: another team's resources are invisible (404, never 403); team members see only
// the machines they own or were given access to, and may not create or administer (spec §1.8,
// §2.0, §2.3).
func TestTenancy(t *testing.T) {
	e := newEnv(t)
	A, Bob, C := e.Alice.Key, e.Bob.Key, e.Carol.Key
	mAlice := e.createMachine(t, A, "machineName", "alice's")
	mBob := e.createMachine(t, A, "machineName", "bob's", "userId", e.Bob.ID)
	mShared := e.createMachine(t, A, "machineName", "shared")
	mCarol := e.createMachine(t, C, "machineName", "carol's")
	e.driveTo(t, "ready", mAlice, mBob, mShared, mCarol)
	sAlice := e.call(t, A, "POST", "/scripts/createScript", map[string]any{"scriptName": "alice", "scriptText": "a"}).must(t, 200).obj(t)["id"].(string)
	sCarol := e.call(t, C, "POST", "/scripts/createScript", map[string]any{"scriptName": "carol", "scriptText": "c"}).must(t, 200).obj(t)["id"].(string)

	t.Run("another team's machine is not found", func(t *testing.T) {
		want := e.call(t, C, "GET", "/machines/getMachinePublic?machineId=psnope123", nil).must(t, 404).errMessage(t)
		for _, rq := range []request{
			{method: "GET", path: "/machines/getMachinePublic?machineId=" + mAlice},
			{method: "POST", path: "/machines/" + mAlice + "/start"},
			{method: "POST", path: "/machines/" + mAlice + "/stop"},
			{method: "POST", path: "/machines/" + mAlice + "/restart"},
			{method: "POST", path: "/machines/" + mAlice + "/destroyMachine"},
			{method: "POST", path: "/machines/" + mAlice + "/updateMachinePublic", body: map[string]any{"machineName": "x"}},
			{method: "POST", path: "/machines/updateMachine", body: map[string]any{"machineId": mAlice, "machineName": "x"}},
			{method: "POST", path: "/machines/" + mAlice + "/setMachineAccess", body: map[string]any{"userId": e.Carol.ID}},
			{method: "GET", path: "/machines/" + mAlice + "/setMachineAccess?userId=" + e.Carol.ID},
			{method: "POST", path: "/machines/" + mAlice + "/setMachineAccessPublic", body: map[string]any{"userId": e.Carol.ID}},
			{method: "GET", path: "/machines/" + mAlice + "/setMachineAccessPublic?userId=" + e.Carol.ID},
			{method: "POST", path: "/scripts/createScript", body: map[string]any{"scriptName": "sneaky", "scriptText": "x", "machineId": mAlice}},
		} {
			rq.key = C
			r := e.do(t, rq).must(t, 404)
			if got := strings.ReplaceAll(r.errMessage(t), mAlice, "psnope123"); got != want {
				t.Errorf("%s %s: message %q differs from an unknown machine's %q", rq.method, rq.path, got, want)
			}
		}
		if m := e.machine(t, A, mAlice); m["name"] != "alice's" || m["state"] != "ready" {
			t.Fatalf("Carol changed Alice's machine: %v", m)
		}
		if n := len(e.call(t, C, "GET", "/scripts/getScripts?name=sneaky", nil).must(t, 200).arr(t)); n != 0 {
			t.Fatal("script created for another team's machine")
		}
	})
	t.Run("another team's script is not found", func(t *testing.T) {
		for _, rq := range []request{
			{method: "GET", path: "/scripts/getScript?scriptId=" + sAlice},
			{method: "GET", path: "/scripts/getScriptText?scriptId=" + sAlice},
			{method: "POST", path: "/scripts/" + sAlice + "/destroy"},
		} {
			rq.key = C
			e.do(t, rq).must(t, 404)
		}
		e.call(t, A, "GET", "/scripts/getScript?scriptId="+sAlice, nil).must(t, 200)
		e.call(t, A, "GET", "/scripts/getScript?scriptId="+sCarol, nil).must(t, 404)
	})
	t.Run("lists are scoped to the team", func(t *testing.T) {
		if got := ids(t, e.call(t, C, "GET", "/machines/getMachines", nil).must(t, 200)); !slices.Equal(got, []string{mCarol}) {
			t.Errorf("Carol's machines %v", got)
		}
		if got := ids(t, e.call(t, C, "GET", "/machines/getMachines?teamId="+e.TeamA, nil).must(t, 200)); len(got) != 0 {
			t.Errorf("teamId filter leaks %v", got)
		}
		if got := ids(t, e.call(t, A, "GET", "/machines/getMachines", nil).must(t, 200)); !slices.Equal(got, sorted(mAlice, mBob, mShared)) {
			t.Errorf("Alice's machines %v", got)
		}
		if got := ids(t, e.call(t, C, "GET", "/users/getUsers", nil).must(t, 200)); !slices.Equal(got, []string{e.Carol.ID}) {
			t.Errorf("Carol's users %v", got)
		}
		if got := ids(t, e.call(t, C, "GET", "/networks/getNetworks", nil).must(t, 200)); !slices.Equal(got, []string{e.NetB}) {
			t.Errorf("Carol's networks %v", got)
		}
		if got := ids(t, e.call(t, C, "GET", "/scripts/getScripts", nil).must(t, 200)); !slices.Equal(got, []string{sCarol}) {
			t.Errorf("Carol's scripts %v", got)
		}
		tmpls := ids(t, e.call(t, C, "GET", "/templates/getTemplates", nil).must(t, 200))
		if !slices.Contains(tmpls, e.TmplB) || slices.Contains(tmpls, e.TmplA) || !slices.Contains(tmpls, linuxTmpl) {
			t.Errorf("Carol's templates %v", tmpls)
		}
	})
	t.Run("members see owned and shared machines only", func(t *testing.T) {
		list := func() []string { return ids(t, e.call(t, Bob, "GET", "/machines/getMachines", nil).must(t, 200)) }
		if got := list(); !slices.Equal(got, []string{mBob}) {
			t.Fatalf("Bob sees %v", got)
		}
		e.call(t, Bob, "GET", "/machines/getMachinePublic?machineId="+mShared, nil).must(t, 404)
		e.call(t, A, "POST", "/machines/"+mShared+"/setMachineAccess", map[string]any{"userId": e.Bob.ID, "enableAccess": true}).must(t, 200)
		if got := list(); !slices.Equal(got, sorted(mBob, mShared)) {
			t.Fatalf("Bob with access sees %v", got)
		}
		e.call(t, Bob, "GET", "/machines/getMachinePublic?machineId="+mShared, nil).must(t, 200)
		// Granting twice is idempotent.
		e.call(t, A, "GET", "/machines/"+mShared+"/setMachineAccessPublic?userId="+e.Bob.ID, nil).must(t, 200)
		if got := list(); !slices.Equal(got, sorted(mBob, mShared)) {
			t.Fatalf("Bob after a second grant sees %v", got)
		}
		e.call(t, Bob, "GET", "/machines/getMachinePublic?machineId="+mAlice, nil).must(t, 404)
	})
	t.Run("member permissions", func(t *testing.T) {
		e.call(t, Bob, "POST", "/machines/createSingleMachinePublic", createBody()).must(t, 403)
		// Power: owner and accessor (spec §6 #36).
		e.call(t, Bob, "POST", "/machines/"+mBob+"/restart", nil).must(t, 204)
		e.call(t, Bob, "POST", "/machines/"+mShared+"/restart", nil).must(t, 204)
		e.call(t, Bob, "POST", "/machines/"+mAlice+"/restart", nil).must(t, 404)
		// Update: owner only.
		e.call(t, Bob, "POST", "/machines/"+mBob+"/updateMachinePublic", map[string]any{"machineName": "bob's box"}).must(t, 204)
		e.call(t, Bob, "POST", "/machines/"+mShared+"/updateMachinePublic", map[string]any{"machineName": "mine now"}).must(t, 403)
		e.call(t, Bob, "POST", "/machines/updateMachine", map[string]any{"machineId": mShared, "machineName": "mine now"}).must(t, 403)
		// Access and destroy: team admin only.
		e.call(t, Bob, "POST", "/machines/"+mBob+"/setMachineAccess", map[string]any{"userId": e.Alice.ID}).must(t, 403)
		e.call(t, Bob, "POST", "/machines/"+mBob+"/destroyMachine", nil).must(t, 403)
		e.machine(t, Bob, mBob)
		// Scripts: a member sees their own (and team-owned) scripts; may read the team's;
		// may destroy only their own; may attach scripts only to machines they own.
		sBob := e.call(t, Bob, "POST", "/scripts/createScript", map[string]any{"scriptName": "bob", "scriptText": "b", "machineId": mBob}).must(t, 200).obj(t)["id"].(string)
		if m := e.machine(t, Bob, mBob); m["scriptId"] != sBob {
			t.Fatalf("script not attached: %v", m["scriptId"])
		}
		e.call(t, Bob, "POST", "/scripts/createScript", map[string]any{"scriptName": "bob2", "scriptText": "b", "machineId": mShared}).must(t, 404)
		e.call(t, Bob, "POST", "/scripts/createScript", map[string]any{"scriptName": "bob3", "scriptText": "b", "machineId": mAlice}).must(t, 404)
		if got := ids(t, e.call(t, Bob, "GET", "/scripts/getScripts", nil).must(t, 200)); !slices.Equal(got, []string{sBob}) {
			t.Errorf("Bob's scripts %v", got)
		}
		if got := ids(t, e.call(t, A, "GET", "/scripts/getScripts", nil).must(t, 200)); !slices.Equal(got, sorted(sAlice, sBob)) {
			t.Errorf("Alice's scripts %v", got)
		}
		e.call(t, Bob, "GET", "/scripts/getScript?scriptId="+sAlice, nil).must(t, 200)
		e.call(t, Bob, "POST", "/scripts/"+sAlice+"/destroy", nil).must(t, 403)
		e.call(t, Bob, "POST", "/scripts/"+sBob+"/destroy", nil).must(t, 204)
		if m := e.machine(t, Bob, mBob); m["scriptId"] != nil {
			t.Fatalf("destroyed script still attached: %v", m["scriptId"])
		}
		// Users: the whole team.
		if got := ids(t, e.call(t, Bob, "GET", "/users/getUsers", nil).must(t, 200)); !slices.Equal(got, sorted(e.Alice.ID, e.Bob.ID)) {
			t.Errorf("Bob's users %v", got)
		}
	})
	t.Run("revoking access hides the machine again", func(t *testing.T) {
		e.call(t, A, "POST", "/machines/"+mShared+"/setMachineAccess", map[string]any{"userId": e.Bob.ID, "enableAccess": false}).must(t, 200)
		e.call(t, Bob, "GET", "/machines/getMachinePublic?machineId="+mShared, nil).must(t, 404)
		e.call(t, Bob, "POST", "/machines/"+mShared+"/stop", nil).must(t, 404)
	})
	t.Run("operator API needs the operator", func(t *testing.T) {
		for _, rt := range e.API.Routes() {
			if rt.Auth != AuthOperator {
				continue
			}
			path := strings.NewReplacer("{id}", "x1").Replace(rt.Pattern)
			for _, key := range []string{A, Bob, C} {
				e.call(t, key, rt.Method, path, map[string]any{}).must(t, 403)
			}
			e.call(t, "", rt.Method, path, map[string]any{}).must(t, 401)
		}
	})
	t.Run("revoked key", func(t *testing.T) {
		e.call(t, e.Operator.Key, "POST", "/hangar/v1/keys/"+e.Carol.KeyID+"/revoke", nil).must(t, 200)
		e.call(t, C, "GET", "/machines/getMachines", nil).must(t, 401)
	})
}

// TestNoCrossTenantEmailOracle: an email is unique within a team only, so create-with-new-user
// answers an email that another team (or the operator) has exactly as it answers an unused
// one, and each user then logs in with their own password. Only an email of the caller's own
// team, which the caller can list anyway, is refused.
func TestNoCrossTenantEmailOracle(t *testing.T) {
	e := newEnv(t)
	created := map[string]string{} // email -> the new user's id
	for _, email := range []string{"unused@acme.test", e.Carol.Email, strings.ToUpper(e.Carol.Email), e.Operator.Email} {
		body := createBody(append([]any{"machineName", "for " + email}, newUser(email)...)...)
		if email == strings.ToUpper(e.Carol.Email) {
			// The same email in another case is the same email: Alice's team has it now.
			msg := e.call(t, e.Alice.Key, "POST", "/machines/createSingleMachinePublic", body).must(t, 400).errMessage(t)
			if !strings.Contains(msg, "already in use in this team") {
				t.Errorf("second user with %s in team A: %q", email, msg)
			}
			continue
		}
		m := e.call(t, e.Alice.Key, "POST", "/machines/createSingleMachinePublic", body).must(t, 200).obj(t)
		uid, _ := m["userId"].(string)
		if uid == "" || uid == e.Carol.ID || uid == e.Operator.ID || m["teamId"] != e.TeamA {
			t.Fatalf("create with new user %s: userId %v teamId %v, want a new user of team A", email, m["userId"], m["teamId"])
		}
		created[email] = uid
	}
	// Alice's own team's email is refused: that is no oracle, she can list her users.
	msg := e.call(t, e.Alice.Key, "POST", "/machines/createSingleMachinePublic",
		createBody(newUser(e.Bob.Email)...)).must(t, 400).errMessage(t)
	if !strings.Contains(msg, "already in use in this team") {
		t.Errorf("new user with Bob's email in Bob's team: %q", msg)
	}

	login := func(email, password string) response {
		return e.call(t, "", "POST", "/users/login", map[string]any{"email": email, "password": password})
	}
	// Carol and the new user of team A share an email; each password reaches its own user.
	if got := login(e.Carol.Email, e.Carol.Password).must(t, 200).obj(t)["userId"]; got != e.Carol.ID {
		t.Errorf("Carol's login gave user %v, want %s", got, e.Carol.ID)
	}
	for _, email := range []string{e.Carol.Email, e.Operator.Email} {
		if got := login(email, "s3cret-password").must(t, 200).obj(t)["userId"]; got != created[email] {
			t.Errorf("login of team A's %s gave user %v, want %s", email, got, created[email])
		}
	}
	login(e.Carol.Email, "wrong-password").must(t, 401)

	// The operator's account is still the operator's: its key works, and it names the user
	// it updates by id when an email is ambiguous.
	e.call(t, e.Operator.Key, "GET", api.OperatorPrefix+"/teams", nil).must(t, 200)
	msg = e.call(t, e.Operator.Key, "POST", api.OperatorPrefix+"/users/"+e.Carol.Email, map[string]any{"disabled": true}).
		must(t, 400).errMessage(t)
	if !strings.Contains(msg, "give the user's id") || !strings.Contains(msg, e.Carol.ID) || !strings.Contains(msg, created[e.Carol.Email]) {
		t.Errorf("update by an email two users have: %q", msg)
	}
	e.call(t, e.Operator.Key, "POST", api.OperatorPrefix+"/users/"+e.Carol.ID, map[string]any{"disabled": true}).must(t, 200)
	login(e.Carol.Email, e.Carol.Password).must(t, 401)
	login(e.Carol.Email, "s3cret-password").must(t, 200)
}
