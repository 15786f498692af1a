package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"hangar/internal/core"
)

// Fuzz inputs index these tables (modulo their length).
var (
	fuzzMethods = []string{"GET", "POST", "DELETE", "PUT", "HEAD", "PATCH", "OPTIONS"}
	fuzzCTypes  = []string{"", "application/json", "application/json; charset=utf-8", "multipart/form-data; boundary=XyZ",
		"application/x-www-form-urlencoded", "text/plain", "application/vnd.api+json", "multipart/form-data", "application/json; charset"}
	// fuzzParams are path parameter values; "$" is the fixture object of the route.
	fuzzParams = []string{"$", "psnope123", "..", "a b", "%2F", "x/y", "\x00", "ps" + strings.Repeat("z", 300)}
)

// fuzzStatuses are the only statuses any request may get.
var fuzzStatuses = map[int]bool{200: true, 204: true, 400: true, 401: true, 403: true, 404: true, 413: true}

// fuzzEnv is the one server per fuzz process: fuzzing keeps its state (machines created by
// earlier inputs stay), which only widens what later inputs reach.
type fuzzEnv struct {
	*env
	routes      []Route
	keys        []string
	spareKey    string            // an API key id for {id} (its revocation harms nothing)
	ids         map[string]string // operator route prefix -> the fixture its {id} names
	machine     string
	script      string
	replacer    *strings.Replacer
	advanceMu   sync.Mutex
	lastAdvance time.Time
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	e := newEnv(f)
	fe := &fuzzEnv{env: e, routes: e.API.Routes()}
	fe.keys = []string{"", e.Alice.Key, e.Bob.Key, e.Carol.Key, e.Operator.Key, "nope"}
	fe.machine = e.createMachine(f, e.Alice.Key, "userId", e.Bob.ID)
	fe.script = e.call(f, e.Alice.Key, "POST", "/scripts/createScript", map[string]any{"scriptName": "fuzz", "scriptText": "x"}).
		must(f, 200).obj(f)["id"].(string)
	nk, err := e.Svc.CreateKey(context.Background(), core.Principal{User: core.User{Role: core.RoleOperator}}, e.Carol.ID, "spare")
	if err != nil {
		f.Fatal(err)
	}
	fe.spareKey = nk.Key.ID
	hosts, err := e.Svc.ListHosts(context.Background(), core.Principal{User: core.User{Role: core.RoleOperator}}, "")
	if err != nil || len(hosts) == 0 {
		f.Fatal("no hosts", err)
	}
	fe.ids = map[string]string{"/hangar/v1/keys/": fe.spareKey, "/hangar/v1/templates/": e.TmplB,
		"/hangar/v1/networks/": e.NetA2, "/hangar/v1/hosts/": hosts[len(hosts)-1].ID}
	// Seeds write $M, $S, … for the fixtures, whose ids change on every run.
	fe.replacer = strings.NewReplacer("$M", fe.machine, "$S", fe.script, "$U", e.Bob.ID, "$T", e.TeamA, "$N", e.NetA,
		"$K", fe.spareKey, "$A", e.Alice.ID)
	return fe
}

// request builds the request for one fuzz input.
func (fe *fuzzEnv) request(method, route uint8, query string, ctype uint8, body []byte, auth, param uint8) *http.Request {
	var path string
	if int(route)%(len(fe.routes)+1) == len(fe.routes) {
		// The query carries a whole raw target: path normalisation and routing are fuzzed too.
		path, query, _ = strings.Cut(query, "?")
		if p, err := url.PathUnescape(path); err == nil {
			path = p
		}
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
	} else {
		rt := fe.routes[int(route)%len(fe.routes)]
		pv := fuzzParams[int(param)%len(fuzzParams)]
		path = rt.Pattern
		id := fe.spareKey
		for prefix, v := range fe.ids {
			if strings.HasPrefix(rt.Pattern, prefix) {
				id = v
			}
		}
		for name, fixture := range map[string]string{"machineId": fe.machine, "scriptId": fe.script, "id": id} {
			v := pv
			if v == "$" {
				v = fixture
			}
			path = strings.ReplaceAll(path, "{"+name+"}", v)
		}
	}
	query = fe.replacer.Replace(query)
	body = []byte(fe.replacer.Replace(string(body)))
	m := fuzzMethods[int(method)%len(fuzzMethods)]
	r := &http.Request{Method: m, URL: &url.URL{Path: path, RawQuery: query}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Host: "hangar.test", RemoteAddr: "127.0.0.1:1234", RequestURI: path}
	if len(body) > 0 {
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	} else {
		r.Body = http.NoBody
	}
	if ct := fuzzCTypes[int(ctype)%len(fuzzCTypes)]; ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	if k := fe.keys[int(auth)%len(fe.keys)]; k != "" {
		r.Header.Set("x-api-key", k)
	}
	return r
}

