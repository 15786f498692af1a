package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"hangar/internal/cli"
)

// root is the smallest root command that embeds Admin, as cmd/hangar does.
type root struct {
	Admin cli.Admin `cmd:"" help:"Operator commands."`
}

// seen is one request the fake server received.
type seen struct {
	Method, Path, Query, Key string
	Body                     map[string]any
}

type bundle struct {
	url     string
	srv     *httptest.Server
	replies map[string]string // "METHOD /path" -> JSON reply (status 200); "" means 204
	status  int               // when non-zero, every reply has this status
	seen    []seen
}

// result is one command run.
type result struct {
	stdout, stderr string
	code           int
}

// hangarEnv lists every variable the admin flags read.
var hangarEnv = []string{"HANGAR_URL", "HANGAR_API_KEY", "HANGAR_DATA", "HANGAR_OUTPUT", "HANGAR_PASSWORD"}

// setup starts a loopback fake operator API, clears HANGAR_* variables and points
// HANGAR_URL and HANGAR_API_KEY at the fake.
func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{replies: map[string]string{}}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Key: r.Header.Get("x-api-key")}
		body, _ := io.ReadAll(r.Body)
		if len(body) > 0 {
			if err := json.Unmarshal(body, &s.Body); err != nil {
				t.Errorf("request body %q: %v", body, err)
			}
		}
		b.seen = append(b.seen, s)
		w.Header().Set("Content-Type", "application/json")
		if b.status != 0 {
			w.WriteHeader(b.status)
			_, _ = io.WriteString(w, b.replies["*"])
			return
		}
		reply, ok := b.replies[r.Method+" "+r.URL.Path]
		switch {
		case !ok:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"name":"Error","message":"no route","status":404}}`)
		case reply == "":
			w.WriteHeader(http.StatusNoContent)
		default:
			_, _ = io.WriteString(w, reply)
		}
	}))
	t.Cleanup(b.srv.Close)
	b.url = b.srv.URL
	for _, k := range hangarEnv {
		unsetenv(t, k)
	}
	t.Setenv("HANGAR_URL", b.url)
	t.Setenv("HANGAR_API_KEY", "envkey")
	return b
}

// unsetenv removes k for the duration of the test.
func unsetenv(t *testing.T, k string) {
	t.Helper()
	t.Setenv(k, "") // restores the old value on cleanup
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}

// run parses and runs `hangar args…` the way cmd/hangar does.
func (b *bundle) run(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	g := &cli.Globals{Ctx: context.Background(), Stdout: &stdout, Stderr: &stderr, HTTPClient: b.srv.Client()}
	var r root
	parser, err := kong.New(&r, kong.Name("hangar"), kong.Bind(g), kong.Writers(&stdout, &stderr),
		kong.Exit(func(code int) { t.Fatalf("kong exited with %d", code) }))
	if err != nil {
		t.Fatalf("kong.New: %v", err)
	}
	kctx, err := parser.Parse(args)
	if err == nil {
		err = kctx.Run()
	}
	cli.PrintError(&stderr, err)
	return result{stdout.String(), stderr.String(), cli.ExitCode(err)}
}

// last returns the last request the server saw.
func (b *bundle) last(t *testing.T) seen {
	t.Helper()
	if len(b.seen) == 0 {
		t.Fatal("server saw no request")
	}
	return b.seen[len(b.seen)-1]
}

// decode parses out as exactly one JSON document.
func decode(t *testing.T, out string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout %q: %v", out, err)
	}
	if dec.More() {
		t.Fatalf("stdout %q holds more than one JSON document", out)
	}
	return v
}

// jsonOf parses a JSON literal.
func jsonOf(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

const (
	team      = `{"id":"te1a2b3c4","num":3,"name":"Acme","individual":false,"dtCreated":"2026-11-27T10:00:00.000Z"}`
	user      = `{"id":"u1a2b3c4","email":"a@b.c","firstname":"Ada","lastname":"L","teamId":"te1a2b3c4","role":"admin","disabled":false,"dtCreated":"2026-11-27T10:00:00.000Z"}`
	key       = `{"id":"k1","userId":"u1a2b3c4","name":"ci","kind":"key","prefix":"3f9a1c","dtCreated":"2026-11-27T10:00:00.000Z","lastUsed":null,"revoked":null,"key":"3f9a1csecret"}`
	revoked   = `{"id":"k1","userId":"u1a2b3c4","name":"ci","kind":"key","prefix":"3f9a1c","dtCreated":"2026-11-27T10:00:00.000Z","lastUsed":null,"revoked":"2026-11-27T11:00:00.000Z"}`
	template  = `{"id":"t1","name":"ubuntu","label":null,"os":"Ubuntu 22.04","osFamily":"linux","agentType":"LinuxHeadless","teamId":null,"region":null,"image":"/img/u.qcow2","kernel":"","initrd":"","dtCreated":"2026-11-27T10:00:00.000Z"}`
	network   = `{"id":"n1","num":7,"name":"lan","teamId":"te1a2b3c4","region":"East Coast (NY2)","cidr":"10.64.21.0/24","network":"10.64.21.0","netmask":"255.255.255.0","vlanId":7,"dtCreated":"2026-11-27T10:00:00.000Z"}`
	host      = `{"id":"h1","name":"sim-ny2-1","region":"East Coast (NY2)","available":true,"capacity":{"P4000":4,"C1":50},"used":{"P4000":1},"dtCreated":"2026-11-27T10:00:00.000Z","state":"up","driver":"sim"}`
	drained   = `{"id":"h1","name":"sim-ny2-1","region":"East Coast (NY2)","available":false,"capacity":{"P4000":4,"C1":50},"used":{"P4000":1},"dtCreated":"2026-11-27T10:00:00.000Z","state":"draining","driver":"sim"}`
	joinToken = `{"token":"hj1.s3cret","expires":"2026-11-27T12:00:00.000Z"}`
	vmHost    = `{"id":"h2","name":"vmhost","region":"East Coast (NY2)","available":true,"capacity":{"P4000":2,"C1":8},"used":{},"dtCreated":"2026-11-27T10:00:00.000Z","state":"up","driver":"qemu","hypervisor":{"driver":"qemu","accelerator":"tcg","gpus":{"Quadro P4000":["0000:65:00.0","0000:b3:00.0"]}}}`
	fault     = `{"action":"start","remaining":2,"message":"boom"}`
	teamQ     = `{"id":"te1a2b3c4","num":3,"name":"Acme","individual":false,"dtCreated":"2026-11-27T10:00:00.000Z","quotas":[` +
		`{"name":"machines","limit":100,"source":"team","used":2},{"name":"networks","limit":-1,"source":"team","used":0},` +
		`{"name":"scripts","limit":100,"source":"default","used":1}]}`
	publicIP = `{"address":"198.18.0.7","teamId":"te1a2b3c4","machineId":null,"dynamic":false}`
	quotaTbl = "QUOTA     LIMIT      SOURCE   USED\n" +
		"machines  100        team     2\n" +
		"networks  unlimited  team     0\n" +
		"scripts   100        default  1\n"
	usage = `{"month":"2026-11","rows":[` +
		`{"teamId":"te1a2b3c4","teamName":"Acme","machineType":"P4000","machines":2,"secondsUsed":5400.5,"storageSecondsUsed":7200,"cost":"0.77"},` +
		`{"teamId":"te1a2b3c4","teamName":"Acme","machineType":"C1","machines":1,"secondsUsed":0,"storageSecondsUsed":3600,"cost":null}]}`
)

const sshKey = `{"id":"sk1","userId":"u1a2b3c4","publicKey":"ssh-ed25519 AAAA ada","fingerprint":"SHA256:py0A","dtCreated":"2026-11-27T10:00:00.000Z"}`

func TestCommands(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		route   string // "METHOD /path" the command must call
		reply   string
		body    string // expected request body ("" for none)
		query   string
		json    string // expected stdout with -o json
		text    string // expected stdout without -o json
		relPath bool   // body paths are relative to the test's working directory
	}{
		{name: "teams list", args: []string{"teams", "list"}, route: "GET /hangar/v1/teams", reply: "[" + team + "]",
			json: "[" + team + "]",
			text: "ID         NUM  NAME  INDIVIDUAL  CREATED\nte1a2b3c4  3    Acme  false       2026-11-27T10:00:00.000Z\n"},
		{name: "teams list empty", args: []string{"teams", "list"}, route: "GET /hangar/v1/teams", reply: "[]",
			json: "[]", text: "ID  NUM  NAME  INDIVIDUAL  CREATED\n"},
		{name: "teams create", args: []string{"teams", "create", "--name", "Acme", "--individual"},
			route: "POST /hangar/v1/teams", reply: team, body: `{"name":"Acme","individual":true}`,
			json: team, text: "created team te1a2b3c4 (Acme)\n"},
		{name: "teams show", args: []string{"teams", "show", "te1a2b3c4"}, route: "GET /hangar/v1/teams/te1a2b3c4",
			reply: teamQ, json: teamQ,
			text: "team te1a2b3c4 (Acme), num 3, individual false, created 2026-11-27T10:00:00.000Z\n" + quotaTbl},
		{name: "teams update", args: []string{"teams", "update", "3", "--quota", "machines=100", "--quota", "networks=unlimited",
			"--quota", "scripts=default", "--quota", "running=0"},
			route: "POST /hangar/v1/teams/3", reply: teamQ, body: `{"quotas":{"machines":100,"networks":-1,"scripts":null,"running":0}}`,
			json: teamQ,
			text: "updated team te1a2b3c4\nteam te1a2b3c4 (Acme), num 3, individual false, created 2026-11-27T10:00:00.000Z\n" + quotaTbl},
		{name: "public-ips list", args: []string{"public-ips", "list", "--team", "te1a2b3c4"}, route: "GET /hangar/v1/publicIps",
			reply: "[" + publicIP + "]", query: "team=te1a2b3c4", json: "[" + publicIP + "]",
			text: "ADDRESS     TEAM       MACHINE  KIND\n198.18.0.7  te1a2b3c4  -        static\n"},
		{name: "public-ips release", args: []string{"public-ips", "release", "198.18.0.7"},
			route: "POST /hangar/v1/publicIps/198.18.0.7/release", reply: publicIP, json: publicIP,
			text: "released public IP 198.18.0.7 (team te1a2b3c4)\n"},
		{name: "users list", args: []string{"users", "list", "--team", "3"}, route: "GET /hangar/v1/users",
			reply: "[" + user + "]", query: "team=3", json: "[" + user + "]",
			text: "ID        EMAIL  NAME   TEAM       ROLE   CREATED\nu1a2b3c4  a@b.c  Ada L  te1a2b3c4  admin  2026-11-27T10:00:00.000Z\n"},
		{name: "users create", args: []string{"users", "create", "--team", "te1a2b3c4", "--email", "a@b.c",
			"--password", "pw", "--first-name", "Ada", "--last-name", "L", "--admin"},
			route: "POST /hangar/v1/users", reply: user,
			body: `{"team":"te1a2b3c4","email":"a@b.c","password":"pw","firstName":"Ada","lastName":"L","admin":true}`,
			json: user, text: "created user u1a2b3c4 (a@b.c) in team te1a2b3c4 as admin\n"},
		{name: "keys list", args: []string{"keys", "list", "--user", "u1a2b3c4"}, route: "GET /hangar/v1/keys",
			reply: "[" + revoked + "]", query: "user=u1a2b3c4", json: "[" + revoked + "]",
			text: "ID  KIND  USER      NAME  PREFIX  CREATED                   LAST USED  EXPIRES  REVOKED\n" +
				"k1  key   u1a2b3c4  ci    3f9a1c  2026-11-27T10:00:00.000Z  -          -        2026-11-27T11:00:00.000Z\n"},
		{name: "users keys add", args: []string{"users", "keys", "add", "--user", "u1a2b3c4", "--ssh-key", "testdata/id_ed25519.pub"},
			route: "POST /hangar/v1/users/u1a2b3c4/sshKeys", reply: sshKey,
			body: `{"publicKey":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGz0l6ZCdZ3o0mDAIWnD0Nnqf6jFJvTnUzPpOk0BKSVp ada@example.com\n"}`,
			json: sshKey, text: "added SSH key sk1 (SHA256:py0A) to user u1a2b3c4\n"},
		{name: "users keys list", args: []string{"users", "keys", "list", "--user", "u1a2b3c4"},
			route: "GET /hangar/v1/users/u1a2b3c4/sshKeys", reply: "[" + sshKey + "]", json: "[" + sshKey + "]",
			text: "ID   FINGERPRINT  KEY                   CREATED\nsk1  SHA256:py0A  ssh-ed25519 AAAA ada  2026-11-27T10:00:00.000Z\n"},
		{name: "users keys remove", args: []string{"users", "keys", "remove", "--user", "u1a2b3c4", "sk1"},
			route: "DELETE /hangar/v1/users/u1a2b3c4/sshKeys/sk1", reply: "",
			json: `{"id":"sk1","removed":"true","userId":"u1a2b3c4"}`, text: "removed SSH key sk1 of user u1a2b3c4\n"},
		{name: "users update disable", args: []string{"users", "update", "a@b.c", "--disable"}, route: "POST /hangar/v1/users/a@b.c",
			reply: user, body: `{"disabled":true}`, json: user, text: "user u1a2b3c4 (a@b.c): disabled\n"},
		{name: "users update enable", args: []string{"users", "update", "u1a2b3c4", "--enable"}, route: "POST /hangar/v1/users/u1a2b3c4",
			reply: user, body: `{"disabled":false}`, json: user, text: "user u1a2b3c4 (a@b.c): enabled\n"},
		{name: "keys create", args: []string{"keys", "create", "--user", "u1a2b3c4", "--name", "ci"},
			route: "POST /hangar/v1/keys", reply: key, body: `{"user":"u1a2b3c4","name":"ci"}`, json: key,
			text: "created key k1 (ci) for user u1a2b3c4; secret, shown only once: 3f9a1csecret\n"},
		{name: "keys create default name", args: []string{"keys", "create", "--user", "u1a2b3c4"},
			route: "POST /hangar/v1/keys", reply: key, body: `{"user":"u1a2b3c4"}`, json: key,
			text: "created key k1 (ci) for user u1a2b3c4; secret, shown only once: 3f9a1csecret\n"},
		{name: "keys revoke", args: []string{"keys", "revoke", "k1"}, route: "POST /hangar/v1/keys/k1/revoke",
			reply: revoked, json: revoked, text: "revoked key k1 (ci)\n"},
		{name: "templates list", args: []string{"templates", "list", "--team", "te1a2b3c4"},
			route: "GET /hangar/v1/templates", reply: "[" + template + "]", query: "team=te1a2b3c4",
			json: "[" + template + "]",
			text: "ID  NAME    OS            AGENT          TEAM  REGION  BOOT\n" +
				"t1  ubuntu  Ubuntu 22.04  LinuxHeadless  -     -       /img/u.qcow2\n"},
		{name: "templates create image", args: []string{"templates", "create", "--name", "ubuntu", "--os", "Ubuntu 22.04",
			"--label", "U", "--agent-type", "LinuxHeadless", "--region", "East Coast (NY2)", "--team", "te1a2b3c4",
			"--image", "img/u.qcow2"},
			route: "POST /hangar/v1/templates", reply: template, relPath: true,
			body: `{"name":"ubuntu","os":"Ubuntu 22.04","label":"U","agentType":"LinuxHeadless","region":"East Coast (NY2)","team":"te1a2b3c4","image":"img/u.qcow2"}`,
			json: template, text: "created template t1 (ubuntu)\n"},
		{name: "templates create kernel", args: []string{"templates", "create", "--name", "ubuntu", "--os", "Ubuntu 22.04",
			"--kernel", "vmlinux", "--initrd", "/boot/initrd.img"},
			route: "POST /hangar/v1/templates", reply: template, relPath: true,
			body: `{"name":"ubuntu","os":"Ubuntu 22.04","kernel":"vmlinux","initrd":"/boot/initrd.img"}`,
			json: template, text: "created template t1 (ubuntu)\n"},
		{name: "templates delete", args: []string{"templates", "delete", "t1"}, route: "DELETE /hangar/v1/templates/t1",
			json: `{"deleted":"t1"}`, text: "deleted template t1\n"},
		{name: "networks list", args: []string{"networks", "list"}, route: "GET /hangar/v1/networks",
			reply: "[" + network + "]", json: "[" + network + "]",
			text: "ID  NUM  NAME  TEAM       REGION            CIDR           VLAN\n" +
				"n1  7    lan   te1a2b3c4  East Coast (NY2)  10.64.21.0/24  7\n"},
		{name: "networks create", args: []string{"networks", "create", "--team", "te1a2b3c4", "--name", "lan",
			"--region", "East Coast (NY2)", "--cidr", "10.64.21.0/24"},
			route: "POST /hangar/v1/networks", reply: network,
			body: `{"team":"te1a2b3c4","name":"lan","region":"East Coast (NY2)","cidr":"10.64.21.0/24"}`,
			json: network, text: "created network n1 (lan, 10.64.21.0/24, vlan 7)\n"},
		{name: "networks delete", args: []string{"networks", "delete", "n1"}, route: "DELETE /hangar/v1/networks/n1",
			json: `{"deleted":"n1"}`, text: "deleted network n1\n"},
		{name: "hosts list", args: []string{"hosts", "list", "--region", "East Coast (NY2)"}, route: "GET /hangar/v1/hosts",
			reply: "[" + host + "]", query: "region=East+Coast+%28NY2%29", json: "[" + host + "]",
			text: "ID  NAME       REGION            DRIVER  STATE  LAST SEEN  VERSION  USED/CAPACITY\n" +
				"h1  sim-ny2-1  East Coast (NY2)  sim     up     -          -        C1=0/50 P4000=1/4\n"},
		{name: "hosts list with a qemu host", args: []string{"hosts", "list"}, route: "GET /hangar/v1/hosts",
			reply: "[" + host + "," + vmHost + "]", json: "[" + host + "," + vmHost + "]",
			text: "ID  NAME       REGION            DRIVER  STATE  LAST SEEN  VERSION  HYPERVISOR       USED/CAPACITY\n" +
				"h1  sim-ny2-1  East Coast (NY2)  sim     up     -          -        -                C1=0/50 P4000=1/4\n" +
				"h2  vmhost     East Coast (NY2)  qemu    up     -          -        qemu/tcg gpus=2  C1=0/8 P4000=0/2\n"},
		{name: "hosts drain", args: []string{"hosts", "drain", "sim-ny2-1"}, route: "POST /hangar/v1/hosts/sim-ny2-1/drain",
			reply: drained, body: `{}`, json: drained, text: "host sim-ny2-1 (h1) is draining\n"},
		{name: "hosts resume", args: []string{"hosts", "resume", "sim-ny2-1"}, route: "POST /hangar/v1/hosts/sim-ny2-1/resume",
			reply: host, body: `{}`, json: host, text: "host sim-ny2-1 (h1) is up\n"},
		{name: "hosts tokens create", args: []string{"hosts", "tokens", "create", "--region", "East Coast (NY2)", "--ttl", "2h"},
			route: "POST /hangar/v1/hosts/tokens", reply: joinToken,
			body: `{"region":"East Coast (NY2)","ttl":"2h"}`, json: joinToken,
			text: "join token (shown only this once, expires 2026-11-27T12:00:00.000Z):\nhj1.s3cret\n"},
		{name: "hosts create", args: []string{"hosts", "create", "--name", "sim-ny2-1", "--region", "East Coast (NY2)",
			"--capacity", "P4000=4", "--capacity", "C1=50"},
			route: "POST /hangar/v1/hosts", reply: host,
			body: `{"name":"sim-ny2-1","region":"East Coast (NY2)","capacity":{"P4000":4,"C1":50}}`,
			json: host, text: "created host h1 (sim-ny2-1: C1=0/50 P4000=1/4)\n"},
		{name: "hosts create unavailable", args: []string{"hosts", "create", "--name", "h", "--region", "r",
			"--capacity", "C1=1", "--unavailable"},
			route: "POST /hangar/v1/hosts", reply: host,
			body: `{"name":"h","region":"r","capacity":{"C1":1},"available":false}`,
			json: host, text: "created host h1 (sim-ny2-1: C1=0/50 P4000=1/4)\n"},
		{name: "hosts update all", args: []string{"hosts", "update", "h1", "--name", "x", "--capacity", "C1=10",
			"--available=false"},
			route: "POST /hangar/v1/hosts/h1", reply: host,
			body: `{"name":"x","capacity":{"C1":10},"available":false}`,
			json: host, text: "updated host h1 (sim-ny2-1, available=true: C1=0/50 P4000=1/4)\n"},
		{name: "hosts update available", args: []string{"hosts", "update", "h1", "--available"},
			route: "POST /hangar/v1/hosts/h1", reply: host, body: `{"available":true}`,
			json: host, text: "updated host h1 (sim-ny2-1, available=true: C1=0/50 P4000=1/4)\n"},
		{name: "hosts update nothing", args: []string{"hosts", "update", "h1"},
			route: "POST /hangar/v1/hosts/h1", reply: host, body: `{}`,
			json: host, text: "updated host h1 (sim-ny2-1, available=true: C1=0/50 P4000=1/4)\n"},
		{name: "hosts delete", args: []string{"hosts", "delete", "h1"}, route: "DELETE /hangar/v1/hosts/h1",
			json: `{"deleted":"h1"}`, text: "deleted host h1\n"},
		{name: "faults list", args: []string{"sim", "faults", "list"}, route: "GET /hangar/v1/sim/faults",
			reply: "[" + fault + "]", json: "[" + fault + "]",
			text: "ACTION  REMAINING  MESSAGE\nstart   2          boom\n"},
		{name: "faults add", args: []string{"sim", "faults", "add", "--action", "start", "--count", "2", "--message", "boom"},
			route: "POST /hangar/v1/sim/faults", reply: fault, body: `{"action":"start","count":2,"message":"boom"}`,
			json: fault, text: "added fault: the next 2 start operation(s) fail\n"},
		{name: "usage", args: []string{"usage", "--month", "2026-11"}, route: "GET /hangar/v1/usage",
			reply: usage, query: "month=2026-11", json: usage,
			text: "TEAM       NAME  TYPE   MACHINES  HOURS  STORAGE HOURS  COST\n" +
				"te1a2b3c4  Acme  P4000  2         1.50   2.00           0.77\n" +
				"te1a2b3c4  Acme  C1     1         0.00   1.00           -\n"},
	}
	for _, tt := range tests {
		for _, asJSON := range []bool{false, true} {
			name := tt.name + " text"
			if asJSON {
				name = tt.name + " json"
			}
			t.Run(name, func(t *testing.T) {
				b := setup(t)
				b.replies[tt.route] = tt.reply
				args := append([]string{"admin"}, tt.args...)
				if asJSON {
					args = append(args, "-o", "json")
				}
				res := b.run(t, args...)
				if res.code != 0 || res.stderr != "" {
					t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
				}
				if asJSON {
					if got, want := decode(t, res.stdout), jsonOf(t, tt.json); !reflect.DeepEqual(got, want) {
						t.Errorf("stdout\n got %v\nwant %v", got, want)
					}
				} else if res.stdout != tt.text {
					t.Errorf("stdout\n got %q\nwant %q", res.stdout, tt.text)
				}
				s := b.last(t)
				if got := s.Method + " " + s.Path; got != tt.route {
					t.Errorf("route = %q, want %q", got, tt.route)
				}
				if s.Query != tt.query {
					t.Errorf("query = %q, want %q", s.Query, tt.query)
				}
				if s.Key != "envkey" {
					t.Errorf("x-api-key = %q, want envkey", s.Key)
				}
				checkBody(t, s.Body, tt.body, tt.relPath)
			})
		}
	}
}

