package api_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"hangar/api"
)

// TestOperatorShapes round-trips the documented operator API examples through the wire types:
// every field must survive, so a renamed or missing json tag fails here.
func TestOperatorShapes(t *testing.T) {
	tests := []struct {
		name string
		v    any
		doc  string
	}{
		{"team", &api.Team{}, `{"id":"te1a2b3c4","num":3,"name":"Acme","individual":false,"dtCreated":"2026-11-27T10:00:00.000Z"}`},
		{"user", &api.User{}, `{"id":"u1a2b3c4","email":"a@b.c","firstname":"Ada","lastname":"L","teamId":"te1a2b3c4","role":"admin","disabled":true,"dtCreated":"2026-11-27T10:00:00.000Z"}`},
		{"key created", &api.APIKey{}, `{"id":"k1","userId":"u1","name":"default","kind":"key","prefix":"3f9a1c","dtCreated":"2026-11-27T10:00:00.000Z","lastUsed":null,"revoked":null,"key":"3f9a1cxyz"}`},
		{"key listed", &api.APIKey{}, `{"id":"k1","userId":"u1","name":"default","kind":"key","prefix":"3f9a1c","dtCreated":"2026-11-27T10:00:00.000Z","lastUsed":"2026-11-27T10:00:00.000Z","revoked":null}`},
		{"login token listed", &api.APIKey{}, `{"id":"lt1","userId":"u1","name":"login","kind":"login","prefix":"","dtCreated":"2026-11-27T10:00:00.000Z","lastUsed":null,"revoked":null,"expires":"2026-12-11T10:00:00.000Z"}`},
		{"user update", &api.UpdateUserRequest{}, `{"disabled":false,"password":"correct horse"}`},
		{"template", &api.Template{}, `{"id":"t1","name":"u","label":null,"os":"Ubuntu 22.04","osFamily":"linux","agentType":"LinuxHeadless","teamId":null,"region":"East Coast (NY2)","image":"","kernel":"","initrd":"","dtCreated":"2026-11-27T10:00:00.000Z"}`},
		{"network", &api.Network{}, `{"id":"n1","num":7,"name":"lan","teamId":"te1","region":"East Coast (NY2)","cidr":"10.64.21.0/24","network":"10.64.21.0","netmask":"255.255.255.0","vlanId":7,"dtCreated":"2026-11-27T10:00:00.000Z"}`},
		{"host", &api.Host{}, `{"id":"h1","name":"sim-ny2-1","region":"East Coast (NY2)","available":true,"capacity":{"P4000":4,"C1":50},"used":{"P4000":1},"dtCreated":"2026-11-27T10:00:00.000Z","state":"up","driver":"sim"}`},
		{"agent host", &api.Host{}, `{"id":"h2","name":"a1","region":"East Coast (NY2)","available":false,"capacity":{"C5":4},"used":{},"dtCreated":"2026-11-27T10:00:00.000Z","state":"draining","driver":"qemu","agent":{"version":"hangar v1","lastSeen":"2026-11-27T10:00:01.000Z"},"hypervisor":{"driver":"qemu","accelerator":"tcg"}}`},
		{"fault", &api.Fault{}, `{"action":"start","remaining":2,"message":"boom"}`},
		{"create team", &api.CreateTeamRequest{}, `{"name":"Acme","individual":true}`},
		{"create user", &api.CreateUserRequest{}, `{"team":"3","email":"a@b.c","password":"pw","firstName":"Ada","lastName":"L","admin":false}`},
		{"create key", &api.CreateKeyRequest{}, `{"user":"u1","name":"ci"}`},
		{"create template", &api.CreateTemplateRequest{}, `{"name":"u","os":"Ubuntu 22.04","agentType":"LinuxHeadless","region":"r","team":"te1","label":"U","image":"/i","kernel":"/k","initrd":"/r"}`},
		{"create network", &api.CreateNetworkRequest{}, `{"team":"te1","name":"lan","region":"r","cidr":"10.0.0.0/24"}`},
		{"create host", &api.CreateHostRequest{}, `{"name":"h","region":"r","capacity":{"C1":1},"available":false}`},
		{"update host", &api.UpdateHostRequest{}, `{"name":"h","capacity":{"C1":1},"available":true}`},
		{"update host empty", &api.UpdateHostRequest{}, `{}`},
		{"add fault", &api.AddFaultRequest{}, `{"action":"stop","count":1,"message":"m"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := json.Unmarshal([]byte(tt.doc), tt.v); err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			var got, want map[string]any
			_ = json.Unmarshal(out, &got)
			_ = json.Unmarshal([]byte(tt.doc), &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip\n got %s\nwant %s", out, tt.doc)
			}
		})
	}
}