// FuzzDecode sends arbitrary requests to every route through the real handler and checks
// the transport contract: no panic (a recovered panic would be a 500), only the statuses the
// API uses, an empty body with 204, JSON everywhere else, and the Paperspace error shape with
// error.status equal to the HTTP status on every error.
func FuzzDecode(f *testing.F) {
	fe := newFuzzEnv(f)
	routeIdx := map[string]uint8{}
	for i, rt := range fe.routes {
		routeIdx[rt.Method+" "+rt.Pattern] = uint8(i)
	}
	methodIdx := map[string]uint8{}
	for i, m := range fuzzMethods {
		methodIdx[m] = uint8(i)
	}
	const (
		ctNone, ctJSON, ctMultipart, ctForm = 0, 1, 3, 4
		anon, alice, bob, carol, operator   = 0, 1, 2, 3, 4
	)
	add := func(method, pattern, query string, ct uint8, body string, auth uint8) {
		i, ok := routeIdx[method+" "+pattern]
		if !ok {
			f.Fatalf("seed for unknown route %s %s", method, pattern)
		}
		f.Add(methodIdx[method], i, query, ct, []byte(body), auth, uint8(0))
	}
	create := `{"region":"East Coast (NY2)","machineType":"C1","size":50,"billingType":"hourly","machineName":"fz","templateId":"t04azgph"}`
	add("POST", "/machines/createSingleMachinePublic", "", ctJSON, create, alice)
	add("POST", "/machines/createSingleMachinePublic", "", ctJSON, `{"region":"NY2","machineType":"GPU+","size":"100","billingType":"monthly",`+
		`"name":7,"templateId":"t04azgph","assignPublicIP":"true","networkId":"$N","teamId":"$T","userId":"$U","scriptId":"$S",`+
		`"shutdownTimeoutInHours":null,"autoSnapshotSaveCount":"3","autoSnapshotFrequency":"day","startOnCreate":false}`, alice)
	add("POST", "/machines/createSingleMachinePublic", "", ctJSON, `{"email":"n@x.io","password":"12345678","firstName":"a","lastName":"b",`+
		`"region":"West Coast (CA1)","machineType":"V100","size":50,"billingType":"hourly","machineName":"x","templateId":"t04azgph"}`, alice)
	add("POST", "/machines/createSingleMachinePublic", "", ctJSON, create, bob)
	add("GET", "/machines/getMachines", "", ctJSON, `{"filter":{"where":{"name":"fz","cpus":"1","ram":null},"limit":1,"skip":0,"order":"dtCreated DESC"}}`, alice)
	add("GET", "/machines/getMachines", "", ctJSON, `{"params":{"state":"ready","dtCreated":"2024-03-14T15:09:51.974Z"}}`, bob)
	add("GET", "/machines/getMachines", "machineId=$M&scriptId=null&limit=10&skip=1&order=name%20ASC%2C%20id&debug=true", ctNone, "", alice)
	add("GET", "/machines/getMachinePublic", "machineId=$M&state=ready", ctNone, "", alice)
	add("GET", "/machines/getMachinePublic", "", ctJSON, `{"machineId":"$M"}`, bob)
	for _, a := range []string{"start", "stop", "restart"} {
		add("POST", "/machines/{machineId}/"+a, "", ctJSON, `{"machineId":"$M"}`, alice)
		add("POST", "/machines/{machineId}/"+a, "access_token=abc", ctJSON, "", anon)
	}
	add("POST", "/machines/{machineId}/destroyMachine", "", ctJSON, `{"releasePublicIp":"true"}`, carol)
	add("POST", "/machines/{machineId}/updateMachinePublic", "", ctJSON, `{"machineName":"n","shutdownTimeoutInHours":"24","shutdownTimeoutForces":"false",`+
		`"performAutoSnapshot":true,"autoSnapshotFrequency":null,"autoSnapshotSaveCount":2,"dynamicPublicIp":true,"assignPublicIp":false}`, alice)
	add("POST", "/machines/updateMachine", "", ctJSON, `{"machineId":"$M","name":"go","autoSnapshotFrequency":"week"}`, bob)
	add("GET", "/machines/getAvailability", "region=East%20Coast%20(NY2)&machineType=GPU+", ctNone, "", alice)
	for _, p := range []string{"/machines/{machineId}/setMachineAccess", "/machines/{machineId}/setMachineAccessPublic"} {
		add("GET", p, "userId=$U&enableAccess=false", ctNone, "", alice)
		add("POST", p, "", ctJSON, `{"userId":"$U","enableAccess":"true"}`, alice)
	}
	add("GET", "/users/getUsers", "email=bob%40acme.test&firstname=Bob&teamId=$T", ctNone, "", bob)
	add("GET", "/templates/getTemplates", "label=null&order=dtCreated%20DESC", ctJSON, "", carol)
	add("GET", "/networks/getNetworks", "name=Acme+Net&netmask=255.255.255.0", ctNone, "", alice)
	add("POST", "/scripts/createScript", "", ctJSON, `{"scriptName":2019,"scriptText":"echo hi","scriptDescription":"d","isEnabled":"false","runOnce":true,"machineId":"$M"}`, alice)
	add("POST", "/scripts/createScript", "scriptName=up&isEnabled=true", ctMultipart,
		"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.sh\"\r\n\r\necho up\r\n--XyZ\r\nContent-Disposition: form-data; name=\"runOnce\"\r\n\r\ntrue\r\n--XyZ--\r\n", bob)
	add("POST", "/scripts/createScript", "", ctForm, "scriptName=f&scriptText=echo+f", alice)
	add("POST", "/scripts/{scriptId}/destroy", "", ctJSON, "", carol)
	add("GET", "/scripts/getScripts", "ownerType=user&isEnabled=true", ctNone, "", alice)
	add("GET", "/scripts/getScript", "scriptId=$S", ctNone, "", bob)
	add("GET", "/scripts/getScriptText", "scriptId=$S", ctJSON, "", alice)
	add("POST", "/users/login", "", ctJSON, `{"email":"nobody@acme.test","password":"wrong-password"}`, anon)
	add("POST", "/apiTokens/createPublic", "", ctJSON, `{"apiToken":"default","debug":true}`, bob)
	add("POST", "/apiToken/createPublic", "access_token=nope", ctJSON, `{}`, anon)
	add("GET", "/hangar/v1/teams", "", ctNone, "", operator)
	add("POST", "/hangar/v1/teams", "", ctJSON, `{"name":"T","individual":"yes"}`, operator)
	add("GET", "/hangar/v1/users", "team=$T", ctNone, "", operator)
	add("POST", "/hangar/v1/users", "", ctJSON, `{"team":"2","email":"u@x.io","password":"12345678","firstName":"u","lastName":"x","admin":true}`, operator)
	add("GET", "/hangar/v1/keys", "user=$U", ctNone, "", bob)
	add("POST", "/hangar/v1/keys", "", ctJSON, `{"user":"$A","name":""}`, operator)
	add("POST", "/hangar/v1/keys/{id}/revoke", "", ctJSON, "", alice)
	add("GET", "/hangar/v1/templates", "team=$T", ctNone, "", operator)
	add("POST", "/hangar/v1/templates", "", ctJSON, `{"name":"t","os":"Windows","team":"$T","region":"AMS1","image":"/nonexistent"}`, operator)
	add("DELETE", "/hangar/v1/templates/{id}", "", ctNone, "", operator)
	add("GET", "/hangar/v1/networks", "team=2", ctNone, "", operator)
	add("POST", "/hangar/v1/networks", "", ctJSON, `{"team":"$T","name":"n","region":"Europe (AMS1)","cidr":"10.9.0.0/16"}`, operator)
	add("DELETE", "/hangar/v1/networks/{id}", "", ctNone, "", operator)
	add("GET", "/hangar/v1/hosts", "region=ny2", ctNone, "", operator)
	add("POST", "/hangar/v1/hosts", "", ctJSON, `{"name":"h","region":"CA1","capacity":{"C1":1e3},"available":null}`, operator)
	add("POST", "/hangar/v1/hosts/{id}", "", ctJSON, `{"capacity":{"C1":-1}}`, operator)
	add("DELETE", "/hangar/v1/hosts/{id}", "", ctNone, "", operator)
	add("GET", "/hangar/v1/sim/faults", "", ctNone, "", operator)
	add("POST", "/hangar/v1/sim/faults", "", ctJSON, `{"action":"create","count":1,"message":"m"}`, operator)
	// Raw targets (the last route index): paths the mux must not redirect.
	raw := uint8(len(fe.routes))
	for _, target := range []string{"//machines//getMachines/?limit=1", "/machines/./getMachines", "/a/../machines/getMachinePublic?machineId=$M",
		"/machines/%2e%2e/x", "?", "/%zz", "/machines/getMachines?%zz=1&a=%", "/hangar/v1/keys/../../v1/teams"} {
		f.Add(methodIdx["GET"], raw, target, uint8(ctNone), []byte(nil), uint8(alice), uint8(0))
	}
	// Bodies that must be refused cleanly.
	for _, body := range []string{"{", "[]", `"s"`, "null", "1e999", `{"a":1}{"b":2}`, "\xff\xfe", `{"filter":"x","params":[1]}`,
		`{"filter":{"where":[1],"limit":-1}}`, `{"filter":{"limit":1e30}}`, `{"machineName":"\u0000"}`} {
		f.Add(methodIdx["POST"], routeIdx["POST /machines/createSingleMachinePublic"], "", uint8(ctJSON), []byte(body), uint8(alice), uint8(0))
		f.Add(methodIdx["GET"], routeIdx["GET /machines/getMachines"], "", uint8(ctNone), []byte(body), uint8(alice), uint8(0))
	}

	f.Fuzz(func(t *testing.T, method, route uint8, query string, ctype uint8, body []byte, auth, param uint8) {
		r := fe.request(method, route, query, ctype, body, auth, param)
		fe.serve(t, r)
	})
}

