package httpapi

import (
	"encoding/json"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"hangar/api"
)

// tfNetwork and tfNamedNetwork mirror the structs terraform-provider-paperspace decodes
// (spec §2.25): a wrongly typed field fails its json.Decode.
type tfNetwork struct {
	ID      int    `json:"id"`
	Handle  string `json:"handle"`
	IsTaken bool   `json:"isTaken"`
	Network string `json:"network"`
	Netmask string `json:"netmask"`
	VlanID  int    `json:"vlanId"`
}

type tfNamedNetwork struct {
	Name    string    `json:"name"`
	Network tfNetwork `json:"network"`
}

// goNetwork mirrors paperspace-go's Network (spec §2.26).
type goNetwork struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Network   string    `json:"network"`
	Netmask   string    `json:"netmask"`
	TeamID    string    `json:"teamId"`
	IsManaged bool      `json:"isManaged"`
	DtCreated time.Time `json:"dtCreated"`
	DtDeleted time.Time `json:"dtDeleted"`
}

// terraform builds a request as terraform-provider-paperspace sends it: a JSON body on every
// request (empty when there are no parameters) and its headers.
func terraform(key, method, path string, body any) request {
	if body == nil {
		body = ""
	}
	return request{method: method, path: path, key: key, body: body, ctype: "application/json",
		header: map[string]string{"Accept": "application/json", "User-Agent": "terraform-provider-paperspace",
			"ps_client_name": "terraform-provider-paperspace"}}
}

// paperspaceGo builds a request as paperspace-go sends it: parameters as a JSON body on every
// method, GET and DELETE included, and its headers.
func paperspaceGo(key, method, path string, body any) request {
	return request{method: method, path: path, key: key, body: body, ctype: "application/json",
		header: map[string]string{"Accept": "application/json", "User-Agent": "Go Paperspace Gradient 1.0"}}
}

// decodeAs decodes a response body with the standard decoder into v, as the real clients do.
func decodeAs(t *testing.T, r response, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("the client cannot decode %s: %v", r.body, err)
	}
}

// teamNum returns the numeric id of a team, from the operator API.
func (e *env) teamNum(t *testing.T, id string) int64 {
	t.Helper()
	var teams []api.Team
	e.call(t, e.Operator.Key, "GET", "/hangar/v1/teams", nil).must(t, 200).json(t, &teams)
	for _, tm := range teams {
		if tm.ID == id {
			return tm.Num
		}
	}
	t.Fatalf("team %s not listed", id)
	return 0
}