// checkBody compares a request body with want; with relPath, relative paths in want are
// first made absolute against the working directory.
func checkBody(t *testing.T, got map[string]any, want string, relPath bool) {
	t.Helper()
	if want == "" {
		if got != nil {
			t.Errorf("body = %v, want none", got)
		}
		return
	}
	w := jsonOf(t, want).(map[string]any)
	if relPath {
		for _, k := range []string{"image", "kernel", "initrd"} {
			if p, ok := w[k].(string); ok {
				abs, err := filepath.Abs(p)
				if err != nil {
					t.Fatal(err)
				}
				w[k] = abs
			}
		}
	}
	if !reflect.DeepEqual(got, w) {
		t.Errorf("body\n got %v\nwant %v", got, w)
	}
}

// runHelp returns what `hangar args… --help` prints.
func (b *bundle) runHelp(t *testing.T, args ...string) string {
	t.Helper()
	var stdout bytes.Buffer
	var r root
	exited := false
	parser, err := kong.New(&r, kong.Name("hangar"), kong.Bind(&cli.Globals{}), kong.Writers(&stdout, &stdout),
		kong.Exit(func(int) { exited = true }))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = parser.Parse(args)
	if !exited {
		t.Error("--help did not exit")
	}
	return stdout.String()
}

// TestUsageCSV checks `hangar admin usage -o csv`: a header and one record per row, seconds
// as sent, an unknown cost empty; and that -o csv is refused, before any request, elsewhere.
func TestUsageCSV(t *testing.T) {
	b := setup(t)
	b.replies["GET /hangar/v1/usage"] = usage
	res := b.run(t, "admin", "usage", "--month", "2026-11", "-o", "csv")
	if res.code != 0 || res.stderr != "" {
		t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
	}
	want := "month,teamId,teamName,machineType,machines,secondsUsed,storageSecondsUsed,cost\n" +
		"2026-11,te1a2b3c4,Acme,P4000,2,5400.5,7200,0.77\n" +
		"2026-11,te1a2b3c4,Acme,C1,1,0,3600,\n"
	if res.stdout != want {
		t.Errorf("stdout\n got %q\nwant %q", res.stdout, want)
	}
	n := len(b.seen)
	res = b.run(t, "admin", "teams", "create", "--name", "Acme", "-o", "csv")
	if res.code == 0 || !strings.Contains(res.stderr, "-o csv is only supported by `hangar admin usage`") {
		t.Errorf("teams create -o csv: exit %d, stderr %q", res.code, res.stderr)
	}
	if len(b.seen) != n {
		t.Errorf("teams create -o csv sent a request")
	}
	res = b.run(t, "admin", "usage")
	if res.code == 0 || !strings.Contains(res.stderr, "--month") {
		t.Errorf("usage without --month: exit %d, stderr %q", res.code, res.stderr)
	}
}