// tick lets fake time pass now and then, so that machines reach every state while fuzzing.
func (fe *fuzzEnv) tick() {
	fe.advanceMu.Lock()
	defer fe.advanceMu.Unlock()
	if time.Since(fe.lastAdvance) > 50*time.Millisecond {
		fe.lastAdvance = time.Now()
		fe.advance(phase / 4)
	}
}

// checkFuzzResponse checks the transport contract of one fuzzed response: only the statuses
// the API uses (no 5xx: a recovered panic would be a 500), an empty body with 204, JSON
// everywhere else, and the Paperspace error shape with error.status equal to the HTTP status.
func checkFuzzResponse(t *testing.T, r *http.Request, status int, ctype string, got []byte) {
	t.Helper()
	if !fuzzStatuses[status] {
		t.Fatalf("%s %s?%s: status %d; body %s", r.Method, r.URL.Path, r.URL.RawQuery, status, got)
	}
	if status == http.StatusNoContent {
		if len(got) != 0 {
			t.Fatalf("%s %s: 204 with body %q", r.Method, r.URL.Path, got)
		}
		return
	}
	if ctype != "application/json; charset=utf-8" {
		t.Fatalf("%s %s: status %d with Content-Type %q", r.Method, r.URL.Path, status, ctype)
	}
	if !json.Valid(got) {
		t.Fatalf("%s %s: status %d with a body that is not JSON: %q", r.Method, r.URL.Path, status, got)
	}
	if status >= 400 {
		var b struct {
			Error *struct {
				Name    *string
				Message *string
				Status  *int
			}
		}
		if err := json.Unmarshal(got, &b); err != nil || b.Error == nil || b.Error.Name == nil || *b.Error.Name != "Error" ||
			b.Error.Message == nil || *b.Error.Message == "" || b.Error.Status == nil || *b.Error.Status != status {
			t.Fatalf("%s %s: status %d with body %s, not the Paperspace error shape", r.Method, r.URL.Path, status, got)
		}
	}
}

