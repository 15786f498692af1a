package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"hangar/api"
	"hangar/client"
)

// request is what the recording server saw.
type request struct {
	Method, Path, Query, Key, ContentType string
	Body                                  map[string]any
}

// reply is what the recording server answers.
type reply struct {
	status int
	body   string
}

type bundle struct {
	client *client.Client
	seen   *[]request
	next   *reply
}

// setup starts a loopback server that records requests and answers with *next.
func setup(t *testing.T) bundle {
	t.Helper()
	seen := &[]request{}
	next := &reply{status: 200, body: "{}"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Key: r.Header.Get("x-api-key"), ContentType: r.Header.Get("Content-Type")}
		b, _ := io.ReadAll(r.Body)
		if len(b) > 0 {
			if err := json.Unmarshal(b, &rec.Body); err != nil {
				t.Errorf("request body %q: %v", b, err)
			}
		}
		*seen = append(*seen, rec)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(next.status)
		_, _ = io.WriteString(w, next.body)
	}))
	t.Cleanup(srv.Close)
	return bundle{client: client.New(srv.URL+"/", "secret", srv.Client()), seen: seen, next: next}
}

func TestRoutes(t *testing.T) {
	ctx := context.Background()
	yes := true
	name := "h2"
	tests := []struct {
		name  string
		reply reply
		call  func(c *client.Client) (any, error)
		want  request
		out   any
	}{
		{"list teams", reply{200, `[{"id":"te1","num":3,"name":"Acme","individual":false,"dtCreated":"2026-11-27T10:00:00.000Z"}]`},
			func(c *client.Client) (any, error) { return c.ListTeams(ctx) },
			request{Method: "GET", Path: "/hangar/v1/teams"},
			[]api.Team{{ID: "te1", Num: 3, Name: "Acme", DtCreated: "2026-11-27T10:00:00.000Z"}}},
		{"create team", reply{200, `{"id":"te1","name":"Acme","individual":true}`},
			func(c *client.Client) (any, error) {
				return c.CreateTeam(ctx, api.CreateTeamRequest{Name: "Acme", Individual: true})
			},
			request{Method: "POST", Path: "/hangar/v1/teams", ContentType: "application/json",
				Body: map[string]any{"name": "Acme", "individual": true}},
			&api.Team{ID: "te1", Name: "Acme", Individual: true}},
		{"list users by team", reply{200, `[]`},
			func(c *client.Client) (any, error) { return c.ListUsers(ctx, "te1") },
			request{Method: "GET", Path: "/hangar/v1/users", Query: "team=te1"}, []api.User{}},
		{"create user", reply{200, `{"id":"u1","firstname":"Ada","role":"admin"}`},
			func(c *client.Client) (any, error) {
				return c.CreateUser(ctx, api.CreateUserRequest{Team: "3", Email: "a@b.c", Password: "pw",
					FirstName: "Ada", LastName: "L", Admin: true})
			},
			request{Method: "POST", Path: "/hangar/v1/users", ContentType: "application/json",
				Body: map[string]any{"team": "3", "email": "a@b.c", "password": "pw", "firstName": "Ada",
					"lastName": "L", "admin": true}},
			&api.User{ID: "u1", FirstName: "Ada", Role: "admin"}},
		{"list keys", reply{200, `null`},
			func(c *client.Client) (any, error) { return c.ListKeys(ctx, "u 1") },
			request{Method: "GET", Path: "/hangar/v1/keys", Query: "user=u+1"}, []api.APIKey{}},
		{"create key", reply{200, `{"id":"k1","userId":"u1","key":"s3cr3t","lastUsed":null}`},
			func(c *client.Client) (any, error) { return c.CreateKey(ctx, api.CreateKeyRequest{User: "u1"}) },
			request{Method: "POST", Path: "/hangar/v1/keys", ContentType: "application/json",
				Body: map[string]any{"user": "u1"}},
			&api.APIKey{ID: "k1", UserID: "u1", Key: "s3cr3t"}},
		{"revoke key", reply{200, `{"id":"k1","revoked":"2026-11-27T10:00:00.000Z"}`},
			func(c *client.Client) (any, error) { return c.RevokeKey(ctx, "k1") },
			request{Method: "POST", Path: "/hangar/v1/keys/k1/revoke"},
			&api.APIKey{ID: "k1", Revoked: ptr("2026-11-27T10:00:00.000Z")}},
		{"list templates", reply{200, `[{"id":"t1","label":null,"teamId":"te1"}]`},
			func(c *client.Client) (any, error) { return c.ListTemplates(ctx, "") },
			request{Method: "GET", Path: "/hangar/v1/templates"},
			[]api.Template{{ID: "t1", TeamID: ptr("te1")}}},
		{"create template", reply{200, `{"id":"t1"}`},
			func(c *client.Client) (any, error) {
				return c.CreateTemplate(ctx, api.CreateTemplateRequest{Name: "u", OS: "Ubuntu 22.04", Image: "/i.qcow2"})
			},
			request{Method: "POST", Path: "/hangar/v1/templates", ContentType: "application/json",
				Body: map[string]any{"name": "u", "os": "Ubuntu 22.04", "image": "/i.qcow2"}},
			&api.Template{ID: "t1"}},
		{"delete template", reply{204, ``},
			func(c *client.Client) (any, error) { return nil, c.DeleteTemplate(ctx, "t1") },
			request{Method: "DELETE", Path: "/hangar/v1/templates/t1"}, nil},
		{"list networks", reply{200, `[]`},
			func(c *client.Client) (any, error) { return c.ListNetworks(ctx, "te1") },
			request{Method: "GET", Path: "/hangar/v1/networks", Query: "team=te1"}, []api.Network{}},
		{"create network", reply{200, `{"id":"n1","vlanId":7}`},
			func(c *client.Client) (any, error) {
				return c.CreateNetwork(ctx, api.CreateNetworkRequest{Team: "te1", Name: "n", Region: "r", CIDR: "10.0.0.0/24"})
			},
			request{Method: "POST", Path: "/hangar/v1/networks", ContentType: "application/json",
				Body: map[string]any{"team": "te1", "name": "n", "region": "r", "cidr": "10.0.0.0/24"}},
			&api.Network{ID: "n1", VLANID: 7}},
		{"delete network", reply{204, ``},
			func(c *client.Client) (any, error) { return nil, c.DeleteNetwork(ctx, "n1") },
			request{Method: "DELETE", Path: "/hangar/v1/networks/n1"}, nil},
		{"list hosts", reply{200, `[{"id":"h1","capacity":{"C1":50},"used":{}}]`},
			func(c *client.Client) (any, error) { return c.ListHosts(ctx, "East Coast (NY2)") },
			request{Method: "GET", Path: "/hangar/v1/hosts", Query: "region=East+Coast+%28NY2%29"},
			[]api.Host{{ID: "h1", Capacity: map[string]int{"C1": 50}, Used: map[string]int{}}}},
		{"create host", reply{200, `{"id":"h1"}`},
			func(c *client.Client) (any, error) {
				return c.CreateHost(ctx, api.CreateHostRequest{Name: "h", Region: "r", Capacity: map[string]int{"P4000": 4}})
			},
			request{Method: "POST", Path: "/hangar/v1/hosts", ContentType: "application/json",
				Body: map[string]any{"name": "h", "region": "r", "capacity": map[string]any{"P4000": 4.0}}},
			&api.Host{ID: "h1"}},
		{"update host", reply{200, `{"id":"h1","name":"h2"}`},
			func(c *client.Client) (any, error) {
				return c.UpdateHost(ctx, "h1", api.UpdateHostRequest{Name: &name, Available: &yes})
			},
			request{Method: "POST", Path: "/hangar/v1/hosts/h1", ContentType: "application/json",
				Body: map[string]any{"name": "h2", "available": true}},
			&api.Host{ID: "h1", Name: "h2"}},
		{"delete host", reply{204, ``},
			func(c *client.Client) (any, error) { return nil, c.DeleteHost(ctx, "h/1") },
			request{Method: "DELETE", Path: "/hangar/v1/hosts/h/1"}, nil},
		{"list faults", reply{200, `[{"action":"start","remaining":2,"message":"boom"}]`},
			func(c *client.Client) (any, error) { return c.ListFaults(ctx) },
			request{Method: "GET", Path: "/hangar/v1/sim/faults"},
			[]api.Fault{{Action: "start", Remaining: 2, Message: "boom"}}},
		{"add fault", reply{200, `{"action":"start","remaining":2}`},
			func(c *client.Client) (any, error) {
				return c.AddFault(ctx, api.AddFaultRequest{Action: "start", Count: 2})
			},
			request{Method: "POST", Path: "/hangar/v1/sim/faults", ContentType: "application/json",
				Body: map[string]any{"action": "start", "count": 2.0}},
			&api.Fault{Action: "start", Remaining: 2}},
		{"usage", reply{200, `{"month":"2026-11","rows":[{"teamId":"te1","machineType":"C1","machines":1,"secondsUsed":1.5,"cost":null}]}`},
			func(c *client.Client) (any, error) { return c.Usage(ctx, "2026-11") },
			request{Method: "GET", Path: "/hangar/v1/usage", Query: "month=2026-11"},
			&api.UsageReport{Month: "2026-11", Rows: []api.UsageRow{{TeamID: "te1", MachineType: "C1", Machines: 1, SecondsUsed: 1.5}}}},
		{"usage without rows", reply{200, `{"month":"2026-11","rows":null}`},
			func(c *client.Client) (any, error) { return c.Usage(ctx, "2026-11") },
			request{Method: "GET", Path: "/hangar/v1/usage", Query: "month=2026-11"},
			&api.UsageReport{Month: "2026-11", Rows: []api.UsageRow{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t)
			*b.next = tt.reply
			got, err := tt.call(b.client)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if len(*b.seen) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(*b.seen))
			}
			want := tt.want
			want.Key = "secret"
			if seen := (*b.seen)[0]; !reflect.DeepEqual(seen, want) {
				t.Errorf("request\n got %+v\nwant %+v", seen, want)
			}
			if tt.out != nil && !reflect.DeepEqual(got, tt.out) {
				t.Errorf("result\n got %#v\nwant %#v", got, tt.out)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		reply reply
		want  client.Error
	}{
		{"paperspace body", reply{404, `{"error":{"name":"Error","message":"team te9 not found","status":404}}`},
			client.Error{Status: 404, Message: "team te9 not found"}},
		{"empty body", reply{401, ``}, client.Error{Status: 401, Message: "Unauthorized"}},
		{"not json", reply{502, `<html>bad gateway</html>`}, client.Error{Status: 502, Message: "Bad Gateway"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t)
			*b.next = tt.reply
			_, err := b.client.ListTeams(context.Background())
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *client.Error", err)
			}
			if *e != tt.want {
				t.Errorf("err = %+v, want %+v", *e, tt.want)
			}
			if got, ok := client.AsError(err); !ok || got != e {
				t.Errorf("AsError = %v, %v", got, ok)
			}
		})
	}
	e := &client.Error{Status: 404, Message: "team te9 not found"}
	if got, want := e.Error(), "team te9 not found (HTTP 404)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestNoKeyNoHeader(t *testing.T) {
	var key []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key = r.Header.Values("x-api-key")
		_, _ = io.WriteString(w, "[]")
	}))
	t.Cleanup(srv.Close)
	if _, err := client.New(srv.URL, "", nil).ListFaults(context.Background()); err != nil {
		t.Fatal(err)
	}
	if key != nil {
		t.Errorf("x-api-key = %q, want none", key)
	}
}

func ptr(s string) *string { return &s }