// TestTerraformNetworkLifecycle runs the paperspace_network resource as terraform does:
// createPrivateNetwork on the numeric team id, getNetworks until the name appears, reads by
// network.id, then delete through paperspace-go's DELETE /networks/<numeric id>.
func TestTerraformNetworkLifecycle(t *testing.T) {
	e := newEnv(t)
	A := e.Alice.Key
	num := strconv.FormatInt(e.teamNum(t, e.TeamA), 10)

	var created tfNetwork
	decodeAs(t, e.do(t, terraform(A, "POST", "/teams/"+num+"/createPrivateNetwork",
		map[string]any{"name": "managed_network_ab12cd3", "regionId": 1})).must(t, 200), &created)
	var raw map[string]any
	decodeAs(t, e.do(t, terraform(A, "POST", "/teams/"+num+"/createPrivateNetwork",
		map[string]any{"name": "managed_network_second", "regionId": 3})).must(t, 200), &raw)
	if len(raw) != 6 {
		t.Errorf("createPrivateNetwork keys %v, want exactly id, handle, isTaken, network, netmask, vlanId", raw)
	}
	// Free /24s of the managed pool, clear of the fixtures' 10.64.21.0/24, 10.64.22.0/24 and
	// 10.64.30.0/24.
	if created.ID <= 0 || !strings.HasPrefix(created.Handle, "n") || !created.IsTaken ||
		created.Network != "10.64.0.0" || created.Netmask != "255.255.255.0" || raw["network"] != "10.64.1.0" {
		t.Errorf("created %+v, second %v", created, raw)
	}

	var list []tfNamedNetwork
	decodeAs(t, e.do(t, terraform(A, "GET", "/teams/"+num+"/getNetworks", nil)).must(t, 200), &list)
	var found *tfNamedNetwork
	for i := range list {
		if list[i].Name == "managed_network_ab12cd3" {
			found = &list[i]
		}
	}
	if found == nil || found.Network != created {
		t.Fatalf("getNetworks %+v has no item equal to %+v", list, created)
	}
	if len(list) != 4 { // Acme Net, Acme Europe and the two created
		t.Errorf("getNetworks lists %d networks, want 4", len(list))
	}
	// The handle addresses the team too, and the networks list shows the new network.
	e.do(t, terraform(A, "GET", "/teams/"+e.TeamA+"/getNetworks", nil)).must(t, 200)
	nets := e.call(t, A, "GET", "/networks/getNetworks?name=managed_network_ab12cd3", nil).must(t, 200).arr(t)
	if len(nets) != 1 || nets[0]["id"] != created.Handle || nets[0]["region"] != "East Coast (NY2)" {
		t.Errorf("getNetworks by name: %v", nets)
	}

	// A machine on the new network gets an address from its range.
	m := e.createMachine(t, A, "networkId", created.Handle)
	ip, err := netip.ParseAddr(e.machine(t, A, m)["privateIpAddress"].(string))
	if err != nil || !netip.MustParsePrefix("10.64.0.0/24").Contains(ip) {
		t.Errorf("private IP %v (%v) outside 10.64.0.0/24", ip, err)
	}
	id := strconv.Itoa(created.ID)
	e.do(t, paperspaceGo(A, "DELETE", "/networks/"+id, nil)).must(t, 400) // machines attached
	e.call(t, A, "POST", "/machines/"+m+"/destroyMachine", nil).must(t, 204)

	// terraform's delete: 2xx, then 404 (with error.status 404) means already gone.
	e.do(t, paperspaceGo(A, "DELETE", "/networks/"+id, nil)).must(t, 204)
	var gone api.ErrorBody
	decodeAs(t, e.do(t, paperspaceGo(A, "DELETE", "/networks/"+id, nil)).must(t, 404), &gone)
	if gone.Error.Status != 404 {
		t.Errorf("second delete: %+v", gone)
	}
	decodeAs(t, e.do(t, terraform(A, "GET", "/teams/"+num+"/getNetworks", nil)).must(t, 200), &list)
	for _, n := range list {
		if n.Network.ID == created.ID {
			t.Errorf("deleted network still listed: %+v", n)
		}
	}
	// The handle works for DELETE too; a JSON null body is no body.
	e.do(t, paperspaceGo(A, "DELETE", "/networks/"+raw["handle"].(string), "null")).must(t, 204)
}

// TestGoNetworks runs paperspace-go's network calls: create, get by id (list filtered by the
// GET body, exactly one), list filters, delete.
func TestGoNetworks(t *testing.T) {
	e := newEnv(t)
	A := e.Alice.Key
	var n goNetwork
	decodeAs(t, e.do(t, paperspaceGo(A, "POST", "/networks", map[string]any{"name": "go-net", "regionId": 3})).must(t, 200), &n)
	if _, err := strconv.Atoi(n.ID); err != nil || n.Name != "go-net" || n.TeamID != e.TeamA || !n.IsManaged ||
		n.Network != "10.64.0.0" || n.Netmask != "255.255.255.0" || !n.DtCreated.Equal(e.Clock.Now()) || !n.DtDeleted.IsZero() {
		t.Errorf("created %+v", n)
	}
	get := func(body map[string]any) []goNetwork {
		t.Helper()
		var out []goNetwork
		decodeAs(t, e.do(t, paperspaceGo(A, "GET", "/networks", body)).must(t, 200), &out)
		if out == nil {
			t.Fatalf("GET /networks %v: not an array", body)
		}
		return out
	}
	if got := get(map[string]any{"id": n.ID}); len(got) != 1 || got[0] != n {
		t.Errorf("GetNetwork(%s) = %+v", n.ID, got)
	}
	if got := get(map[string]any{}); len(got) != 3 {
		t.Errorf("all networks: %d, want 3", len(got))
	}
	if got := get(map[string]any{"region": "Europe (AMS1)"}); len(got) != 2 {
		t.Errorf("AMS1 networks: %+v", got) // Acme Europe and go-net
	}
	if got := get(map[string]any{"region": "Europe (AMS1)", "name": "go-net", "netmask": "255.255.255.0", "teamId": e.TeamA}); len(got) != 1 {
		t.Errorf("AND filters: %+v", got)
	}
	if got := get(map[string]any{"region": "Mars"}); len(got) != 0 {
		t.Errorf("unknown region: %+v", got)
	}
	if got := get(map[string]any{"name": "nope"}); len(got) != 0 {
		t.Errorf("no match: %+v", got)
	}
	e.do(t, paperspaceGo(A, "DELETE", "/networks/"+n.ID, nil)).must(t, 204)
	if got := get(map[string]any{"id": n.ID}); len(got) != 0 {
		t.Errorf("deleted network listed: %+v", got)
	}
}

