package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestListFilters: every documented filter of the small lists selects exactly (terraform data
// sources need exactly one row, spec §1.7, §5.2 item 13), whatever rows the caller has.
func TestListFilters(t *testing.T) {
	e := newEnv(t)
	A, C := e.Alice.Key, e.Carol.Key
	one := func(t *testing.T, key, path string, vals map[string]string, wantID string) {
		t.Helper()
		v := url.Values{}
		for k, x := range vals {
			v.Set(k, x)
		}
		got := ids(t, e.call(t, key, "GET", path+"?"+v.Encode(), nil).must(t, 200))
		if len(got) != 1 || got[0] != wantID {
			t.Errorf("%s %v: %v, want exactly %s", path, vals, got, wantID)
		}
	}
	users := e.call(t, A, "GET", "/users/getUsers?id="+e.Bob.ID, nil).must(t, 200).arr(t)
	bob := users[0]
	t.Run("users", func(t *testing.T) {
		for _, f := range []string{"id", "email", "firstname", "lastname", "dtCreated"} {
			one(t, A, "/users/getUsers", map[string]string{f: bob[f].(string), "teamId": e.TeamA}, e.Bob.ID)
		}
	})
	t.Run("templates", func(t *testing.T) {
		tm := e.call(t, A, "GET", "/templates/getTemplates?id="+e.TmplA, nil).must(t, 200).arr(t)[0]
		for _, f := range []string{"id", "name", "label", "os", "dtCreated", "teamId", "region"} {
			one(t, A, "/templates/getTemplates", map[string]string{f: tm[f].(string)}, e.TmplA)
		}
		one(t, A, "/templates/getTemplates", map[string]string{"userId": "null", "teamId": e.TeamA}, e.TmplA)
		one(t, A, "/templates/getTemplates", map[string]string{"name": "paperspace/" + linuxTmpl}, linuxTmpl)
		one(t, A, "/templates/getTemplates", map[string]string{"label": "Ubuntu 18.04 Server", "os": "Ubuntu 18.04 Server"}, linuxTmpl)
		// Public templates have no teamId, userId or region: such filters match team templates
		// only (or, with null, public ones only), for every team.
		public := len(e.call(t, C, "GET", "/templates/getTemplates?teamId=null", nil).must(t, 200).arr(t))
		if public != 15 {
			t.Errorf("teamId=null: %d templates, want the 15 public ones", public)
		}
		e.call(t, e.Operator.Key, "DELETE", "/hangar/v1/templates/"+e.TmplB, nil).must(t, 204)
		for _, f := range []string{"teamId=" + e.TeamB, "region=" + q("East Coast (NY2)"), "userId=" + e.Carol.ID} {
			if got := ids(t, e.call(t, C, "GET", "/templates/getTemplates?"+f, nil).must(t, 200)); len(got) != 0 {
				t.Errorf("%s without team templates: %v, want none", f, got)
			}
		}
		one(t, C, "/templates/getTemplates", map[string]string{"id": linuxTmpl}, linuxTmpl)
	})
	t.Run("networks", func(t *testing.T) {
		n := e.call(t, A, "GET", "/networks/getNetworks?id="+e.NetA, nil).must(t, 200).arr(t)[0]
		for _, f := range []string{"id", "name", "region", "dtCreated", "network"} {
			one(t, A, "/networks/getNetworks", map[string]string{f: n[f].(string), "netmask": "255.255.255.0", "teamId": e.TeamA}, e.NetA)
		}
	})
	t.Run("scripts", func(t *testing.T) {
		s := e.call(t, A, "POST", "/scripts/createScript", map[string]any{"scriptName": "one", "scriptText": "x", "scriptDescription": "d1",
			"isEnabled": false, "runOnce": true}).must(t, 200).obj(t)
		e.advance(time.Second)
		e.call(t, A, "POST", "/scripts/createScript", map[string]any{"scriptName": "two", "scriptText": "x"}).must(t, 200)
		id := s["id"].(string)
		for _, f := range []string{"id", "name", "description", "dtCreated"} {
			one(t, A, "/scripts/getScripts", map[string]string{f: s[f].(string)}, id)
		}
		one(t, A, "/scripts/getScripts", map[string]string{"isEnabled": "false", "runOnce": "true", "ownerType": "user", "ownerId": e.Alice.ID}, id)
	})
	t.Run("order is checked whatever the rows", func(t *testing.T) {
		for _, path := range []string{"/scripts/getScripts", "/templates/getTemplates", "/users/getUsers", "/networks/getNetworks"} {
			for _, key := range []string{e.Bob.Key, C} { // Bob has no scripts, Carol no team templates
				e.call(t, key, "GET", path+"?order=bogus", nil).must(t, 400)
				e.call(t, key, "GET", path+"?order="+q("dtCreated DESC, id"), nil).must(t, 200)
			}
		}
		e.call(t, A, "GET", "/templates/getTemplates?order=region", nil).must(t, 200)
	})
	t.Run("order, skip and limit", func(t *testing.T) {
		got := names(t, e.call(t, A, "GET", "/scripts/getScripts?order="+q("name DESC")+"&limit=1", nil).must(t, 200))
		if len(got) != 1 || got[0] != "two" {
			t.Errorf("order name DESC limit 1: %v", got)
		}
		r := e.call(t, A, "GET", "/scripts/getScripts", map[string]any{"filter": map[string]any{"order": "name ASC", "skip": 1}}).must(t, 200)
		if got := names(t, r); len(got) != 1 || got[0] != "two" {
			t.Errorf("skip 1: %v", got)
		}
	})
}

// TestScripts covers the script rules of spec §2.18–2.22 and startup-script runs (§3.2).
func TestScripts(t *testing.T) {
	e := newEnv(t)
	A := e.Alice.Key
	create := func(body map[string]any) response {
		return e.call(t, A, "POST", "/scripts/createScript", body)
	}
	t.Run("rules", func(t *testing.T) {
		create(map[string]any{"scriptName": "dup", "scriptText": "x"}).must(t, 200)
		if msg := create(map[string]any{"scriptName": "dup", "scriptText": "y"}).must(t, 400).errMessage(t); !strings.Contains(msg, "already exists") {
			t.Errorf("duplicate: %q", msg)
		}
		// Unique per owner: another user of the team may use the name.
		e.call(t, e.Bob.Key, "POST", "/scripts/createScript", map[string]any{"scriptName": "dup", "scriptText": "x"}).must(t, 200)
		create(map[string]any{"scriptName": "notext"}).must(t, 400)
		create(map[string]any{"scriptName": "emptytext", "scriptText": ""}).must(t, 400)
		create(map[string]any{"scriptText": "x"}).must(t, 400)
		create(map[string]any{"scriptName": "max", "scriptText": strings.Repeat("x", 16*1024)}).must(t, 200)
		if msg := create(map[string]any{"scriptName": "big", "scriptText": strings.Repeat("x", 16*1024+1)}).must(t, 400).errMessage(t); !strings.Contains(msg, "16 KB") {
			t.Errorf("too big: %q", msg)
		}
		ctype, body := multipartBody(t, strings.Repeat("y", 16*1024+1))
		e.do(t, request{method: "POST", path: "/scripts/createScript?scriptName=bigfile", key: A, body: body, ctype: ctype}).must(t, 400)
		create(map[string]any{"scriptName": "badbool", "scriptText": "x", "isEnabled": "sometimes"}).must(t, 400)
		s := create(map[string]any{"scriptName": "defaults", "scriptText": "x"}).must(t, 200).obj(t)
		if s["isEnabled"] != true || s["runOnce"] != false || s["description"] != nil || s["ownerType"] != "user" || s["ownerId"] != e.Alice.ID {
			t.Errorf("defaults: %v", s)
		}
		create(map[string]any{"scriptName": "onmachine", "scriptText": "x", "machineId": "psnope123"}).must(t, 404)
		if n := len(e.call(t, A, "GET", "/scripts/getScripts?name=onmachine", nil).must(t, 200).arr(t)); n != 0 {
			t.Error("script created although its machine was not found")
		}
	})
	t.Run("runs", func(t *testing.T) {
		every := create(map[string]any{"scriptName": "every", "scriptText": "x"}).must(t, 200).obj(t)["id"].(string)
		once := create(map[string]any{"scriptName": "once", "scriptText": "x", "runOnce": true}).must(t, 200).obj(t)["id"].(string)
		never := create(map[string]any{"scriptName": "never", "scriptText": "x", "isEnabled": false}).must(t, 200).obj(t)["id"].(string)
		mEvery := e.createMachine(t, A, "scriptId", every)
		mOnce := e.createMachine(t, A, "scriptId", once)
		mNever := e.createMachine(t, A, "scriptId", never)
		all := []string{mEvery, mOnce, mNever}
		lastRun := func(id string) any { return e.machine(t, A, id)["dtLastRun"] }
		e.driveTo(t, "ready", all...)
		first := map[string]any{}
		for _, id := range all {
			first[id] = lastRun(id)
		}
		if first[mEvery] == nil || first[mOnce] == nil || first[mNever] != nil {
			t.Fatalf("after first boot: %v", first)
		}
		for _, id := range all {
			e.call(t, A, "POST", "/machines/"+id+"/restart", nil).must(t, 204)
		}
		e.next(t, "serviceready", all...)
		e.next(t, "ready", all...)
		if lastRun(mEvery) == first[mEvery] || lastRun(mOnce) != first[mOnce] || lastRun(mNever) != nil {
			t.Fatalf("after a restart: every %v (was %v), once %v (was %v), never %v",
				lastRun(mEvery), first[mEvery], lastRun(mOnce), first[mOnce], lastRun(mNever))
		}
		var shown struct {
			Machines []struct {
				MachineID string
				DtLastRun *string
			}
		}
		e.call(t, A, "GET", "/scripts/getScript?scriptId="+every, nil).must(t, 200).json(t, &shown)
		if len(shown.Machines) != 1 || shown.Machines[0].MachineID != mEvery || shown.Machines[0].DtLastRun == nil ||
			*shown.Machines[0].DtLastRun != lastRun(mEvery) {
			t.Fatalf("getScript machines %+v, machine dtLastRun %v", shown.Machines, lastRun(mEvery))
		}
		// A new script assigned with machineId replaces the machine's script.
		repl := create(map[string]any{"scriptName": "replacement", "scriptText": "x", "machineId": mEvery}).must(t, 200).obj(t)["id"]
		if got := e.machine(t, A, mEvery)["scriptId"]; got != repl {
			t.Fatalf("scriptId %v, want %v", got, repl)
		}
	})
}

// TestBodyLimits: bodies over the limits are refused with 413 and the JSON error shape;
// script uploads (createScript) have their own, larger cap (default 4 MiB against 1 MiB).
func TestBodyLimits(t *testing.T) {
	e := newEnv(t)
	serve := func(method, path, ctype string, body []byte) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(string(body)))
		r.Header.Set("Content-Type", ctype)
		r.Header.Set("x-api-key", e.Alice.Key)
		rec := httptest.NewRecorder()
		e.Handler.ServeHTTP(rec, r)
		return rec
	}
	jsonScript := func(n int) []byte {
		return []byte(`{"scriptName":"big","scriptText":"` + strings.Repeat("x", n) + `"}`)
	}
	big, huge := jsonScript(2<<20), jsonScript(5<<20)
	for _, c := range []struct {
		name, method, path, ctype string
		body                      []byte
		want                      int
	}{
		{"JSON body", "POST", "/machines/createSingleMachinePublic", "application/json", big, 413},
		{"JSON body on GET", "GET", "/machines/getMachines", "application/json", big, 413},
		{"operator JSON body", "POST", "/hangar/v1/teams", "application/json", big, 413},
		// Over the general cap, under the upload cap: the script's own 16 KB rule answers.
		{"script JSON body under the upload cap", "POST", "/scripts/createScript", "application/json", big, 400},
		{"script JSON body over the upload cap", "POST", "/scripts/createScript", "application/json", huge, 413},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := serve(c.method, c.path, c.ctype, c.body)
			checkTransport(t, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes())
			if rec.Code != c.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.want, rec.Body)
			}
		})
	}
	t.Run("multipart upload", func(t *testing.T) {
		ctype, body := multipartBody(t, strings.Repeat("y", 2<<20))
		rec := serve("POST", "/scripts/createScript?scriptName=large", ctype, body)
		checkTransport(t, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes())
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "16 KB") {
			t.Fatalf("2 MiB upload: status %d: %s, want the 16 KB script rule", rec.Code, rec.Body)
		}
		ctype, body = multipartBody(t, strings.Repeat("y", 5<<20))
		rec = serve("POST", "/scripts/createScript?scriptName=huge", ctype, body)
		checkTransport(t, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes())
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("5 MiB upload: status %d: %s", rec.Code, rec.Body)
		}
	})
}