// fuzzParamNames are the parameter names the API reads, on every route (spec §2, the operator
// API): FuzzParams sends them with fuzzed values and types.
var fuzzParamNames = []string{
	"region", "machineType", "size", "billingType", "machineName", "templateId", "assignPublicIp", "assignPublicIP",
	"dynamicPublicIp", "networkId", "teamId", "userId", "email", "password", "firstName", "lastName", "notificationEmail",
	"scriptId", "shutdownTimeoutInHours", "shutdownTimeoutForces", "performAutoSnapshot", "autoSnapshotFrequency",
	"autoSnapshotSaveCount", "takeInitialSnapshot", "markSnapshotAsRestorePoint", "restorePointFrequency", "isManaged",
	"startOnCreate", "enableNvlink", "machineId", "id", "name", "state", "enableAccess", "releasePublicIp", "scriptName",
	"scriptText", "scriptDescription", "isEnabled", "runOnce", "apiToken", "limit", "skip", "order", "filter", "params",
	"access_token", "apiKey", "team", "user", "os", "label", "agentType", "image", "kernel", "initrd", "cidr", "capacity",
	"available", "action", "count", "message", "individual", "admin", "dtCreated", "file", "ownerType", "netmask",
}

// fuzzEncodings are how FuzzParams sends the parameters (spec §1.3).
const (
	encQuery = iota
	encJSON
	encForm
	encMultipart
	encFilter // paperspace-go: {"filter":{"where":{…},"limit","skip","order"}}
	encParams // gradient-cli: {"params":{…}}
	encMixed  // alternately in the query and the JSON body
	nEncodings
)