// TestTeamNetworkErrors checks validation and who may do what: admins manage their team's
// networks, members read them and get 403 on changes, other teams' objects are 404.
func TestTeamNetworkErrors(t *testing.T) {
	e := newEnv(t)
	A, Bob, C := e.Alice.Key, e.Bob.Key, e.Carol.Key
	numA := strconv.FormatInt(e.teamNum(t, e.TeamA), 10)
	numB := strconv.FormatInt(e.teamNum(t, e.TeamB), 10)
	body := map[string]any{"name": "n", "regionId": 2}
	create := func(key, team string, b any) response {
		return e.do(t, terraform(key, "POST", "/teams/"+team+"/createPrivateNetwork", b))
	}
	for _, c := range []struct {
		name   string
		body   map[string]any
		status int
	}{
		{"missing name", map[string]any{"regionId": 1}, 400},
		{"blank name", map[string]any{"name": " ", "regionId": 1}, 400},
		{"missing region", map[string]any{"name": "n"}, 400},
		{"unknown regionId", map[string]any{"name": "n", "regionId": 9}, 400},
		{"regionId not a number", map[string]any{"name": "n", "regionId": "one"}, 400},
		{"unknown region name", map[string]any{"name": "n", "region": "Mars"}, 400},
		{"region by name", map[string]any{"name": "n", "region": "West Coast (CA1)"}, 200},
		{"regionId as a string", map[string]any{"name": "n", "regionId": "2"}, 200},
	} {
		t.Run(c.name, func(t *testing.T) { create(A, numA, c.body).must(t, c.status) })
	}
	create(Bob, numA, body).must(t, 403)
	create(Bob, e.TeamA, body).must(t, 403)
	create(A, numB, body).must(t, 404)
	create(A, "99999", body).must(t, 404)
	create(A, "tenope123", body).must(t, 404)
	create(C, numA, body).must(t, 404)
	e.do(t, paperspaceGo(Bob, "POST", "/networks", body)).must(t, 403)

	e.do(t, terraform(Bob, "GET", "/teams/"+numA+"/getNetworks", nil)).must(t, 200)
	e.do(t, terraform(C, "GET", "/teams/"+numA+"/getNetworks", nil)).must(t, 404)
	e.do(t, terraform(C, "GET", "/teams/"+numB+"/getNetworks", nil)).must(t, 200)
	e.do(t, terraform("", "GET", "/teams/"+numA+"/getNetworks", nil)).must(t, 401)

	var n tfNetwork
	decodeAs(t, create(A, numA, body).must(t, 200), &n)
	id := strconv.Itoa(n.ID)
	e.do(t, paperspaceGo(Bob, "DELETE", "/networks/"+id, nil)).must(t, 403)
	e.do(t, paperspaceGo(C, "DELETE", "/networks/"+id, nil)).must(t, 404)
	e.do(t, paperspaceGo(C, "DELETE", "/networks/"+n.Handle, nil)).must(t, 404)
	e.do(t, paperspaceGo(A, "DELETE", "/networks/99999", nil)).must(t, 404)
	if got := e.do(t, paperspaceGo(C, "GET", "/networks", map[string]any{"id": id})).must(t, 200).arr(t); len(got) != 0 {
		t.Errorf("Carol sees team A's network: %v", got)
	}
	e.do(t, paperspaceGo(A, "DELETE", "/networks/"+id, nil)).must(t, 204)
	e.do(t, paperspaceGo(A, "GET", "/networks", map[string]any{"limit": -1})).must(t, 400)
}

