package httpapi

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"hangar/api"
	"hangar/internal/core"
	"hangar/internal/service"
	"hangar/internal/store"
)

// caller is a kind of caller of the authorization matrix.
type caller int

const (
	cNone       caller = iota // no credentials
	cMalformed                // an x-api-key that is no key at all
	cRevoked                  // a revoked API key of a team admin
	cExpired                  // an expired users/login access token of a team admin
	cMember                   // a member of team A who neither owns nor may access the machine
	cOwner                    // the member of team A who owns the machine (and its script)
	cAccessor                 // a member of team A given access to the machine
	cAdmin                    // team A's admin
	cOtherAdmin               // the admin of team B
	cOperator                 // the Hangar operator
	nCallers
)

var callerNames = [nCallers]string{"none", "malformed key", "revoked key", "expired token", "member", "owner",
	"accessor", "team admin", "other team's admin", "operator"}

func (c caller) String() string { return callerNames[c] }

// wants is the expected status per caller kind.
type wants [nCallers]int

// team: the four kinds of bad credentials are 401; then the six authenticated kinds.
func team(member, owner, accessor, admin, other, operator int) wants {
	return wants{401, 401, 401, 401, member, owner, accessor, admin, other, operator}
}

// opOnly: an operator route, status for the operator and 403 for everyone else authenticated.
func opOnly(status int) wants { return team(403, 403, 403, 403, 403, status) }

func anyone(status int) wants {
	var w wants
	for i := range w {
		w[i] = status
	}
	return w
}

// matrixRow builds the request of one route for one caller; fx hands out fixtures (fresh
// ones for calls that use their target up).
type matrixRow struct {
	build func(fx *matrixFix, c caller) request
	want  wants
}

// loginRow is the route whose body names who the caller is (users/login logs in as the
// accessor): the data its response may show is the accessor's, whatever credential came along.
const loginRow = "POST /users/login"

// matrixFix is the world of the matrix: team A (Alice admin; Bob, Dave, Eve members) with a
// ready machine owned by Dave and shared with Eve, Dave's script, a pool of machines like it
// for the calls that change their target; team B (Carol) with a machine and a script.
type matrixFix struct {
	e                *env
	t                *testing.T
	op               core.Principal
	dave, eve        principal
	revoked, expired string // credentials
	machine, script  string // team A's
	teamNum          string // team A's numeric id
	pool             []string
	carolMachine     string
	carolScript      string
	n                int
	// other is what each caller must never see: another team's ids, emails, names and keys.
	aData, bData, opData []string
}

func (fx *matrixFix) seq() int { fx.n++; return fx.n }

// freshMachine is a ready team-A machine no other call has used (for callers who get past
// authentication; the others get the shared one, which they cannot touch).
func (fx *matrixFix) freshMachine(c caller) string {
	if c < cMember {
		return fx.machine
	}
	if len(fx.pool) == 0 {
		fx.t.Fatal("machine pool exhausted")
	}
	m := fx.pool[0]
	fx.pool = fx.pool[1:]
	return m
}

func (fx *matrixFix) freshScript() string {
	return fx.e.call(fx.t, fx.dave.Key, "POST", "/scripts/createScript",
		map[string]any{"scriptName": fmt.Sprint("dave-", fx.seq()), "scriptText": "echo dave"}).must(fx.t, 200).obj(fx.t)["id"].(string)
}

// keptIP is a fresh static public IP that team A keeps without a machine (as a destroy
// without releasePublicIp leaves it).
func (fx *matrixFix) keptIP() string {
	addr := fmt.Sprintf("198.19.254.%d", fx.seq()%250+1)
	team := fx.e.TeamA
	if err := fx.e.db.Write(context.Background(), func(tx store.Tx) error {
		return tx.InsertPublicIP(&core.PublicIP{Address: addr, TeamID: &team})
	}); err != nil && core.ErrorCode(err) != core.Conflict {
		fx.t.Fatal(err)
	}
	return addr
}