// fuzzValue turns one fuzzed entry into a typed value: kind chooses a string, a number, a
// boolean, null, an object or an array.
func fuzzValue(kind byte, text string) any {
	switch kind % 6 {
	case 1:
		return json.Number(strings.TrimSpace(text))
	case 2:
		return len(text)%2 == 0
	case 3:
		return nil
	case 4:
		var v any
		if json.Unmarshal([]byte(text), &v) == nil {
			if m, ok := v.(map[string]any); ok {
				return m
			}
		}
		return map[string]any{"where": map[string]any{"name": text}, "C1": len(text)}
	case 5:
		return []any{text, len(text)}
	}
	return text
}

// asText is how a typed value travels in a query string or a form.
func asText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "null"
	case json.Number:
		return string(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// paramRequest builds FuzzParams' request: route's method and path (with fixture ids), and
// the entries of spec — lines of a name byte, a kind byte and the value — encoded by enc.
func (fe *fuzzEnv) paramRequest(route, enc, auth uint8, spec string) (*http.Request, bool) {
	rt := fe.routes[int(route)%len(fe.routes)]
	path := rt.Pattern
	id := fe.spareKey
	for prefix, v := range fe.ids {
		if strings.HasPrefix(rt.Pattern, prefix) {
			id = v
		}
	}
	for name, fixture := range map[string]string{"machineId": fe.machine, "scriptId": fe.script, "id": id} {
		path = strings.ReplaceAll(path, "{"+name+"}", fixture)
	}
	query := url.Values{}
	obj := map[string]any{}
	var file *string
	for i, line := range strings.Split(fe.replacer.Replace(spec), "\n") {
		if len(line) < 2 {
			continue
		}
		name, v := fuzzParamNames[int(line[0])%len(fuzzParamNames)], fuzzValue(line[1], line[2:])
		switch {
		case enc%nEncodings == encQuery, enc%nEncodings == encMixed && i%2 == 0:
			query.Set(name, asText(v))
		case enc%nEncodings == encMultipart && name == "file":
			s := asText(v)
			file = &s
		default:
			obj[name] = v
		}
	}
	var body []byte
	ctype := ""
	switch enc % nEncodings {
	case encJSON, encMixed:
		body, _ = json.Marshal(obj)
		ctype = "application/json"
	case encFilter:
		f := map[string]any{"where": obj}
		for _, k := range []string{"limit", "skip", "order"} {
			if v, ok := obj[k]; ok {
				f[k] = v
				delete(obj, k)
			}
		}
		body, _ = json.Marshal(map[string]any{"filter": f})
		ctype = "application/json"
	case encParams:
		body, _ = json.Marshal(map[string]any{"params": obj})
		ctype = "application/json"
	case encForm:
		form := url.Values{}
		for k, v := range obj {
			form.Set(k, asText(v))
		}
		body, ctype = []byte(form.Encode()), "application/x-www-form-urlencoded"
	case encMultipart:
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for k, v := range obj {
			if w.WriteField(k, asText(v)) != nil {
				return nil, false
			}
		}
		if file != nil {
			fw, err := w.CreateFormFile("file", "s.sh")
			if err != nil {
				return nil, false
			}
			_, _ = io.WriteString(fw, *file)
		}
		_ = w.Close()
		body, ctype = buf.Bytes(), w.FormDataContentType()
	}
	target := path
	if q := query.Encode(); q != "" {
		target += "?" + q
	}
	r := httptest.NewRequest(rt.Method, target, bytes.NewReader(body))
	if len(body) == 0 {
		r.Body = http.NoBody
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	if k := fe.keys[int(auth)%len(fe.keys)]; k != "" {
		r.Header.Set("x-api-key", k)
	}
	return r, true
}

// FuzzParams sends every route of Routes() the parameters the API knows, with fuzzed values
// and JSON types, in every encoding a client uses (query, JSON, form, multipart, a filter or
// params body, query and body mixed), through the real handler on a real store, and checks
// the transport contract as FuzzDecode does. FuzzDecode fuzzes the bytes; this reaches the
// decoding of each parameter of each route.
func FuzzParams(f *testing.F) {
	fe := newFuzzEnv(f)
	nameIdx := map[string]byte{}
	for i, n := range fuzzParamNames {
		nameIdx[n] = byte(i)
	}
	// entry encodes one parameter: kind s(tring), n(umber), b(ool: even length true), z (null),
	// o(bject), a(rray).
	entry := func(name string, kind byte, value string) string {
		i, ok := nameIdx[name]
		if !ok {
			f.Fatalf("seed names unknown parameter %s", name)
		}
		k := map[byte]byte{'s': 0, 'n': 1, 'b': 2, 'z': 3, 'o': 4, 'a': 5}[kind]
		return string([]byte{i, k}) + value
	}
	spec := func(entries ...string) string { return strings.Join(entries, "\n") }
	const alice, bob, operator = 1, 2, 4
	create := spec(entry("region", 's', "East Coast (NY2)"), entry("machineType", 's', "C1"), entry("size", 'n', "50"),
		entry("billingType", 's', "hourly"), entry("machineName", 's', "fz"), entry("templateId", 's', "t04azgph"),
		entry("assignPublicIp", 'b', "ab"), entry("networkId", 's', "$N"), entry("userId", 's', "$U"), entry("scriptId", 's', "$S"),
		entry("shutdownTimeoutInHours", 'n', "24"), entry("autoSnapshotSaveCount", 's', "3"), entry("startOnCreate", 'b', "x"))
	list := spec(entry("limit", 'n', "2"), entry("skip", 's', "1"), entry("order", 's', "dtCreated DESC"), entry("name", 's', "fz"),
		entry("state", 'z', ""), entry("userId", 's', "$U"), entry("teamId", 's', "$T"), entry("filter", 'o', `{"where":{"id":"$M"}}`))
	update := spec(entry("machineId", 's', "$M"), entry("machineName", 's', "n2"), entry("shutdownTimeoutForces", 's', "true"),
		entry("performAutoSnapshot", 'b', "xx"), entry("autoSnapshotFrequency", 's', "week"), entry("dynamicPublicIp", 'b', "x"))
	script := spec(entry("scriptName", 's', "fz-script"), entry("scriptText", 's', "echo hi"), entry("file", 's', "echo file"),
		entry("isEnabled", 's', "false"), entry("runOnce", 'b', "xx"), entry("machineId", 's', "$M"))
	access := spec(entry("userId", 's', "$U"), entry("enableAccess", 's', "false"), entry("machineId", 's', "$M"))
	op := spec(entry("team", 's', "$T"), entry("user", 's', "$U"), entry("name", 's', "fz-op"), entry("email", 's', "fz@x.io"),
		entry("password", 's', "12345678"), entry("firstName", 's', "f"), entry("lastName", 's', "z"), entry("os", 's', "Windows 10"),
		entry("region", 's', "Europe (AMS1)"), entry("cidr", 's', "10.99.0.0/16"), entry("capacity", 'o', `{"C1":2}`),
		entry("action", 's', "stop"), entry("count", 'n', "1"), entry("available", 'b', "xx"), entry("individual", 'b', "x"))
	other := spec(entry("region", 's', "AMS1"), entry("machineType", 's', "GPU+"), entry("scriptId", 's', "$S"), entry("email", 's', "bob@acme.test"),
		entry("password", 's', "pw-Bob-secret"), entry("apiToken", 's', "default"), entry("machineId", 's', "$M"), entry("releasePublicIp", 'b', "xx"))
	for i, rt := range fe.routes {
		var s string
		switch {
		case strings.HasPrefix(rt.Pattern, "/hangar/v1/"):
			s = op
		case strings.HasSuffix(rt.Pattern, "createSingleMachinePublic"):
			s = create
		case strings.Contains(rt.Pattern, "/get") && strings.HasSuffix(rt.Pattern, "s"):
			s = list
		case strings.Contains(rt.Pattern, "update"):
			s = update
		case strings.HasPrefix(rt.Pattern, "/scripts/"):
			s = script
		case strings.Contains(rt.Pattern, "setMachineAccess"):
			s = access
		default:
			s = other
		}
		auth := uint8(alice)
		if strings.HasPrefix(rt.Pattern, "/hangar/v1/") {
			auth = operator
		}
		for enc := range uint8(nEncodings) {
			f.Add(uint8(i), enc, auth, s)
		}
		f.Add(uint8(i), uint8(encJSON), uint8(bob), s)
	}
	f.Fuzz(func(t *testing.T, route, enc, auth uint8, spec string) {
		r, ok := fe.paramRequest(route, enc, auth, spec)
		if !ok {
			return
		}
		fe.serve(t, r)
	})
}

// serve sends one fuzzed request through the whole handler stack, checks the answer against
// the transport contract and moves the clock on (FUZZ_LOG=1 logs each exchange).
func (fe *fuzzEnv) serve(t *testing.T, r *http.Request) {
	rec := httptest.NewRecorder()
	fe.Handler.ServeHTTP(rec, r)
	res := rec.Result()
	got, _ := io.ReadAll(res.Body)
	if os.Getenv("FUZZ_LOG") != "" {
		t.Logf("%s %s?%s -> %d %.150s", r.Method, r.URL.Path, r.URL.RawQuery, res.StatusCode, got)
	}
	checkFuzzResponse(t, r, res.StatusCode, res.Header.Get("Content-Type"), got)
	fe.tick()
}
