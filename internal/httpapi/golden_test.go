package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

// goldenRun runs requests against one env in sequence, compares each body with its golden
// file and records which routes answered with a success and with an error.
type goldenRun struct {
	t       *testing.T
	e       *env
	mux     *http.ServeMux
	methods map[string][]string // pattern -> methods served
	covered map[string]map[bool]bool
	names   map[string]bool
}

func newGoldenRun(t *testing.T, e *env) *goldenRun {
	g := &goldenRun{t: t, e: e, mux: http.NewServeMux(), methods: map[string][]string{},
		covered: map[string]map[bool]bool{}, names: map[string]bool{}}
	for _, rt := range e.API.Routes() {
		if g.methods[rt.Pattern] == nil {
			g.mux.HandleFunc(rt.Pattern, func(http.ResponseWriter, *http.Request) {})
		}
		g.methods[rt.Pattern] = append(g.methods[rt.Pattern], rt.Method)
	}
	return g
}

// route names the served route a request reaches ("POST /machines/{machineId}/start").
func (g *goldenRun) route(method, path string) string {
	_, pat := g.mux.Handler(httptest.NewRequest(method, path, nil))
	if pat == "" || !slices.Contains(g.methods[pat], method) {
		g.t.Fatalf("%s %s reaches no route", method, path)
	}
	return method + " " + pat
}

// step sends rq, requires status, checks the transport contract and, when there is a body,
// the golden file testdata/golden/<name>.json.
func (g *goldenRun) step(name string, status int, rq request) response {
	g.t.Helper()
	return g.stepLearn(name, status, rq, "", "")
}

// stepLearn is step for a response that creates something: the body's string field is
// learnt as placeholder before the golden comparison. It returns the field's value.
func (g *goldenRun) stepID(name string, status int, rq request, field, placeholder string) string {
	g.t.Helper()
	r := g.stepLearn(name, status, rq, field, placeholder)
	v, _ := r.obj(g.t)[field].(string)
	return v
}

func (g *goldenRun) stepLearn(name string, status int, rq request, field, placeholder string) response {
	g.t.Helper()
	if g.names[name] {
		g.t.Fatalf("golden name %s used twice", name)
	}
	g.names[name] = true
	rt := g.route(rq.method, rq.path)
	if g.covered[rt] == nil {
		g.covered[rt] = map[bool]bool{}
	}
	g.covered[rt][status < 300] = true
	var r response
	g.t.Run(name, func(t *testing.T) {
		r = g.e.do(t, rq).must(t, status)
		if field != "" {
			v, _ := r.obj(t)[field].(string)
			if v == "" {
				t.Fatalf("no string %s in %s", field, r.body)
			}
			g.e.learn(v, placeholder)
		}
		if status != http.StatusNoContent {
			g.e.golden(t, name, r.body)
		}
	})
	if r.header == nil {
		g.t.FailNow()
	}
	return r
}

// checkCoverage requires a success and an error case for every served route.
func (g *goldenRun) checkCoverage() {
	g.t.Helper()
	for _, rt := range g.e.API.Routes() {
		key := rt.Method + " " + rt.Pattern
		if !g.covered[key][true] {
			g.t.Errorf("route %s has no success golden", key)
		}
		if !g.covered[key][false] {
			g.t.Errorf("route %s has no error golden", key)
		}
	}
}

func q(s string) string { return url.QueryEscape(s) }