// opCreate creates an object through the operator API and returns its id.
func (fx *matrixFix) opCreate(path string, body map[string]any) string {
	return fx.e.call(fx.t, fx.e.Operator.Key, "POST", path, body).must(fx.t, 200).obj(fx.t)["id"].(string)
}

func newMatrixFix(t *testing.T, e *env) *matrixFix {
	ctx := context.Background()
	fx := &matrixFix{e: e, t: t}
	op, err := e.Svc.Authenticate(ctx, e.Operator.Key)
	if err != nil {
		t.Fatal(err)
	}
	fx.op = op
	// The matrix makes far more of team A's machines and networks than a team may by default.
	unlimited := core.Unlimited
	if _, err := e.Svc.UpdateTeamQuotas(ctx, op, e.TeamA, map[core.Quota]*int{core.QuotaMachines: &unlimited,
		core.QuotaRunning: &unlimited, core.QuotaNetworks: &unlimited}); err != nil {
		t.Fatal(err)
	}
	// The expired token is issued first, then the clock passes its lifetime (14 days here),
	// before anything else exists.
	fx.expired = e.call(t, "", "POST", "/users/login", map[string]any{"email": e.Alice.Email, "password": e.Alice.Password}).
		must(t, 200).obj(t)["id"].(string)
	e.Clock.add(e.Svc.TokenTTL() + time.Second)
	rk, err := e.Svc.CreateKey(ctx, op, e.Alice.ID, "to-revoke")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.RevokeKey(ctx, op, rk.Key.ID); err != nil {
		t.Fatal(err)
	}
	fx.revoked = rk.Secret
	member := func(email, first string) principal {
		u, err := e.Svc.CreateUser(ctx, op, service.NewUser{Team: e.TeamA, Email: email, Password: "pw-" + first + "-secret",
			FirstName: first, LastName: "Matrix"})
		if err != nil {
			t.Fatal(err)
		}
		k, err := e.Svc.CreateKey(ctx, op, u.ID, "default")
		if err != nil {
			t.Fatal(err)
		}
		return principal{ID: u.ID, Email: email, Password: "pw-" + first + "-secret", Key: k.Secret, KeyID: k.Key.ID}
	}
	fx.dave, fx.eve = member("dave@acme.test", "Dave"), member("eve@acme.test", "Eve")
	newMachine := func() string {
		id := e.createMachine(t, e.Alice.Key, "machineName", fmt.Sprint("acme-box-", fx.seq()), "userId", fx.dave.ID)
		e.call(t, e.Alice.Key, "POST", "/machines/"+id+"/setMachineAccess", map[string]any{"userId": fx.eve.ID, "enableAccess": true}).must(t, 200)
		return id
	}
	fx.machine = newMachine()
	fx.teamNum = strconv.FormatInt(e.teamNum(t, e.TeamA), 10)
	all := []string{fx.machine}
	for range 7 * 6 { // stop, restart, destroy and the four setMachineAccess routes, per authenticated caller
		m := newMachine()
		fx.pool = append(fx.pool, m)
		all = append(all, m)
	}
	fx.carolMachine = e.createMachine(t, e.Carol.Key, "machineName", "globex-box")
	e.driveTo(t, "ready", append(all, fx.carolMachine)...)
	fx.script = fx.freshScript()
	fx.carolScript = e.call(t, e.Carol.Key, "POST", "/scripts/createScript", map[string]any{"scriptName": "globex-script", "scriptText": "echo c"}).
		must(t, 200).obj(t)["id"].(string)

	fx.aData = append([]string{e.TeamA, e.Alice.ID, e.Bob.ID, fx.dave.ID, fx.eve.ID, e.Alice.Email, e.Bob.Email, fx.dave.Email,
		fx.eve.Email, e.Alice.Key, e.Bob.Key, fx.dave.Key, fx.eve.Key, e.NetA, e.NetA2, e.TmplA, "Acme", "acme-box", fx.script}, all...)
	fx.bData = []string{e.TeamB, e.Carol.ID, e.Carol.Email, e.Carol.Key, e.NetB, e.TmplB, "Globex", "globex-box",
		fx.carolMachine, fx.carolScript}
	fx.opData = []string{e.OpTeam, e.Operator.ID, e.Operator.Email, e.Operator.Key}
	return fx
}

