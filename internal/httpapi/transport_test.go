package httpapi

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// names returns the "name" of every object of a list body.
func names(t *testing.T, r response) []string {
	t.Helper()
	var out []string
	for _, m := range r.arr(t) {
		s, _ := m["name"].(string)
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func wantNames(want ...string) func(*testing.T, response) {
	return func(t *testing.T, r response) {
		t.Helper()
		slices.Sort(want)
		if got := names(t, r); !slices.Equal(got, want) {
			t.Fatalf("names %q, want %q", got, want)
		}
	}
}

func wantField(field string, want any) func(*testing.T, response) {
	return func(t *testing.T, r response) {
		t.Helper()
		got := r.obj(t)[field]
		if n, ok := got.(json.Number); ok {
			got = n.String()
		}
		if got != want {
			t.Fatalf("%s = %#v, want %#v; body %s", field, got, want, r.body)
		}
	}
}

func wantMessage(sub string) func(*testing.T, response) {
	return func(t *testing.T, r response) {
		t.Helper()
		if msg := r.errMessage(t); !strings.Contains(msg, sub) {
			t.Fatalf("message %q does not contain %q", msg, sub)
		}
	}
}

func TestNormalizePath(t *testing.T) {
	for in, want := range map[string]string{
		"": "/", "/": "/", "//": "/", "/a/": "/a", "//a//b//": "/a/b", "/a/./b": "/a/b", "/a/../b": "/b",
		"/../a": "/a", "/a/b/..": "/a", "a/b": "/a/b", "/machines/ps1/start/": "/machines/ps1/start",
	} {
		if got := normalizePath(in); got != want {
			t.Errorf("normalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTransportVariants sends the same calls the way each real client does (spec §1.1–1.3,
// §5) and checks that each is understood.
func TestTransportVariants(t *testing.T) {
	e := newEnv(t)
	A := e.Alice.Key
	alpha := e.createMachine(t, A, "machineName", "alpha", "networkId", e.NetA, "assignPublicIp", true)
	beta := e.createMachine(t, A, "machineName", "beta", "machineType", "C2")
	e.advance(time.Second)
	gamma := e.createMachine(t, A, "machineName", "gamma", "machineType", "C2", "startOnCreate", "false")
	e.driveTo(t, "ready", alpha, beta)
	e.waitState(t, gamma, "off")
	sc := e.call(t, A, "POST", "/scripts/createScript", map[string]any{"scriptName": "s1", "scriptText": "echo hi"}).must(t, 200).obj(t)["id"].(string)
	tok := e.call(t, "", "POST", "/users/login", map[string]any{"email": e.Alice.Email, "password": e.Alice.Password}).must(t, 200).obj(t)["id"].(string)
	// all: the unfiltered list (cases below create more machines as they go).
	all := func(t *testing.T, r response) {
		t.Helper()
		want := names(t, e.call(t, A, "GET", "/machines/getMachines", nil).must(t, 200))
		if got := names(t, r); !slices.Equal(got, want) || !slices.Contains(got, "alpha") || len(got) < 3 {
			t.Fatalf("names %q, want every machine %q", got, want)
		}
	}
	ctype, mp := multipartBody(t, "#!/bin/bash\necho uploaded\n")

	cases := []struct {
		name   string
		rq     request
		status int
		check  func(*testing.T, response)
	}{
		// Paths (spec §1.1).
		{"trailing slash GET", request{method: "GET", path: "/machines/getMachines/", key: A}, 200, all},
		{"trailing slash POST (gradient-cli)", request{method: "POST", path: "/machines/" + alpha + "/start/", key: A}, 204, nil},
		{"double slash (base URL ending in /)", request{method: "GET", path: "//machines/getMachines", key: A}, 200, all},
		{"double slash POST is not redirected", request{method: "POST", path: "//scripts/createScript", key: A,
			body: map[string]any{"scriptName": "s2", "scriptText": "x"}}, 200, wantField("name", "s2")},
		{"many slashes", request{method: "GET", path: "///machines//getMachinePublic//?machineId=" + alpha, key: A}, 200, wantField("name", "alpha")},
		{"dot segment is resolved, not redirected", request{method: "GET", path: "/machines/./getMachines", key: A}, 200, all},
		{"dot-dot segment is resolved, not redirected", request{method: "POST", path: "/scripts/../scripts/createScript", key: A,
			body: map[string]any{"scriptName": "dots", "scriptText": "x"}}, 200, wantField("name", "dots")},
		{"encoded dot segment", request{method: "GET", path: "/machines/%2e/getMachines/", key: A}, 200, all},
		{"encoded slash in a path id", request{method: "POST", path: "/machines/ps%2Fabc/start", key: A}, 404, wantMessage("Cannot POST /machines/ps/abc/start")},
		{"path parameter with trailing slash", request{method: "POST", path: "/machines//" + alpha + "//start//", key: A}, 204, nil},

		// paperspace-go: JSON bodies on GET (spec §1.3, §5.3).
		{"GET body filter.where", request{method: "GET", path: "/machines/getMachines", key: A,
			body: map[string]any{"filter": map[string]any{"where": map[string]any{"name": "beta"}, "limit": 1}}}, 200, wantNames("beta")},
		{"GET body empty filter", request{method: "GET", path: "/machines/getMachines", key: A, body: map[string]any{"filter": map[string]any{}}}, 200, all},
		{"GET body filter limit and order", request{method: "GET", path: "/machines/getMachines", key: A,
			body: map[string]any{"filter": map[string]any{"where": map[string]any{"machineType": "C2"}, "limit": 1, "order": "dtCreated DESC"}}}, 200, wantNames("gamma")},
		{"GET body filter skip", request{method: "GET", path: "/machines/getMachines", key: A,
			body: map[string]any{"filter": map[string]any{"order": "name ASC", "skip": 1, "limit": "1"}}}, 200, wantNames("beta")},
		{"GET body filter with JSON null", request{method: "GET", path: "/machines/getMachines", key: A,
			body: map[string]any{"filter": map[string]any{"where": map[string]any{"networkId": nil}}}}, 200, wantNames("beta", "gamma")},
		{"GET body machineId (show)", request{method: "GET", path: "/machines/getMachinePublic", key: A, body: map[string]any{"machineId": beta}}, 200, wantField("name", "beta")},
		{"GET body on users list", request{method: "GET", path: "/users/getUsers", key: A,
			body: map[string]any{"filter": map[string]any{"where": map[string]any{"email": e.Bob.Email}}}}, 200, wantNames("")},
		{"GET body on templates list", request{method: "GET", path: "/templates/getTemplates", key: A,
			body: map[string]any{"filter": map[string]any{"where": map[string]any{"id": linuxTmpl}}}}, 200, wantNames("paperspace/" + linuxTmpl)},

		// gradient-cli: {"params":{…}} on GET with a trailing slash.
		{"GET body params", request{method: "GET", path: "/machines/getMachines/", key: A, body: map[string]any{"params": map[string]any{"name": "alpha"}}}, 200, wantNames("alpha")},
		{"GET body params with typed values", request{method: "GET", path: "/machines/getMachines/", key: A,
			body: map[string]any{"params": map[string]any{"cpus": 1, "performAutoSnapshot": false, "machineType": "C2"}}}, 200, wantNames("beta", "gamma")},

		// Query-string filters as node and terraform send them (spec §1.3, §1.7).
		{"query filter null", request{method: "GET", path: "/machines/getMachines?networkId=null", key: A}, 200, wantNames("beta", "gamma")},
		{"query filter null on a set field", request{method: "GET", path: "/machines/getMachines?dtLastRun=null&scriptId=null", key: A}, 200, all},
		{"query filter null on templates", request{method: "GET", path: "/templates/getTemplates?label=null", key: A}, 200, wantNames("paperspace/t9taj00e")},
		{"query numeric text for integer", request{method: "GET", path: "/machines/getMachines?cpus=1&shutdownTimeoutInHours=168", key: A}, 200, wantNames("alpha", "beta", "gamma")},
		{"query numeric text for digit string", request{method: "GET", path: "/machines/getMachines?ram=1073741824&storageTotal=53687091200", key: A}, 200, wantNames("beta", "gamma")},
		{"query integer as decimal text", request{method: "GET", path: "/machines/getMachines?cpus=1.0&ram=536870912", key: A}, 200, wantNames("alpha")},
		{"query boolean text", request{method: "GET", path: "/machines/getMachines?dynamicPublicIp=false&updatesPending=false&state=off", key: A}, 200, wantNames("gamma")},
		{"query state filter", request{method: "GET", path: "/machines/getMachines?state=ready", key: A}, 200, wantNames("alpha", "beta")},
		{"query machineId and id both filter", request{method: "GET", path: "/machines/getMachines?machineId=" + alpha, key: A}, 200, wantNames("alpha")},
		{"query id filter", request{method: "GET", path: "/machines/getMachines?id=" + gamma, key: A}, 200, wantNames("gamma")},
		{"query terraform escaping (space as +)", request{method: "GET", path: "/networks/getNetworks?name=Acme+Net&region=East+Coast+%28NY2%29", key: A}, 200, wantNames("Acme Net")},
		{"query node escaping (%20)", request{method: "GET", path: "/networks/getNetworks?name=Acme%20Europe", key: A}, 200, wantNames("Acme Europe")},
		{"query limit and skip", request{method: "GET", path: "/machines/getMachines?limit=2&skip=1&order=name", key: A}, 200, wantNames("beta", "gamma")},
		{"query filter on unknown value matches nothing", request{method: "GET", path: "/machines/getMachines?name=delta", key: A}, 200, wantNames()},

		// Unknown parameters are ignored and never filter (spec §1.3).
		{"unknown query params", request{method: "GET", path: "/machines/getMachines?debug=true&json=true&foo=bar&api-key=xyz&apiKey=abc&_=x&%240=y", key: A}, 200, all},
		{"unknown where keys", request{method: "GET", path: "/machines/getMachines", key: A,
			body: map[string]any{"filter": map[string]any{"where": map[string]any{"bogus": "x", "internalId": 99}}}}, 200, all},
		{"unknown params on users", request{method: "GET", path: "/users/getUsers?nonsense=1&debug=true", key: A}, 200, wantNames("", "")},
		{"unknown params on templates", request{method: "GET", path: "/templates/getTemplates?label=RStudio&colour=blue", key: A}, 200, wantNames("paperspace/tpx5mr6b")},
		{"nested query object ignored", request{method: "GET", path: "/machines/getMachines?a%5Bb%5D=c", key: A}, 200, all},
		{"unknown body params on create", request{method: "POST", path: "/machines/createSingleMachinePublic", key: A,
			body: createBody("machineName", "extra", "debug", true, "json", true, "api-key", "x", "foo", map[string]any{"bar": 1})}, 200, wantField("name", "extra")},
		{"waitfor's state param on show", request{method: "GET", path: "/machines/getMachinePublic?machineId=" + gamma + "&state=ready", key: A}, 200, wantField("state", "off")},

		// Lenient scalars (spec §1.3).
		{"numeric strings for numbers", request{method: "POST", path: "/machines/createSingleMachinePublic", key: A,
			body: createBody("machineName", "numstr", "size", "100", "autoSnapshotSaveCount", "3", "shutdownTimeoutInHours", "24")}, 200,
			func(t *testing.T, r response) {
				m := r.obj(t)
				if m["autoSnapshotSaveCount"] != json.Number("3") || m["shutdownTimeoutInHours"] != json.Number("24") {
					t.Fatalf("numbers not coerced to integers: %s", r.body)
				}
			}},
		{"float-looking whole number", request{method: "POST", path: "/machines/createSingleMachinePublic", key: A,
			body: createBody("machineName", "float", "size", 50.0, "autoSnapshotSaveCount", json.Number("2.0"))}, 200, wantField("autoSnapshotSaveCount", "2")},
		{"fractional number rejected", request{method: "POST", path: "/machines/createSingleMachinePublic", key: A,
			body: createBody("size", 50.5)}, 400, wantMessage("size")},
		{"boolean strings", request{method: "POST", path: "/machines/createSingleMachinePublic", key: A,
			body: createBody("machineName", "boolstr", "assignPublicIp", "true", "performAutoSnapshot", "true", "startOnCreate", "true", "isManaged", "false")}, 200,
			func(t *testing.T, r response) {
				m := r.obj(t)
				if m["publicIpAddress"] == nil || m["performAutoSnapshot"] != true || m["isManaged"] != false {
					t.Fatalf("boolean strings not coerced: %s", r.body)
				}
			}},
		{"bad boolean string", request{method: "POST", path: "/machines/createSingleMachinePublic", key: A,
			body: createBody("startOnCreate", "maybe")}, 400, wantMessage("startOnCreate must be true or false")},
		{"numbers for string fields", request{method: "POST", path: "/scripts/createScript", key: A,
			body: map[string]any{"scriptName": 2019, "scriptText": "echo", "scriptDescription": 2019}}, 200,
			func(t *testing.T, r response) {
				m := r.obj(t)
				if m["name"] != "2019" || m["description"] != "2019" {
					t.Fatalf("numbers not stringified: %s", r.body)
				}
			}},
		{"number for machineName", request{method: "POST", path: "/machines/createSingleMachinePublic", key: A,
			body: createBody("machineName", 12345)}, 200, wantField("name", "12345")},
		{"object for a string field", request{method: "POST", path: "/machines/createSingleMachinePublic", key: A,
			body: createBody("region", map[string]any{"a": 1})}, 400, wantMessage("region must be a string")},
		{"enableAccess as string", request{method: "POST", path: "/machines/" + alpha + "/setMachineAccess", key: A,
			body: map[string]any{"userId": e.Bob.ID, "enableAccess": "false"}}, 200, wantField("id", alpha)},
		{"raw + in machineType", request{method: "GET", path: "/machines/getAvailability?region=Europe%20(AMS1)&machineType=GPU+", key: A}, 200, wantField("available", true)},
		{"region short code", request{method: "GET", path: "/machines/getAvailability?region=ams1&machineType=P4000", key: A}, 200, wantField("available", true)},

		// Credentials (spec §1.2).
		{"access_token in query", request{method: "GET", path: "/machines/getMachines?access_token=" + tok}, 200, all},
		{"access_token on POST with JSON body", request{method: "POST", path: "/machines/" + alpha + "/start?access_token=" + tok,
			body: map[string]any{"machineId": alpha}}, 204, nil},
		{"access_token never filters", request{method: "GET", path: "/users/getUsers?access_token=" + tok}, 200, wantNames("", "")},
		{"bad access_token", request{method: "GET", path: "/machines/getMachines?access_token=nope"}, 401, wantMessage("Invalid")},
		{"header wins over token", request{method: "GET", path: "/machines/getMachines?access_token=nope", key: A}, 200, all},
		{"header X-Api-Key", request{method: "GET", path: "/machines/getMachines", header: map[string]string{"X-Api-Key": A}}, 200, all},
		{"header X-API-Key (gradient-cli)", request{method: "GET", path: "/machines/getMachines", header: map[string]string{"X-API-Key": A}}, 200, all},
		{"header x-api-key (node)", request{method: "GET", path: "/machines/getMachines", header: map[string]string{"x-api-key": A}}, 200, all},
		{"header X-API-KEY", request{method: "GET", path: "/machines/getMachines", header: map[string]string{"X-API-KEY": A}}, 200, all},
		{"no credentials", request{method: "GET", path: "/machines/getMachines"}, 401, wantMessage("Authentication required")},
		{"unknown key", request{method: "GET", path: "/machines/getMachines", key: "ffffffffffffffffffffffffffffffffffffffffffffffff"}, 401, wantMessage("Invalid")},
		{"client headers ignored", request{method: "GET", path: "/machines/getMachines", key: A,
			header: map[string]string{"ps_client_name": "paperspace-node", "ps_client_version": "0.2.4", "Accept": "application/json"}}, 200, all},

		// Bodies (spec §1.3).
		{"empty body with JSON content type (terraform)", request{method: "POST", path: "/machines/" + alpha + "/start", key: A, body: "", ctype: "application/json"}, 204, nil},
		{"GET with JSON content type and no body", request{method: "GET", path: "/machines/getMachines", key: A, ctype: "application/json"}, 200, all},
		{"whitespace body with JSON content type", request{method: "POST", path: "/machines/" + alpha + "/start", key: A, body: " \n", ctype: "application/json"}, 204, nil},
		{"JSON null body", request{method: "POST", path: "/machines/" + alpha + "/start", key: A, body: "null"}, 204, nil},
		{"empty body on create", request{method: "POST", path: "/machines/createSingleMachinePublic", key: A, body: "", ctype: "application/json"}, 400, wantMessage("region is required")},
		{"invalid JSON", request{method: "POST", path: "/machines/createSingleMachinePublic", key: A, body: `{"region":`}, 400, wantMessage("not valid JSON")},
		{"invalid JSON on GET", request{method: "GET", path: "/machines/getMachines", key: A, body: `{bad`}, 400, wantMessage("not valid JSON")},
		{"trailing garbage after JSON", request{method: "POST", path: "/machines/createSingleMachinePublic", key: A, body: `{} {}`}, 400, wantMessage("not valid JSON")},
		{"JSON array body", request{method: "POST", path: "/scripts/createScript", key: A, body: `[1,2]`}, 400, wantMessage("must be a JSON object")},
		{"JSON with charset parameter", request{method: "POST", path: "/scripts/createScript", key: A, body: `{"scriptName":"s3","scriptText":"x"}`,
			ctype: "application/json; charset=utf-8"}, 200, wantField("name", "s3")},
		{"JSON body without content type", request{method: "POST", path: "/scripts/createScript", key: A, body: `{"scriptName":"s4","scriptText":"x"}`,
			header: map[string]string{"Content-Type": ""}}, 200, wantField("name", "s4")},
		{"form body", request{method: "POST", path: "/scripts/createScript", key: A, body: "scriptName=s5&scriptText=echo+form&isEnabled=false",
			ctype: "application/x-www-form-urlencoded"}, 200, wantField("isEnabled", false)},
		{"multipart upload with params in the query (node)", request{method: "POST",
			path: "/scripts/createScript?scriptName=uploaded&scriptDescription=2019&isEnabled=false&runOnce=true", key: A, body: mp, ctype: ctype}, 200,
			func(t *testing.T, r response) {
				m := r.obj(t)
				if m["name"] != "uploaded" || m["description"] != "2019" || m["isEnabled"] != false || m["runOnce"] != true {
					t.Fatalf("multipart params: %s", r.body)
				}
				id := m["id"].(string)
				text := e.call(t, A, "GET", "/scripts/getScriptText?scriptId="+id, nil).must(t, 200)
				var s string
				text.json(t, &s)
				if s != "#!/bin/bash\necho uploaded\n" {
					t.Fatalf("uploaded text %q", s)
				}
			}},
		{"multipart upload and scriptText", request{method: "POST", path: "/scripts/createScript?scriptName=both&scriptText=x", key: A, body: mp, ctype: ctype}, 400, wantMessage("not both")},
		{"multipart without boundary", request{method: "POST", path: "/scripts/createScript?scriptName=nob", key: A, body: mp, ctype: "multipart/form-data"}, 400, wantMessage("boundary")},

		// Where the machine id travels.
		{"machineId in body and path (node)", request{method: "POST", path: "/machines/" + alpha + "/start", key: A, body: map[string]any{"machineId": alpha}}, 204, nil},
		{"path wins over body machineId", request{method: "POST", path: "/machines/" + alpha + "/updateMachinePublic", key: A,
			body: map[string]any{"machineId": beta, "machineName": "alpha"}}, 204,
			func(t *testing.T, r response) {
				if n := e.machine(t, A, beta)["name"]; n != "beta" {
					t.Fatalf("the body's machineId was updated: name %v", n)
				}
			}},
		{"machineId in body only (paperspace-go update)", request{method: "POST", path: "/machines/updateMachine", key: A,
			body: map[string]any{"machineId": beta, "machineName": "beta"}}, 200, wantField("id", beta)},
		{"machineId in query (update)", request{method: "POST", path: "/machines/updateMachine?machineId=" + beta, key: A,
			body: map[string]any{"machineName": "beta"}}, 200, wantField("id", beta)},
		{"body machineId wins over query", request{method: "GET", path: "/machines/getMachinePublic?machineId=" + alpha, key: A,
			body: map[string]any{"machineId": beta}}, 200, wantField("id", beta)},
		{"machineId as JSON null", request{method: "POST", path: "/machines/updateMachine", key: A, body: map[string]any{"machineId": nil}}, 400, wantMessage("machineId is required")},
		{"scriptId in the query", request{method: "GET", path: "/scripts/getScript?scriptId=" + sc, key: A}, 200, wantField("id", sc)},

		// paperspace-go spellings (spec §2.2, §6 #4).
		{"name and assignPublicIP aliases", request{method: "POST", path: "/machines/createSingleMachinePublic", key: A,
			body: createBody("machineName", omit, "name", "go-box", "assignPublicIP", true)}, 200,
			func(t *testing.T, r response) {
				m := r.obj(t)
				if m["name"] != "go-box" || m["publicIpAddress"] == nil {
					t.Fatalf("aliases ignored: %s", r.body)
				}
			}},
		{"documented spelling wins", request{method: "POST", path: "/machines/createSingleMachinePublic", key: A,
			body: createBody("machineName", "documented", "name", "alias", "assignPublicIp", false, "assignPublicIP", true)}, 200,
			func(t *testing.T, r response) {
				m := r.obj(t)
				if m["name"] != "documented" || m["publicIpAddress"] != nil {
					t.Fatalf("alias won over the documented name: %s", r.body)
				}
			}},
		{"name alias on updateMachine", request{method: "POST", path: "/machines/updateMachine", key: A,
			body: map[string]any{"machineId": beta, "name": "beta"}}, 200, wantField("name", "beta")},

		// Methods (spec §1.3: others → 404 JSON).
		{"GET on a POST route", request{method: "GET", path: "/machines/createSingleMachinePublic", key: A}, 404, wantMessage("Cannot GET")},
		{"POST on a GET route", request{method: "POST", path: "/machines/getMachines", key: A}, 404, wantMessage("Cannot POST")},
		{"PUT", request{method: "PUT", path: "/machines/" + alpha + "/start", key: A}, 404, wantMessage("Cannot PUT")},
		{"PATCH", request{method: "PATCH", path: "/scripts/getScripts", key: A}, 404, wantMessage("Cannot PATCH")},
		{"DELETE on operator GET route", request{method: "DELETE", path: "/hangar/v1/teams", key: e.Operator.Key}, 404, wantMessage("Cannot DELETE")},
		{"unknown route without credentials", request{method: "GET", path: "/nope"}, 404, wantMessage("Cannot GET /nope")},
		{"root", request{method: "GET", path: "/"}, 404, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, c.rq).must(t, c.status)
			if c.check != nil {
				c.check(t, r)
			}
		})
	}

	t.Run("private IP in the network's range", func(t *testing.T) {
		ip, _ := e.machine(t, A, alpha)["privateIpAddress"].(string)
		if a, err := netip.ParseAddr(ip); err != nil || !netip.MustParsePrefix("10.64.21.0/24").Contains(a) {
			t.Fatalf("private IP %q not in Acme Net", ip)
		}
	})
	t.Run("HEAD answers like GET without a body", func(t *testing.T) {
		r := e.do(t, request{method: "HEAD", path: "/machines/getMachines", key: A})
		if r.status != 200 || len(r.body) != 0 || r.header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("HEAD: %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
		}
	})
	t.Run("empty-bodied destroys (terraform)", func(t *testing.T) {
		e.do(t, request{method: "POST", path: "/scripts/" + sc + "/destroy", key: A, body: "", ctype: "application/json"}).must(t, 204)
		e.do(t, request{method: "POST", path: "/machines/" + gamma + "/destroyMachine", key: A, body: "", ctype: "application/json"}).must(t, 204)
		e.do(t, request{method: "POST", path: "/machines/" + beta + "/destroyMachine/", key: A, body: map[string]any{"releasePublicIp": true}}).must(t, 204)
		e.call(t, A, "GET", "/machines/getMachinePublic?machineId="+gamma, nil).must(t, 404)
		e.call(t, A, "GET", "/scripts/getScriptText?scriptId="+sc, nil).must(t, 404)
	})
}