// TestNetworkVLANsAndRangesStayUnique deletes a network between creates and checks that no
// two live networks share a VLAN id or an address range.
func TestNetworkVLANsAndRangesStayUnique(t *testing.T) {
	e := newEnv(t)
	A := e.Alice.Key
	create := func(name string) goNetwork {
		var n goNetwork
		decodeAs(t, e.do(t, paperspaceGo(A, "POST", "/networks", map[string]any{"name": name, "regionId": 1})).must(t, 200), &n)
		return n
	}
	first := create("one")
	create("two")
	e.do(t, paperspaceGo(A, "DELETE", "/networks/"+first.ID, nil)).must(t, 204)
	if again := create("three"); again.Network != first.Network {
		t.Errorf("the freed range %s was not reused: got %s", first.Network, again.Network)
	}
	var list []tfNamedNetwork
	decodeAs(t, e.do(t, terraform(A, "GET", "/teams/"+e.TeamA+"/getNetworks", nil)).must(t, 200), &list)
	vlans, ranges := map[int]string{}, map[string]string{}
	for _, n := range list {
		if other, dup := vlans[n.Network.VlanID]; dup {
			t.Errorf("networks %s and %s share VLAN %d", other, n.Name, n.Network.VlanID)
		}
		if other, dup := ranges[n.Network.Network]; dup {
			t.Errorf("networks %s and %s share %s", other, n.Name, n.Network.Network)
		}
		vlans[n.Network.VlanID], ranges[n.Network.Network] = n.Name, n.Name
	}
	if len(list) != 4 {
		t.Errorf("%d networks, want 4", len(list))
	}
}

// TestListMachinesByNumericNetworkID: getMachines?networkId= takes the network's numeric id
// (what paperspace-go's CreateNetwork returns) as well as its handle (what machines report);
// another team's number, or one that names no network, matches nothing.
func TestListMachinesByNumericNetworkID(t *testing.T) {
	e := newEnv(t)
	A := e.Alice.Key
	var n goNetwork
	decodeAs(t, e.do(t, paperspaceGo(A, "POST", "/networks", map[string]any{"name": "go-net", "regionId": 3})).must(t, 200), &n)
	var other goNetwork
	decodeAs(t, e.do(t, paperspaceGo(e.Carol.Key, "POST", "/networks", map[string]any{"name": "rival-net", "regionId": 3})).must(t, 200), &other)
	in := e.createMachine(t, A, "region", "Europe (AMS1)", "networkId", n.ID, "machineName", "in-net")
	e.createMachine(t, A, "region", "Europe (AMS1)", "machineName", "outside")
	handle, _ := e.machine(t, A, in)["networkId"].(string)
	if handle == "" || handle == n.ID {
		t.Fatalf("the machine's networkId is %q; want the network's handle, not its number %s", handle, n.ID)
	}
	list := func(key, networkID string) []string {
		t.Helper()
		var ms []struct{ ID string }
		decodeAs(t, e.call(t, key, "GET", "/machines/getMachines?networkId="+url.QueryEscape(networkID), nil).must(t, 200), &ms)
		ids := []string{}
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		return ids
	}
	for _, tc := range []struct {
		key, networkID string
		want           []string
	}{
		{A, n.ID, []string{in}},
		{A, handle, []string{in}},
		{A, " " + n.ID + " ", []string{in}},
		{A, other.ID, []string{}},
		{e.Carol.Key, n.ID, []string{}},
		{A, "999999", []string{}},
	} {
		if got := list(tc.key, tc.networkID); !slices.Equal(got, tc.want) {
			t.Errorf("networkId=%q: %v, want %v", tc.networkID, got, tc.want)
		}
	}
}
