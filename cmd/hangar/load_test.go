package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// loadTally records what the load clients were told, per machine and in total.
type loadTally struct {
	mu       sync.Mutex
	statuses map[string]map[int]int // "op" -> status -> count
	accepted map[string]map[string]int
	created  map[string]string // machine id -> team key
	gone     map[string]bool   // destroyed (204)
	bad      []string
}

func (lt *loadTally) record(op string, status int, body []byte, id string) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if lt.statuses[op] == nil {
		lt.statuses[op] = map[int]int{}
	}
	lt.statuses[op][status]++
	if status >= 500 || !slices.Contains([]int{200, 204, 400, 404}, status) {
		lt.bad = append(lt.bad, fmt.Sprintf("%s %s: %d %s", op, id, status, body))
	}
	if id != "" && (status == 204 || status == 200) {
		if lt.accepted[id] == nil {
			lt.accepted[id] = map[string]int{}
		}
		lt.accepted[id][op]++
	}
}

// loadClient is one client of the mixed load: a team's key and the ids it has seen.
type loadClient struct {
	url, key string
	rnd      *rand.Rand
	http     *http.Client
}

func (c *loadClient) do(method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("x-api-key", c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// TestMixedLoad runs many concurrent clients of three teams creating, listing, showing,
// starting, stopping, restarting and destroying machines against a real server on loopback
// for a bounded time (HANGAR_LOAD_DURATION, default 10 s), with the sim driver at 1/100 of
// Paperspace's timings. No call may get a 5xx (or any status but 200, 204, 400 for an
// illegal transition or no capacity, 404 for a machine another client destroyed). Afterwards
// every machine settles; each has exactly its events, all finished, never more power events
// than accepted calls; destroyed machines are gone; each team lists only its own machines;
// addresses are unique; and the hosts' usage equals the machines that are powered on.
func TestMixedLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test")
	}
	duration := 10 * time.Second
	if d, err := time.ParseDuration(os.Getenv("HANGAR_LOAD_DURATION")); err == nil {
		duration = d
	}
	// The load comes from one address with three keys: lift the per-key and per-address limits.
	ts := startServer(t, "--key-rate", "0", "--address-rate", "0")
	keys := []string{newTeamAdmin(t, ts), newTeamAdmin(t, ts), newTeamAdmin(t, ts)}
	lt := &loadTally{statuses: map[string]map[int]int{}, accepted: map[string]map[string]int{}, created: map[string]string{}, gone: map[string]bool{}}
	types := []string{"C1", "C2"}

	const clients = 12
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for i := range clients {
		c := &loadClient{url: ts.URL, key: keys[i%len(keys)], rnd: rand.New(rand.NewPCG(uint64(i), 7)),
			http: &http.Client{Timeout: 30 * time.Second}}
		wg.Go(func() {
			var mine []string // machines of this client's team it has seen
			for time.Now().Before(deadline) {
				pick := func() string {
					if len(mine) == 0 {
						return "psnone000"
					}
					return mine[c.rnd.IntN(len(mine))]
				}
				var (
					op, id string
					st     int
					body   []byte
					err    error
				)
				switch n := c.rnd.IntN(100); {
				case n < 15:
					op = "create"
					req := map[string]any{"region": "East Coast (NY2)", "machineType": types[c.rnd.IntN(len(types))], "size": 50,
						"billingType": "hourly", "machineName": fmt.Sprint("load-", i), "templateId": "t04azgph",
						"startOnCreate": c.rnd.IntN(4) != 0, "dynamicPublicIp": c.rnd.IntN(2) == 0}
					st, body, err = c.do("POST", "/machines/createSingleMachinePublic", req)
					if st == 200 {
						var m struct{ ID string }
						_ = json.Unmarshal(body, &m)
						id = m.ID
						mine = append(mine, id)
						lt.mu.Lock()
						lt.created[id] = c.key
						if req["startOnCreate"] == true { // a create that starts records a start event (spec §3.3)
							if lt.accepted[id] == nil {
								lt.accepted[id] = map[string]int{}
							}
							lt.accepted[id]["start"]++
						}
						lt.mu.Unlock()
					}
				case n < 30:
					op = "list"
					var q string
					if c.rnd.IntN(2) == 0 {
						q = "?state=ready&limit=50"
					}
					st, body, err = c.do("GET", "/machines/getMachines"+q, nil)
					if st == 200 {
						var ms []struct{ ID string }
						_ = json.Unmarshal(body, &ms)
						for _, m := range ms {
							if !slices.Contains(mine, m.ID) {
								mine = append(mine, m.ID)
							}
						}
					}
				case n < 45:
					op, id = "show", pick()
					st, body, err = c.do("GET", "/machines/getMachinePublic?machineId="+id, nil)
					id = ""
				case n < 62:
					op, id = "start", pick()
					st, body, err = c.do("POST", "/machines/"+id+"/start", nil)
				case n < 79:
					op, id = "stop", pick()
					st, body, err = c.do("POST", "/machines/"+id+"/stop", nil)
				case n < 90:
					op, id = "restart", pick()
					st, body, err = c.do("POST", "/machines/"+id+"/restart", nil)
				default:
					op, id = "destroy", pick()
					st, body, err = c.do("POST", "/machines/"+id+"/destroyMachine", nil)
					if st == 204 {
						lt.mu.Lock()
						lt.gone[id] = true
						lt.mu.Unlock()
					}
				}
				if err != nil {
					lt.mu.Lock()
					lt.bad = append(lt.bad, fmt.Sprintf("%s %s: %v", op, id, err))
					lt.mu.Unlock()
					continue
				}
				lt.record(op, st, body, id)
			}
		})
	}
	wg.Wait()
	total := 0
	for _, m := range lt.statuses {
		for _, n := range m {
			total += n
		}
	}
	t.Logf("%d calls in %v: %v; %d machines created, %d destroyed", total, duration, lt.statuses, len(lt.created), len(lt.gone))
	for _, b := range lt.bad {
		t.Error(b)
	}
	if lt.statuses["create"][200] == 0 || lt.accepted == nil || len(lt.gone) == 0 {
		t.Fatalf("the load did too little to prove anything: %v", lt.statuses)
	}

	// Every machine settles.
	type event struct {
		Name, State string
		DtFinished  *string
	}
	type machine struct {
		ID, State, MachineType string
		PublicIPAddress        *string `json:"publicIpAddress"`
		PrivateIPAddress       *string `json:"privateIpAddress"`
		Events                 []event
	}
	settled := map[string]machine{}
	until := time.Now().Add(60 * time.Second)
	for _, key := range keys {
		for {
			var list []machine
			if st := ts.do(t, key, "GET", "/machines/getMachines", nil, &list); st != 200 {
				t.Fatalf("list: %d", st)
			}
			done := true
			for _, m := range list {
				done = done && (m.State == "ready" || m.State == "off")
			}
			if done {
				for _, m := range list {
					settled[m.ID] = m
					if lt.created[m.ID] != key {
						t.Errorf("%s: listed for a team that did not create it", m.ID)
					}
				}
				break
			}
			if time.Now().After(until) {
				t.Fatalf("machines did not settle: %v", list)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Exactly the machines created and not destroyed exist; the destroyed ones are 404.
	for id, key := range lt.created {
		_, exists := settled[id]
		if lt.gone[id] {
			if exists {
				t.Errorf("%s: destroyed but listed", id)
			}
			if st := ts.do(t, key, "GET", "/machines/getMachinePublic?machineId="+id, nil, nil); st != 404 {
				t.Errorf("%s: destroyed but show answers %d", id, st)
			}
			continue
		}
		if !exists {
			t.Errorf("%s: created, never destroyed, not listed", id)
		}
	}
	if len(settled) != len(lt.created)-len(lt.gone) {
		t.Errorf("%d machines listed, %d created and %d destroyed", len(settled), len(lt.created), len(lt.gone))
	}
	// Events: all finished; one create; never more power events than accepted calls.
	powered := map[string]int{}
	publicIPs, privateIPs := map[string]string{}, map[string]string{}
	for id, m := range settled {
		var full machine
		if st := ts.do(t, lt.created[id], "GET", "/machines/getMachinePublic?machineId="+id, nil, &full); st != 200 {
			t.Fatalf("show %s: %d", id, st)
		}
		if full.State != m.State {
			t.Errorf("%s: listed %s, shown %s", id, m.State, full.State)
		}
		count := map[string]int{}
		for _, e := range full.Events {
			count[e.Name]++
			if e.State == "in progress" || e.DtFinished == nil {
				t.Errorf("%s: event %s left %s", id, e.Name, e.State)
			}
		}
		if len(full.Events) < 10 && count["create"] != 1 { // show returns the newest ten
			t.Errorf("%s: %d create events in %v", id, count["create"], count)
		}
		for _, op := range []string{"start", "stop", "restart"} {
			if count[op] > lt.accepted[id][op] {
				t.Errorf("%s: %d %s events, %d accepted calls", id, count[op], op, lt.accepted[id][op])
			}
		}
		if m.State == "ready" {
			powered[m.MachineType]++
		}
		for addr, seen := range map[*string]map[string]string{m.PublicIPAddress: publicIPs, m.PrivateIPAddress: privateIPs} {
			if addr == nil || *addr == "" {
				continue
			}
			if other, dup := seen[*addr]; dup {
				t.Errorf("%s and %s share the address %s", id, other, *addr)
			}
			seen[*addr] = id
		}
	}
	// The hosts hold exactly the powered-on machines.
	var hosts []struct {
		Used map[string]int `json:"used"`
	}
	if st := ts.do(t, ts.Key, "GET", "/hangar/v1/hosts", nil, &hosts); st != 200 {
		t.Fatalf("hosts: %d", st)
	}
	used := map[string]int{}
	for _, h := range hosts {
		for typ, n := range h.Used {
			used[typ] += n
		}
	}
	for _, typ := range types {
		if used[typ] != powered[typ] {
			t.Errorf("%s: hosts count %d slots in use, %d machines are powered on", typ, used[typ], powered[typ])
		}
	}
	t.Logf("settled: %d machines, powered %v", len(settled), powered)
}
