package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// recorder is an Observer that remembers what it heard.
type recorder struct {
	mu       sync.Mutex
	requests []string // "METHOD pattern status"
	limited  []string
}

func (o *recorder) Request(method, pattern string, status int, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := fmt.Sprintf("%s %s %d", method, pattern, status)
	if d <= 0 {
		s += " (no duration)"
	}
	o.requests = append(o.requests, s)
}

func (o *recorder) RateLimited(limit string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.limited = append(o.limited, limit)
}

func (o *recorder) take() (requests, limited []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	requests, limited = o.requests, o.limited
	o.requests, o.limited = nil, nil
	return requests, limited
}

func TestObserverHearsRoutesStatusesAndLimits(t *testing.T) {
	obs := &recorder{}
	e := newEnvWith(t, nil, func(c *Config) {
		c.Observer = obs
		c.Limits = Limits{KeyRate: 0.5, KeyBurst: 4}
	})
	id := e.createMachine(t, e.Carol.Key)
	e.call(t, e.Carol.Key, "GET", "/machines/getMachinePublic?machineId="+id, nil).must(t, 200)
	e.call(t, e.Carol.Key, "GET", "/machines/getMachinePublic?machineId=nope", nil).must(t, 404)
	e.call(t, e.Carol.Key, "POST", "/machines/"+id+"/stop", nil) // a path pattern: {machineId} stays a name
	mustLimited(t, e.call(t, e.Carol.Key, "GET", "/machines/getMachines", nil), "2")
	e.call(t, "", "GET", "/no/such/route", nil).must(t, 404)
	e.call(t, "", "PATCH", "/machines/getMachines", nil).must(t, 404)
	requests, limited := obs.take()
	want := []string{
		"POST /machines/createSingleMachinePublic 200",
		"GET /machines/getMachinePublic 200",
		"GET /machines/getMachinePublic 404",
		"POST /machines/{machineId}/stop 400",
		"GET /machines/getMachines 429",
		" unmatched 404",
		" unmatched 404",
	}
	if !slices.Equal(requests, want) {
		t.Fatalf("requests heard:\n%q\nwant\n%q", requests, want)
	}
	if !slices.Equal(limited, []string{LimitKey}) {
		t.Fatalf("rate limits heard %q, want [key]", limited)
	}
}

func TestObserverHearsAddressAndLoginLimits(t *testing.T) {
	obs := &recorder{}
	e := newEnvWith(t, nil, func(c *Config) {
		c.Observer = obs
		c.Limits = Limits{AddressRate: 1, AddressBurst: 4, LoginPerAddress: 1}
	})
	login := map[string]any{"email": e.Alice.Email, "password": "wrong"}
	e.call(t, "", "POST", "/users/login", login).must(t, 401)
	mustLimited(t, e.call(t, "", "POST", "/users/login", login), "60")
	for range 2 {
		e.call(t, "", "GET", "/no/such/route", nil).must(t, 404)
	}
	mustLimited(t, e.call(t, "", "GET", "/machines/getMachines", nil), "1")
	requests, limited := obs.take()
	if !slices.Equal(limited, []string{LimitLoginAddress, LimitAddress}) {
		t.Fatalf("rate limits heard %q, want [login_address address]", limited)
	}
	if got := requests[len(requests)-1]; got != " unmatched 429" {
		t.Fatalf("a request refused before routing was heard as %q", got)
	}
}

// TestMetricsAnswersOnlyTheOperator: GET /metrics needs an operator's API key in x-api-key
// or Authorization: Bearer; everyone else gets 401 in the Paperspace shape.
func TestMetricsAnswersOnlyTheOperator(t *testing.T) {
	obs := &recorder{}
	e := newEnvWith(t, nil, func(c *Config) {
		c.Observer = obs
		c.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write([]byte(`{"scraped":true}`))
		})
	})
	get := func(header map[string]string) response {
		return e.do(t, request{method: "GET", path: "/metrics", header: header})
	}
	for name, h := range map[string]map[string]string{
		"no credentials":       nil,
		"unknown key":          {"X-Api-Key": "not-a-key"},
		"team admin's key":     {"X-Api-Key": e.Alice.Key},
		"team key as bearer":   {"Authorization": "Bearer " + e.Carol.Key},
		"operator key, Basic":  {"Authorization": "Basic " + e.Operator.Key},
		"bearer without token": {"Authorization": "Bearer "},
	} {
		r := get(h).must(t, 401)
		if r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", name)
		}
		if msg := r.errMessage(t); msg != "Metrics require the operator's API key: send it in an x-api-key header or as Authorization: Bearer" {
			t.Errorf("%s: message %q", name, msg)
		}
	}
	for _, h := range []map[string]string{
		{"X-Api-Key": e.Operator.Key},
		{"Authorization": "Bearer " + e.Operator.Key},
		{"Authorization": "bearer  " + e.Operator.Key},
	} {
		if r := get(h).must(t, 200); string(r.body) != `{"scraped":true}` {
			t.Fatalf("operator scrape with %v: %s", h, r)
		}
	}
	e.do(t, request{method: "POST", path: "/metrics", key: e.Operator.Key}).must(t, 404)
	requests, _ := obs.take()
	if got := requests[len(requests)-2]; got != "GET /metrics 200" {
		t.Fatalf("a scrape was heard as %q", got)
	}
}

// TestNoMetricsWithoutHandler: without Config.Metrics there is no /metrics route.
func TestNoMetricsWithoutHandler(t *testing.T) {
	e := newEnv(t)
	e.call(t, e.Operator.Key, "GET", "/metrics", nil).must(t, 404)
}