// credential sets c's credential on rq: a key header, or the access token in the query.
func (fx *matrixFix) credential(c caller, rq request) request {
	switch c {
	case cMalformed:
		rq.key = "this is not a key%00"
	case cRevoked:
		rq.key = fx.revoked
	case cExpired:
		sep := "?"
		if strings.Contains(rq.path, "?") {
			sep = "&"
		}
		rq.path += sep + "access_token=" + url.QueryEscape(fx.expired)
	case cMember:
		rq.key = fx.e.Bob.Key
	case cOwner:
		rq.key = fx.dave.Key
	case cAccessor:
		rq.key = fx.eve.Key
	case cAdmin:
		rq.key = fx.e.Alice.Key
	case cOtherAdmin:
		rq.key = fx.e.Carol.Key
	case cOperator:
		rq.key = fx.e.Operator.Key
	}
	return rq
}

// forbidden is what c must never find in a response: every team's data but its own.
func (fx *matrixFix) forbidden(c caller) []string {
	var out []string
	switch c {
	case cMember, cOwner, cAccessor, cAdmin:
		out = append(append(out, fx.bData...), fx.opData...)
	case cOtherAdmin:
		out = append(append(out, fx.aData...), fx.opData...)
	case cOperator:
		out = append(append(out, fx.aData...), fx.bData...)
	default:
		out = append(append(append(out, fx.aData...), fx.bData...), fx.opData...)
	}
	return out
}