// TestGolden exercises every route of both APIs once with success and at least once with an
// error, in one story, and compares every body with its golden file.
func TestGolden(t *testing.T) {
	e := newEnv(t)
	g := newGoldenRun(t, e)
	A, Bob, C, op := e.Alice.Key, e.Bob.Key, e.Carol.Key, e.Operator.Key
	post := func(key, path string, body any) request {
		return request{method: "POST", path: path, key: key, body: body}
	}
	get := func(key, path string) request { return request{method: "GET", path: path, key: key} }
	del := func(key, path string) request { return request{method: "DELETE", path: path, key: key} }

	// Login (spec §2.23, §2.24).
	tok := g.stepID("users_login", 200, post("", "/users/login", map[string]any{"email": e.Alice.Email, "password": e.Alice.Password}), "id", "<access-token>")
	g.step("users_login_failed", 401, post("", "/users/login", map[string]any{"email": e.Alice.Email, "password": "wrong password"}))
	e.advance(time.Second)
	g.step("apitokens_createpublic", 200, post("", "/apiTokens/createPublic?access_token="+tok, map[string]any{"apiToken": "default"}))
	g.step("apitokens_createpublic_unknown_token", 404, post("", "/apiTokens/createPublic?access_token="+tok, map[string]any{"apiToken": "nope"}))
	g.step("users_logout_api_key", 400, post(A, "/users/logout", nil))
	g.step("users_logout", 204, post("", "/users/logout?access_token="+tok, nil))
	g.step("users_logout_token_ended", 401, post("", "/apiTokens/createPublic?access_token="+tok, nil))
	e.advance(time.Second)
	if name := g.stepID("apitoken_createpublic", 200, post(A, "/apiToken/createPublic", nil), "name", "<generated-name>"); !strings.HasPrefix(name, "cli-") {
		t.Fatalf("generated token name %q", name)
	}
	g.step("apitoken_createpublic_unauthorized", 401, post("", "/apiToken/createPublic", nil))

	// Catalog and team lists (spec §2.12, §2.15–2.17).
	g.step("templates_list", 200, get(A, "/templates/getTemplates"))
	g.step("templates_list_label_null", 200, get(A, "/templates/getTemplates?label=null"))
	g.step("templates_list_bad_order", 400, get(A, "/templates/getTemplates?order="+q("nope DESC")))
	g.step("users_list", 200, get(A, "/users/getUsers"))
	g.step("users_list_bad_limit", 400, get(A, "/users/getUsers?limit=-1"))
	g.step("networks_list", 200, get(A, "/networks/getNetworks"))
	g.step("networks_list_bad_key", 401, get("0123456789abcdef0123456789abcdef", "/networks/getNetworks"))
	g.step("availability", 200, get(A, "/machines/getAvailability?region="+q("East Coast (NY2)")+"&machineType=P4000"))
	g.step("availability_not_in_region", 200, get(A, "/machines/getAvailability?region="+q("West Coast (CA1)")+"&machineType="+q("GPU+")))
	g.step("availability_bad_machine_type", 400, get(A, "/machines/getAvailability?region="+q("East Coast (NY2)")+"&machineType=P9000"))

	// Scripts (spec §2.18).
	sc := g.stepID("scripts_create", 200, post(A, "/scripts/createScript", map[string]any{"scriptName": "nginx",
		"scriptText": "#!/bin/bash\nservice nginx start\n", "scriptDescription": "A startup script"}), "id", "<script-id>")
	g.step("scripts_create_missing_name", 400, post(A, "/scripts/createScript", map[string]any{"scriptText": "echo hi"}))

	// Machines (spec §2.2–2.14).
	m1 := g.stepID("machines_create", 200, post(A, "/machines/createSingleMachinePublic", map[string]any{
		"region": "East Coast (NY2)", "machineType": "P4000", "size": 50, "billingType": "hourly",
		"machineName": "My Machine 1", "templateId": linuxTmpl, "teamId": e.TeamA, "networkId": e.NetA,
		"scriptId": sc, "assignPublicIp": true}), "id", "<machine-id>")
	g.step("machines_create_template_not_found", 400, post(A, "/machines/createSingleMachinePublic", createBody("templateId", "tnope123")))
	g.step("machines_create_member_forbidden", 403, post(Bob, "/machines/createSingleMachinePublic", createBody()))
	e.advance(time.Second)
	m2 := e.createMachine(t, A, "machineName", "Bob's box", "userId", e.Bob.ID, "startOnCreate", false)
	e.learn(m2, "<machine2-id>")
	g.step("machines_show_provisioning", 200, get(A, "/machines/getMachinePublic?machineId="+m1))
	e.next(t, "starting", m1)
	e.waitState(t, m2, "off")
	e.next(t, "serviceready", m1)
	e.next(t, "ready", m1)
	g.step("machines_show", 200, get(A, "/machines/getMachinePublic?machineId="+m1))
	g.step("machines_show_not_found", 404, get(A, "/machines/getMachinePublic?machineId=psnope123"))
	g.step("machines_show_missing_id", 400, get(A, "/machines/getMachinePublic"))
	g.step("machines_list", 200, get(A, "/machines/getMachines"))
	g.step("machines_list_bad_filter", 400, get(A, "/machines/getMachines?cpus=many"))
	g.step("machines_update_public", 204, post(A, "/machines/"+m1+"/updateMachinePublic", map[string]any{
		"machineName": "Renamed", "shutdownTimeoutInHours": 24, "autoSnapshotFrequency": "day",
		"autoSnapshotSaveCount": "3", "performAutoSnapshot": true}))
	g.step("machines_update_public_invalid", 400, post(A, "/machines/"+m1+"/updateMachinePublic", map[string]any{"autoSnapshotFrequency": "yearly"}))
	g.step("machines_update", 200, post(A, "/machines/updateMachine", map[string]any{"machineId": m1,
		"machineName": "Renamed again", "shutdownTimeoutForces": true}))
	g.step("machines_update_not_found", 404, post(A, "/machines/updateMachine", map[string]any{"machineId": "psnope123", "machineName": "x"}))
	g.step("machines_set_access", 200, post(A, "/machines/"+m1+"/setMachineAccess", map[string]any{"userId": e.Bob.ID, "enableAccess": true}))
	g.step("machines_set_access_unknown_user", 400, post(A, "/machines/"+m1+"/setMachineAccess", map[string]any{"userId": "unope123", "enableAccess": true}))
	g.step("machines_set_access_get", 200, get(A, "/machines/"+m1+"/setMachineAccess?userId="+e.Bob.ID+"&enableAccess=false"))
	g.step("machines_set_access_get_member_forbidden", 403, get(Bob, "/machines/"+m2+"/setMachineAccess?userId="+e.Alice.ID))
	g.step("machines_set_access_public", 200, post(A, "/machines/"+m1+"/setMachineAccessPublic", map[string]any{"userId": e.Bob.ID, "enableAccess": "true"}))
	g.step("machines_set_access_public_other_team", 404, post(C, "/machines/"+m1+"/setMachineAccessPublic", map[string]any{"userId": e.Carol.ID}))
	g.step("machines_set_access_public_get", 200, get(A, "/machines/"+m1+"/setMachineAccessPublic?userId="+e.Bob.ID))
	g.step("machines_set_access_public_get_missing_user", 400, get(A, "/machines/"+m1+"/setMachineAccessPublic"))
	g.step("machines_restart", 204, post(A, "/machines/"+m1+"/restart", nil))
	g.step("machines_restart_conflict", 400, post(A, "/machines/"+m2+"/restart", nil))
	g.step("machines_stop", 204, post(A, "/machines/"+m1+"/stop", nil))
	g.step("machines_start_conflict", 400, post(A, "/machines/"+m1+"/start", nil))
	g.step("machines_stop_not_found", 404, post(A, "/machines/psnope123/stop", nil))
	e.next(t, "off", m1)
	g.step("machines_show_off", 200, get(A, "/machines/getMachinePublic?machineId="+m1))
	g.step("machines_start", 204, post(A, "/machines/"+m1+"/start", nil))
	g.step("machines_utilization", 200, get(A, "/machines/getUtilization?machineId="+m1+"&billingMonth=2024-03"))
	g.step("machines_utilization_bad_month", 400, get(A, "/machines/getUtilization?machineId="+m1+"&billingMonth=2024-3"))
	g.step("machines_utilization_accessor_forbidden", 403, get(Bob, "/machines/getUtilization?machineId="+m1+"&billingMonth=2024-03"))

	// Scripts again, now that the script ran on m1 (spec §2.19–2.22).
	g.step("scripts_show", 200, get(A, "/scripts/getScript?scriptId="+sc))
	g.step("scripts_show_not_found", 404, get(A, "/scripts/getScript?scriptId=scnope123"))
	g.step("scripts_text", 200, get(A, "/scripts/getScriptText?scriptId="+sc))
	g.step("scripts_text_missing_id", 400, get(A, "/scripts/getScriptText"))
	g.step("scripts_list", 200, get(A, "/scripts/getScripts"))
	g.step("scripts_list_bad_limit", 400, get(A, "/scripts/getScripts?limit=ten"))
	g.step("machines_destroy", 204, post(A, "/machines/"+m2+"/destroyMachine", nil))
	g.step("machines_destroy_not_found", 404, post(A, "/machines/"+m2+"/destroyMachine", nil))
	g.step("scripts_destroy", 204, post(A, "/scripts/"+sc+"/destroy", nil))
	g.step("scripts_destroy_not_found", 404, post(A, "/scripts/"+sc+"/destroy", nil))
	g.step("machines_list_after_destroy", 200, get(A, "/machines/getMachines"))
	g.step("machines_utilization_destroyed", 200, get(Bob, "/machines/getUtilization?machineId="+m2+"&billingMonth=2024-03"))
	g.step("machines_utilization_other_team", 404, get(C, "/machines/getUtilization?machineId="+m2+"&billingMonth=2024-03"))

	// Operator API.
	g.step("op_teams_list", 200, get(op, "/hangar/v1/teams"))
	g.step("op_teams_list_forbidden", 403, get(A, "/hangar/v1/teams"))
	teamC := g.stepID("op_teams_create", 200, post(op, "/hangar/v1/teams", map[string]any{"name": "Initech"}), "id", "<teamC-id>")
	g.step("op_teams_create_missing_name", 400, post(op, "/hangar/v1/teams", map[string]any{}))
	g.step("op_users_list", 200, get(op, "/hangar/v1/users?team="+e.TeamA))
	g.step("op_users_list_unknown_team", 404, get(op, "/hangar/v1/users?team=tenope123"))
	dave := g.stepID("op_users_create", 200, post(op, "/hangar/v1/users", map[string]any{"team": teamC, "email": "dave@initech.test",
		"password": "long enough", "firstName": "Dave", "lastName": "Initech", "admin": true}), "id", "<dave-id>")
	g.step("op_users_create_duplicate_email", 400, post(op, "/hangar/v1/users", map[string]any{"team": teamC, "email": "dave@initech.test",
		"password": "long enough", "firstName": "Dave", "lastName": "Again"}))
	dk := g.stepID("op_keys_create", 200, post(op, "/hangar/v1/keys", map[string]any{"user": dave, "name": "ci"}), "id", "<dave-key-id>")
	g.step("op_keys_create_unknown_user", 400, post(op, "/hangar/v1/keys", map[string]any{"user": "unope123"}))
	g.step("op_keys_list", 200, get(op, "/hangar/v1/keys?user="+dave))
	g.step("op_keys_list_unauthorized", 401, get("", "/hangar/v1/keys"))
	g.step("op_keys_revoke", 200, post(op, "/hangar/v1/keys/"+dk+"/revoke", nil))
	g.step("op_keys_revoke_not_found", 404, post(op, "/hangar/v1/keys/knope1234/revoke", nil))
	// A fixed key, so that the golden fingerprint is stable.
	const daveKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGz0l6ZCdZ3o0mDAIWnD0Nnqf6jFJvTnUzPpOk0BKSVp dave@initech.test"
	sk := g.stepID("op_users_sshkeys_add", 200, post(op, "/hangar/v1/users/"+dave+"/sshKeys", map[string]any{"publicKey": daveKey + "\n"}), "id", "<dave-sshkey-id>")
	g.step("op_users_sshkeys_add_duplicate", 400, post(op, "/hangar/v1/users/"+dave+"/sshKeys", map[string]any{"publicKey": daveKey}))
	g.step("op_users_sshkeys_add_not_a_key", 400, post(op, "/hangar/v1/users/"+dave+"/sshKeys", map[string]any{"publicKey": "ssh-rsa not-base64"}))
	g.step("op_users_sshkeys_add_unknown_user", 404, post(op, "/hangar/v1/users/unope1234/sshKeys", map[string]any{"publicKey": daveKey}))
	g.step("op_users_sshkeys_list", 200, get(op, "/hangar/v1/users/"+dave+"/sshKeys"))
	g.step("op_users_sshkeys_list_forbidden", 403, get(A, "/hangar/v1/users/"+dave+"/sshKeys"))
	g.step("op_users_sshkeys_remove", 204, del(op, "/hangar/v1/users/"+dave+"/sshKeys/"+sk))
	g.step("op_users_sshkeys_remove_not_found", 404, del(op, "/hangar/v1/users/"+dave+"/sshKeys/"+sk))
	g.step("op_users_update_disable", 200, post(op, "/hangar/v1/users/"+dave, map[string]any{"disabled": true}))
	g.step("op_users_update_enable_by_email", 200, post(op, "/hangar/v1/users/dave@initech.test", map[string]any{"disabled": false}))
	g.step("op_users_update_short_password", 400, post(op, "/hangar/v1/users/"+dave, map[string]any{"password": "short"}))
	g.step("op_users_update_not_found", 404, post(op, "/hangar/v1/users/unope1234", map[string]any{"disabled": true}))
	g.step("op_templates_list", 200, get(op, "/hangar/v1/templates?team="+e.TeamB))
	g.step("op_templates_list_forbidden", 403, get(C, "/hangar/v1/templates"))
	tc := g.stepID("op_templates_create", 200, post(op, "/hangar/v1/templates", map[string]any{"name": "initech-win",
		"os": "Windows 10 (Server 2019)", "team": teamC, "label": "Initech Windows"}), "id", "<tmplC-id>")
	g.step("op_templates_create_missing_os", 400, post(op, "/hangar/v1/templates", map[string]any{"name": "x"}))
	g.step("op_templates_delete", 204, del(op, "/hangar/v1/templates/"+tc))
	g.step("op_templates_delete_not_found", 404, del(op, "/hangar/v1/templates/"+tc))
	g.step("op_networks_list", 200, get(op, "/hangar/v1/networks?team="+e.TeamA))
	g.step("op_networks_list_forbidden", 403, get(A, "/hangar/v1/networks"))
	nc := g.stepID("op_networks_create", 200, post(op, "/hangar/v1/networks", map[string]any{"team": teamC, "name": "Initech Net",
		"region": "Europe (AMS1)", "cidr": "10.70.0.0/24"}), "id", "<netC-id>")
	g.step("op_networks_create_bad_cidr", 400, post(op, "/hangar/v1/networks", map[string]any{"team": teamC, "name": "Bad",
		"region": "Europe (AMS1)", "cidr": "10.70.0.1/24"}))
	g.step("op_networks_delete", 204, del(op, "/hangar/v1/networks/"+nc))
	g.step("op_networks_delete_in_use", 400, del(op, "/hangar/v1/networks/"+e.NetA))
	// Quotas: the operator sets team C's overrides; a create over one names it.
	g.step("op_teams_show", 200, get(op, "/hangar/v1/teams/"+teamC))
	g.step("op_teams_show_not_found", 404, get(op, "/hangar/v1/teams/tenope123"))
	g.step("op_teams_update", 200, post(op, "/hangar/v1/teams/"+teamC, map[string]any{"quotas": map[string]any{
		"networks": 0, "machines": -1, "scripts": nil}}))
	g.step("op_teams_update_unknown_quota", 400, post(op, "/hangar/v1/teams/"+teamC, map[string]any{"quotas": map[string]any{"gpus": 1}}))
	g.step("op_networks_create_over_quota", 400, post(op, "/hangar/v1/networks", map[string]any{"team": teamC, "name": "One Too Many",
		"region": "Europe (AMS1)", "cidr": "10.70.1.0/24"}))
	// Public IPs: a static address team C kept after a destroy, released by the operator.
	teamCID := teamC
	if err := e.db.Write(t.Context(), func(tx store.Tx) error {
		return tx.InsertPublicIP(&core.PublicIP{Address: "198.19.255.10", TeamID: &teamCID})
	}); err != nil {
		t.Fatal(err)
	}
	g.step("op_public_ips_list", 200, get(op, "/hangar/v1/publicIps?team="+teamC))
	g.step("op_public_ips_list_member_forbidden", 403, get(Bob, "/hangar/v1/publicIps"))
	g.step("op_public_ips_release", 200, post(op, "/hangar/v1/publicIps/198.19.255.10/release", nil))
	g.step("op_public_ips_release_not_found", 404, post(op, "/hangar/v1/publicIps/198.19.255.10/release", nil))
	g.step("op_hosts_list", 200, get(op, "/hangar/v1/hosts?region="+q("East Coast (NY2)")))
	g.step("op_hosts_list_bad_region", 400, get(op, "/hangar/v1/hosts?region=Mars"))
	h := g.stepID("op_hosts_create", 200, post(op, "/hangar/v1/hosts", map[string]any{"name": "edge-1", "region": "Europe (AMS1)",
		"capacity": map[string]int{"C1": 2}}), "id", "<host-id:edge-1>")
	g.step("op_hosts_create_bad_type", 400, post(op, "/hangar/v1/hosts", map[string]any{"name": "edge-2", "region": "Europe (AMS1)",
		"capacity": map[string]int{"Z9": 1}}))
	g.step("op_hosts_update", 200, post(op, "/hangar/v1/hosts/"+h, map[string]any{"available": false}))
	g.step("op_hosts_update_not_found", 404, post(op, "/hangar/v1/hosts/hnope123", map[string]any{"available": false}))
	g.step("op_hosts_drain", 200, post(op, "/hangar/v1/hosts/"+h+"/drain", map[string]any{}))
	g.step("op_hosts_drain_not_found", 404, post(op, "/hangar/v1/hosts/hnope123/drain", map[string]any{}))
	g.step("op_hosts_resume", 200, post(op, "/hangar/v1/hosts/"+h+"/resume", map[string]any{}))
	g.step("op_hosts_resume_not_found", 404, post(op, "/hangar/v1/hosts/hnope123/resume", map[string]any{}))
	g.step("op_hosts_revoke_not_an_agent", 400, post(op, "/hangar/v1/hosts/"+h+"/revoke", map[string]any{}))
	seen := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	if err := e.db.Write(t.Context(), func(tx store.Tx) error {
		return tx.CreateHost(&core.Host{ID: "hagent01", Name: "agent-1", Region: "Europe (AMS1)", Available: true,
			Capacity: map[string]int{"C1": 1}, Created: seen, Agent: core.HostAgent{CredentialHash: "golden", Driver: "sim",
				Version: "hangar golden", LastSeen: &seen}})
	}); err != nil {
		t.Fatal(err)
	}
	g.step("op_hosts_revoke", 200, post(op, "/hangar/v1/hosts/agent-1/revoke", map[string]any{}))
	g.step("op_hosts_revoke_not_found", 404, post(op, "/hangar/v1/hosts/hnope123/revoke", map[string]any{}))
	g.step("op_hosts_tokens_create", 200, post(op, "/hangar/v1/hosts/tokens", map[string]any{"region": "Europe (AMS1)", "ttl": "30m"}))
	g.step("op_hosts_tokens_create_bad_ttl", 400, post(op, "/hangar/v1/hosts/tokens", map[string]any{"region": "Europe (AMS1)", "ttl": "8d"}))
	g.step("op_hosts_delete", 204, del(op, "/hangar/v1/hosts/"+h))
	g.step("op_hosts_delete_not_found", 404, del(op, "/hangar/v1/hosts/"+h))
	g.step("op_faults_add", 200, post(op, "/hangar/v1/sim/faults", map[string]any{"action": "start", "count": 2}))
	g.step("op_faults_add_bad_action", 400, post(op, "/hangar/v1/sim/faults", map[string]any{"action": "explode", "count": 1}))
	g.step("op_faults_list", 200, get(op, "/hangar/v1/sim/faults"))
	g.step("op_faults_list_forbidden", 403, get(A, "/hangar/v1/sim/faults"))
	g.step("op_usage", 200, get(op, "/hangar/v1/usage?month=2024-03"))
	g.step("op_usage_bad_month", 400, get(op, "/hangar/v1/usage?month=March"))

	// Team networks as terraform and paperspace-go call them (spec §2.25, §2.26).
	numA := strconv.FormatInt(e.teamNum(t, e.TeamA), 10)
	g.stepID("teams_create_private_network", 200, terraform(A, "POST", "/teams/"+numA+"/createPrivateNetwork",
		map[string]any{"name": "managed_network_ab12cd3", "regionId": 1}), "handle", "<tfnet-handle>")
	g.step("teams_create_private_network_member_forbidden", 403, terraform(Bob, "POST", "/teams/"+numA+"/createPrivateNetwork",
		map[string]any{"name": "managed_network_x", "regionId": 1}))
	g.step("teams_get_networks", 200, terraform(A, "GET", "/teams/"+numA+"/getNetworks", nil))
	g.step("teams_get_networks_other_team", 404, terraform(C, "GET", "/teams/"+numA+"/getNetworks", nil))
	goID, _ := g.step("networks_go_create", 200, paperspaceGo(A, "POST", "/networks", map[string]any{"name": "go-net", "regionId": 3})).obj(t)["id"].(string)
	g.step("networks_go_create_bad_region", 400, paperspaceGo(A, "POST", "/networks", map[string]any{"name": "go-net", "regionId": 7}))
	g.step("networks_go_list", 200, paperspaceGo(A, "GET", "/networks", map[string]any{"id": goID}))
	g.step("networks_go_list_bad_limit", 400, paperspaceGo(A, "GET", "/networks", map[string]any{"limit": "many"}))
	g.step("networks_go_delete", 204, paperspaceGo(A, "DELETE", "/networks/"+goID, nil))
	g.step("networks_go_delete_not_found", 404, paperspaceGo(A, "DELETE", "/networks/"+goID, nil))
	g.step("op_audit_list", 200, get(op, "/hangar/v1/audit?action=keys.revoke"))
	g.step("op_audit_list_bad_since", 400, get(op, "/hangar/v1/audit?since=yesterday"))

	// Unknown routes and methods (spec §1.3: 404 with a JSON body).
	for _, c := range []struct{ name, method, path string }{
		{"unknown_route", "GET", "/machines/nope"},
		{"method_not_allowed", "DELETE", "/machines/getMachines"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, request{method: c.method, path: c.path, key: A}).must(t, 404)
			e.golden(t, c.name, r.body)
		})
	}
	g.checkCoverage()
}