// TestTenantTextIsPrintedSafely: names, emails and messages come from tenants; the CLI's text
// output shows their control characters escaped, so a name cannot rewrite the terminal or add
// a forged row to a table, and -o json keeps the exact value.
func TestTenantTextIsPrintedSafely(t *testing.T) {
	b := setup(t)
	evil := "evil\x1b[2J\x1b]0;owned\x07\nt999\t1\tforged\u202e"
	name, _ := json.Marshal(evil)
	b.replies["GET /hangar/v1/teams"] = `[{"id":"t1","num":1,"name":` + string(name) + `,"individual":false,"dtCreated":"2026-01-01T00:00:00.000Z"}]`
	r := b.run(t, "admin", "teams", "list")
	if r.code != 0 {
		t.Fatalf("teams list: %+v", r)
	}
	for _, raw := range []string{"\x1b", "\x07", "\u202e", "\nt999"} {
		if strings.Contains(r.stdout, raw) {
			t.Errorf("teams list printed %q raw:\n%s", raw, r.stdout)
		}
	}
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 2 {
		t.Errorf("teams list printed %d lines, want a header and one row:\n%s", len(lines), r.stdout)
	}
	if !strings.Contains(r.stdout, `evil\x1b[2J\x1b]0;owned\a\nt999\t1\tforged\u202e`) {
		t.Errorf("teams list does not show the name escaped:\n%s", r.stdout)
	}
	r = b.run(t, "admin", "teams", "list", "-o", "json")
	var teams []struct{ Name string }
	if err := json.Unmarshal([]byte(r.stdout), &teams); err != nil || len(teams) != 1 || teams[0].Name != evil {
		t.Errorf("-o json: %v %+v, want the exact name", err, teams)
	}

	// Error messages carry tenant text too (a name echoed back).
	b.status = http.StatusBadRequest
	b.replies["*"] = `{"error":{"name":"Error","message":"bad name \u001b[31mred","status":400}}`
	r = b.run(t, "admin", "teams", "list")
	if r.code == 0 || strings.Contains(r.stderr, "\x1b") || !strings.Contains(r.stderr, `bad name \x1b[31mred`) {
		t.Errorf("error printed as %q (code %d), want the escape shown escaped", r.stderr, r.code)
	}
}

// TestTeamsUpdateBadQuota: a bad --quota is refused before anything is sent.
func TestTeamsUpdateBadQuota(t *testing.T) {
	for _, tc := range []struct{ flag, want string }{
		{"gpus=1", `unknown quota "gpus"`},
		{"gpus=default", `unknown quota "gpus"`},
		{"networks=-2", `quota networks: quota limit "-2" must be a count`},
		{"networks=lots", `quota networks: quota limit "lots" must be a count`},
		{"networks", `quota "networks" must be NAME=N`},
	} {
		b := setup(t)
		r := b.run(t, "admin", "teams", "update", "te1", "--quota", tc.flag)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("--quota %s: exit %d, stderr %q; want an error containing %q", tc.flag, r.code, r.stderr, tc.want)
		}
		if len(b.seen) != 0 {
			t.Errorf("--quota %s: the server saw %d requests", tc.flag, len(b.seen))
		}
	}
}