// matrixRows has one row per route of the API. A route without a row fails the test.
func matrixRows() map[string]matrixRow {
	get := func(path func(fx *matrixFix) string) func(*matrixFix, caller) request {
		return func(fx *matrixFix, _ caller) request { return request{method: "GET", path: path(fx)} }
	}
	post := func(path func(fx *matrixFix, c caller) string, body func(fx *matrixFix) any) func(*matrixFix, caller) request {
		return func(fx *matrixFix, c caller) request {
			var b any
			if body != nil {
				b = body(fx)
			}
			return request{method: "POST", path: path(fx, c), body: b}
		}
	}
	fixed := func(p string) func(*matrixFix, caller) string { return func(*matrixFix, caller) string { return p } }
	shared := func(action string) func(*matrixFix, caller) string {
		return func(fx *matrixFix, _ caller) string { return "/machines/" + fx.machine + "/" + action }
	}
	fresh := func(action string) func(*matrixFix, caller) string {
		return func(fx *matrixFix, c caller) string { return "/machines/" + fx.freshMachine(c) + "/" + action }
	}
	grant := func(fx *matrixFix) any { return map[string]any{"userId": fx.e.Bob.ID, "enableAccess": true} }
	setAccessGet := func(path string) func(*matrixFix, caller) request {
		return func(fx *matrixFix, c caller) request {
			return request{method: "GET", path: "/machines/" + fx.freshMachine(c) + "/" + path + "?userId=" + fx.e.Bob.ID + "&enableAccess=true"}
		}
	}
	del := func(path func(fx *matrixFix) string) func(*matrixFix, caller) request {
		return func(fx *matrixFix, _ caller) request { return request{method: "DELETE", path: path(fx)} }
	}
	op := "/hangar/v1"
	powered := team(404, 204, 204, 204, 404, 404)
	teamWide := team(200, 200, 200, 200, 200, 200)
	scriptRead := team(200, 200, 200, 200, 404, 404)
	setAccess := team(404, 403, 403, 200, 404, 404)
	rows := map[string]matrixRow{
		"POST /machines/createSingleMachinePublic": {post(fixed("/machines/createSingleMachinePublic"), func(fx *matrixFix) any {
			return createBody("machineName", fmt.Sprint("new-", fx.seq()))
		}), team(403, 403, 403, 200, 200, 200)},
		"GET /machines/getMachines": {get(func(*matrixFix) string { return "/machines/getMachines" }), teamWide},
		"GET /machines/getMachinePublic": {get(func(fx *matrixFix) string { return "/machines/getMachinePublic?machineId=" + fx.machine }),
			team(404, 200, 200, 200, 404, 404)},
		"POST /machines/{machineId}/start":          {post(shared("start"), nil), powered}, // ready: a no-op
		"POST /machines/{machineId}/stop":           {post(fresh("stop"), nil), powered},
		"POST /machines/{machineId}/restart":        {post(fresh("restart"), nil), powered},
		"POST /machines/{machineId}/destroyMachine": {post(fresh("destroyMachine"), nil), team(404, 403, 403, 204, 404, 404)},
		"POST /machines/{machineId}/updateMachinePublic": {post(shared("updateMachinePublic"), func(fx *matrixFix) any {
			return map[string]any{"machineName": fmt.Sprint("acme-box-renamed-", fx.seq())}
		}), team(404, 204, 403, 204, 404, 404)},
		"POST /machines/updateMachine": {post(fixed("/machines/updateMachine"), func(fx *matrixFix) any {
			return map[string]any{"machineId": fx.machine, "machineName": fmt.Sprint("acme-box-renamed-", fx.seq())}
		}), team(404, 200, 403, 200, 404, 404)},
		"GET /machines/getAvailability": {get(func(*matrixFix) string {
			return "/machines/getAvailability?region=East%20Coast%20(NY2)&machineType=C1"
		}), teamWide},
		"GET /machines/{machineId}/setMachineAccess":        {setAccessGet("setMachineAccess"), setAccess},
		"POST /machines/{machineId}/setMachineAccess":       {post(fresh("setMachineAccess"), grant), setAccess},
		"GET /machines/{machineId}/setMachineAccessPublic":  {setAccessGet("setMachineAccessPublic"), setAccess},
		"POST /machines/{machineId}/setMachineAccessPublic": {post(fresh("setMachineAccessPublic"), grant), setAccess},
		"GET /users/getUsers":                               {get(func(*matrixFix) string { return "/users/getUsers" }), teamWide},
		"GET /templates/getTemplates":                       {get(func(*matrixFix) string { return "/templates/getTemplates" }), teamWide},
		// Utilization: the owner and the team admin; an accessor is refused, others see nothing.
		"GET /machines/getUtilization": {get(func(fx *matrixFix) string {
			return "/machines/getUtilization?machineId=" + fx.machine + "&billingMonth=2024-03"
		}), team(404, 200, 403, 200, 404, 404)},
		// Team networks (terraform) and /networks (paperspace-go): admins manage, members list.
		"POST /teams/{teamId}/createPrivateNetwork": {post(func(fx *matrixFix, _ caller) string {
			return "/teams/" + fx.teamNum + "/createPrivateNetwork"
		}, func(fx *matrixFix) any { return map[string]any{"name": fmt.Sprint("tf-net-", fx.seq()), "regionId": 1} }),
			team(403, 403, 403, 200, 404, 404)},
		"GET /teams/{teamId}/getNetworks": {get(func(fx *matrixFix) string { return "/teams/" + fx.teamNum + "/getNetworks" }),
			team(200, 200, 200, 200, 404, 404)},
		"GET /networks": {get(func(*matrixFix) string { return "/networks" }), teamWide},
		"POST /networks": {post(fixed("/networks"), func(fx *matrixFix) any {
			return map[string]any{"name": fmt.Sprint("go-net-", fx.seq()), "regionId": 3}
		}), team(403, 403, 403, 200, 200, 200)},
		"DELETE /networks/{id}": {func(fx *matrixFix, c caller) request {
			id := fx.e.call(fx.t, fx.e.Alice.Key, "POST", "/networks", map[string]any{"name": fmt.Sprint("doomed-net-", fx.seq()), "regionId": 3}).
				must(fx.t, 200).obj(fx.t)["id"].(string)
			return request{method: "DELETE", path: "/networks/" + id}
		}, team(403, 403, 403, 204, 404, 404)},
		"GET /networks/getNetworks": {get(func(*matrixFix) string { return "/networks/getNetworks" }), teamWide},
		"POST /scripts/createScript": {post(fixed("/scripts/createScript"), func(fx *matrixFix) any {
			return map[string]any{"scriptName": fmt.Sprint("new-script-", fx.seq()), "scriptText": "echo"}
		}), teamWide},
		"POST /scripts/{scriptId}/destroy": {func(fx *matrixFix, c caller) request {
			id := fx.script
			if c >= cMember {
				id = fx.freshScript()
			}
			return request{method: "POST", path: "/scripts/" + id + "/destroy"}
		}, team(403, 204, 403, 204, 404, 404)},
		"GET /scripts/getScripts":    {get(func(*matrixFix) string { return "/scripts/getScripts" }), teamWide},
		"GET /scripts/getScript":     {get(func(fx *matrixFix) string { return "/scripts/getScript?scriptId=" + fx.script }), scriptRead},
		"GET /scripts/getScriptText": {get(func(fx *matrixFix) string { return "/scripts/getScriptText?scriptId=" + fx.script }), scriptRead},
		// Login is anonymous: whatever credential comes along is ignored.
		"POST /users/login": {post(fixed("/users/login"), func(fx *matrixFix) any {
			return map[string]any{"email": fx.eve.Email, "password": fx.eve.Password}
		}), anyone(200)},
		// Logout ends a users/login token; every caller here holds an API key (or an expired token).
		"POST /users/logout":           {post(fixed("/users/logout"), nil), team(400, 400, 400, 400, 400, 400)},
		"POST /apiTokens/createPublic": {post(fixed("/apiTokens/createPublic"), func(*matrixFix) any { return map[string]any{} }), teamWide},
		"POST /apiToken/createPublic":  {post(fixed("/apiToken/createPublic"), func(*matrixFix) any { return map[string]any{} }), teamWide},

		"GET " + op + "/teams": {get(func(*matrixFix) string { return op + "/teams" }), opOnly(200)},
		"POST " + op + "/teams": {post(fixed(op+"/teams"), func(fx *matrixFix) any {
			return map[string]any{"name": fmt.Sprint("Team ", fx.seq())}
		}), opOnly(200)},
		"GET " + op + "/teams/{id}": {get(func(fx *matrixFix) string { return op + "/teams/" + fx.e.TeamA }), opOnly(200)},
		"POST " + op + "/teams/{id}": {post(func(fx *matrixFix, _ caller) string { return op + "/teams/" + fx.e.TeamA },
			func(*matrixFix) any { return map[string]any{"quotas": map[string]any{"scripts": 1000}} }), opOnly(200)},
		// Public IPs: a team admin lists and releases the team's, the operator every team's.
		"GET " + op + "/publicIps": {get(func(*matrixFix) string { return op + "/publicIps" }),
			team(403, 403, 403, 200, 200, 200)},
		"POST " + op + "/publicIps/{address}/release": {post(func(fx *matrixFix, _ caller) string {
			return op + "/publicIps/" + fx.keptIP() + "/release"
		}, nil), team(403, 403, 403, 200, 404, 200)},
		"GET " + op + "/users": {get(func(*matrixFix) string { return op + "/users" }), opOnly(200)},
		"POST " + op + "/users": {post(fixed(op+"/users"), func(fx *matrixFix) any {
			return map[string]any{"team": fx.e.TeamA, "email": fmt.Sprint("new-", fx.seq(), "@acme.test"), "password": "correct horse",
				"firstName": "New", "lastName": "User"}
		}), opOnly(200)},
		"POST " + op + "/users/{id}": {post(func(fx *matrixFix, _ caller) string {
			u, err := fx.e.Svc.CreateUser(context.Background(), fx.op, service.NewUser{Team: fx.e.TeamA,
				Email: fmt.Sprint("doomed-", fx.seq(), "@acme.test"), Password: "correct horse", FirstName: "D", LastName: "U"})
			if err != nil {
				fx.t.Fatal(err)
			}
			return op + "/users/" + u.ID
		}, func(*matrixFix) any { return map[string]any{"disabled": true} }), opOnly(200)},
		// SSH keys of users: the operator only.
		"GET " + op + "/users/{id}/sshKeys": {get(func(fx *matrixFix) string { return op + "/users/" + fx.e.Bob.ID + "/sshKeys" }), opOnly(200)},
		"POST " + op + "/users/{id}/sshKeys": {post(func(fx *matrixFix, _ caller) string { return op + "/users/" + fx.e.Bob.ID + "/sshKeys" },
			func(fx *matrixFix) any { return map[string]any{"publicKey": newSSHKey(fx.t)} }), opOnly(200)},
		"DELETE " + op + "/users/{id}/sshKeys/{keyId}": {del(func(fx *matrixFix) string {
			k, err := fx.e.Svc.AddSSHKey(context.Background(), fx.op, fx.e.Bob.ID, newSSHKey(fx.t))
			if err != nil {
				fx.t.Fatal(err)
			}
			return op + "/users/" + fx.e.Bob.ID + "/sshKeys/" + k.ID
		}), opOnly(204)},
		// Keys: every user lists and revokes their own, a team admin the team's, the operator all.
		"GET " + op + "/keys":  {get(func(*matrixFix) string { return op + "/keys" }), teamWide},
		"POST " + op + "/keys": {post(fixed(op+"/keys"), func(fx *matrixFix) any { return map[string]any{"user": fx.e.Bob.ID} }), opOnly(200)},
		"POST " + op + "/keys/{id}/revoke": {post(func(fx *matrixFix, _ caller) string {
			nk, err := fx.e.Svc.CreateKey(context.Background(), fx.op, fx.e.Bob.ID, "spare")
			if err != nil {
				fx.t.Fatal(err)
			}
			return op + "/keys/" + nk.Key.ID + "/revoke"
		}, nil), team(200, 404, 404, 200, 404, 200)}, // Bob's key: Bob (member), his admin, the operator
		"GET " + op + "/usage":     {get(func(*matrixFix) string { return op + "/usage?month=2024-03" }), opOnly(200)},
		"GET " + op + "/audit":     {get(func(*matrixFix) string { return op + "/audit?limit=5" }), opOnly(200)},
		"GET " + op + "/templates": {get(func(*matrixFix) string { return op + "/templates" }), opOnly(200)},
		"POST " + op + "/templates": {post(fixed(op+"/templates"), func(fx *matrixFix) any {
			return map[string]any{"name": fmt.Sprint("tmpl-", fx.seq()), "os": "Ubuntu 18.04.1 LTS", "team": fx.e.TeamA}
		}), opOnly(200)},
		"DELETE " + op + "/templates/{id}": {del(func(fx *matrixFix) string {
			return op + "/templates/" + fx.opCreate(op+"/templates", map[string]any{"name": fmt.Sprint("doomed-", fx.seq()), "os": "Ubuntu 18.04.1 LTS"})
		}), opOnly(204)},
		"GET " + op + "/networks": {get(func(*matrixFix) string { return op + "/networks" }), opOnly(200)},
		"POST " + op + "/networks": {post(fixed(op+"/networks"), func(fx *matrixFix) any {
			return map[string]any{"team": fx.e.TeamA, "name": fmt.Sprint("net-", fx.seq()), "region": "East Coast (NY2)",
				"cidr": fmt.Sprintf("10.70.%d.0/24", fx.seq())}
		}), opOnly(200)},
		"DELETE " + op + "/networks/{id}": {del(func(fx *matrixFix) string {
			return op + "/networks/" + fx.opCreate(op+"/networks", map[string]any{"team": fx.e.TeamA, "name": fmt.Sprint("doomed-", fx.seq()),
				"region": "East Coast (NY2)", "cidr": fmt.Sprintf("10.71.%d.0/24", fx.seq())})
		}), opOnly(204)},
		"GET " + op + "/hosts": {get(func(*matrixFix) string { return op + "/hosts" }), opOnly(200)},
		"POST " + op + "/hosts": {post(fixed(op+"/hosts"), func(fx *matrixFix) any {
			return map[string]any{"name": fmt.Sprint("host-", fx.seq()), "region": "Europe (AMS1)", "capacity": map[string]int{"C1": 1}}
		}), opOnly(200)},
		"POST " + op + "/hosts/{id}": {post(func(fx *matrixFix, _ caller) string {
			return op + "/hosts/" + fx.opCreate(op+"/hosts", map[string]any{"name": fmt.Sprint("upd-", fx.seq()), "region": "Europe (AMS1)",
				"capacity": map[string]int{"C1": 1}})
		}, func(*matrixFix) any { return map[string]any{"available": false} }), opOnly(200)},
		"DELETE " + op + "/hosts/{id}": {del(func(fx *matrixFix) string {
			return op + "/hosts/" + fx.opCreate(op+"/hosts", map[string]any{"name": fmt.Sprint("doomed-", fx.seq()), "region": "Europe (AMS1)",
				"capacity": map[string]int{"C1": 1}})
		}), opOnly(204)},
		"POST " + op + "/hosts/{id}/drain": {post(func(fx *matrixFix, _ caller) string {
			return op + "/hosts/" + fx.opCreate(op+"/hosts", map[string]any{"name": fmt.Sprint("drain-", fx.seq()), "region": "Europe (AMS1)",
				"capacity": map[string]int{"C1": 1}}) + "/drain"
		}, func(*matrixFix) any { return map[string]any{} }), opOnly(200)},
		"POST " + op + "/hosts/{id}/resume": {post(func(fx *matrixFix, _ caller) string {
			return op + "/hosts/" + fx.opCreate(op+"/hosts", map[string]any{"name": fmt.Sprint("resume-", fx.seq()), "region": "Europe (AMS1)",
				"capacity": map[string]int{"C1": 1}}) + "/resume"
		}, func(*matrixFix) any { return map[string]any{} }), opOnly(200)},
		"POST " + op + "/hosts/{id}/revoke": {post(func(fx *matrixFix, _ caller) string {
			return op + "/hosts/" + fx.agentHost() + "/revoke"
		}, func(*matrixFix) any { return map[string]any{} }), opOnly(200)},
		"POST " + op + "/hosts/tokens": {post(fixed(op+"/hosts/tokens"), func(*matrixFix) any {
			return map[string]any{"region": "Europe (AMS1)"}
		}), opOnly(200)},
		"GET " + op + "/sim/faults": {get(func(*matrixFix) string { return op + "/sim/faults" }), opOnly(200)},
		"POST " + op + "/sim/faults": {post(fixed(op+"/sim/faults"), func(*matrixFix) any {
			return map[string]any{"action": "create", "count": 1, "message": "matrix fault"}
		}), opOnly(200)},
	}
	return rows
}

// TestAuthorizationMatrix calls every route of Routes() as every kind of caller and checks the
// status against the matrix, the transport contract, and that no response carries another
// team's ids, emails, names or keys (spec §1.2, §1.8, §2.0). Another team's objects are 404,
// never 403.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	fx := newMatrixFix(t, e)
	rows := matrixRows()
	served := map[string]bool{}
	for _, rt := range e.API.Routes() {
		name := rt.Method + " " + rt.Pattern
		served[name] = true
		row, ok := rows[name]
		if !ok {
			t.Errorf("route %s has no row in the authorization matrix", name)
			continue
		}
		if rt.Auth == AuthNone && row.want != anyone(row.want[cNone]) {
			t.Errorf("%s is anonymous: every caller must get the same status", name)
		}
		for c := range nCallers {
			rq := fx.credential(c, row.build(fx, c))
			r := e.do(t, rq)
			if r.status != row.want[c] {
				t.Errorf("%s as %s: status %d, want %d; body %s", name, c, r.status, row.want[c], r.body)
				continue
			}
			checkTransport(t, r.status, r.header.Get("Content-Type"), r.body)
			if c == cOperator && strings.HasPrefix(rt.Pattern, api.OperatorPrefix+"/") {
				continue // the operator API shows everything to the operator
			}
			sent, _ := json.Marshal(rq.body)
			identity := c
			if name == loginRow {
				identity = cAccessor
			}
			for _, s := range fx.forbidden(identity) {
				if s == "" || strings.Contains(rq.path, s) || strings.Contains(string(sent), s) {
					continue // an echo of the caller's own input is not a leak
				}
				if strings.Contains(string(r.body), s) {
					t.Errorf("%s as %s: the response leaks %q: %s", name, c, s, r.body)
				}
			}
		}
	}
	// The leak check looks for the right strings: each team's own lists do show them.
	for key, want := range map[string][]string{e.Alice.Key: {fx.machine, "acme-box", fx.dave.Email},
		e.Carol.Key: {fx.carolMachine, "globex-box", e.Carol.Email}} {
		body := string(e.call(t, key, "GET", "/machines/getMachines", nil).must(t, 200).body) +
			string(e.call(t, key, "GET", "/users/getUsers", nil).must(t, 200).body)
		for _, s := range want {
			if !strings.Contains(body, s) {
				t.Errorf("the team's own lists do not show %q: the leak check would miss it", s)
			}
		}
	}
	for name := range rows {
		if !served[name] {
			t.Errorf("matrix row %s names no served route", name)
		}
	}
}

// TestTokenExpiry: a users/login token works until the end of its lifetime and is refused
// (401, on the Paperspace and the operator API alike) from then on; logging in again works.
func TestTokenExpiry(t *testing.T) {
	e := newEnv(t)
	login := func(p principal) string {
		return e.call(t, "", "POST", "/users/login", map[string]any{"email": p.Email, "password": p.Password}).must(t, 200).obj(t)["id"].(string)
	}
	tok := login(e.Alice)
	ttl := e.Svc.TokenTTL()
	e.Clock.add(ttl - time.Millisecond)
	e.call(t, "", "GET", "/machines/getMachines?access_token="+tok, nil).must(t, 200)
	e.Clock.add(time.Millisecond)
	r := e.call(t, "", "GET", "/machines/getMachines?access_token="+tok, nil).must(t, 401)
	if strings.Contains(string(r.body), tok) {
		t.Fatal("the refused token is echoed")
	}
	e.call(t, "", "POST", "/apiTokens/createPublic?access_token="+tok, map[string]any{}).must(t, 401)
	e.call(t, "", "GET", "/hangar/v1/teams?access_token="+tok, nil).must(t, 401)
	e.call(t, "", "GET", "/machines/getMachines?access_token="+login(e.Alice), nil).must(t, 200)
}

// agentHost makes a host as `hangar agent` would have joined it, straight in the store, and
// returns its id.
func (fx *matrixFix) agentHost() string {
	n := fx.seq()
	id := fmt.Sprintf("hagent%02d", n)
	seen := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	if err := fx.e.db.Write(fx.t.Context(), func(tx store.Tx) error {
		return tx.CreateHost(&core.Host{ID: id, Name: fmt.Sprint("agent-", n), Region: "Europe (AMS1)", Available: true,
			Capacity: map[string]int{"C1": 1}, Created: seen, Agent: core.HostAgent{CredentialHash: fmt.Sprint("matrix-", n),
				Driver: "sim", LastSeen: &seen}})
	}); err != nil {
		fx.t.Fatal(err)
	}
	return id
}

// newSSHKey returns a fresh OpenSSH ed25519 public key line.
func newSSHKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))) + " test@example.com"
}
