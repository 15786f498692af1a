package main

import (
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape GETs url with the given headers and, for a 200, parses the Prometheus text format.
func scrape(t *testing.T, url string, header map[string]string) (int, map[string]*dto.MetricFamily, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		return res.StatusCode, nil, body
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("scrape Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse the scrape: %v\n%s", err, body)
	}
	return res.StatusCode, fams, body
}

// operatorScrape scrapes the API's /metrics with the operator's key.
func (ts *testServer) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	st, fams, body := scrape(t, ts.URL+"/metrics", map[string]string{"x-api-key": ts.Key})
	if st != 200 {
		t.Fatalf("operator scrape: %d %s", st, body)
	}
	return fams
}

// value sums the series of family name whose labels include want: a counter's or gauge's
// value, a histogram's sample count. It returns -1 if the family is missing.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	sum := 0.0
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

type lbl = map[string]string

// TestMetricsMoveWithTheWork scrapes /metrics around known actions (a machine created and
// driven to ready, its notification mailed, a rate-limited login, an unknown route) and
// checks that each metric moved by what those actions did.
func TestMetricsMoveWithTheWork(t *testing.T) {
	ts := startServer(t, "--login-per-address", "1")
	before := ts.scrape(t)

	types := map[string]dto.MetricType{
		"hangar_http_requests_total":             dto.MetricType_COUNTER,
		"hangar_http_request_duration_seconds":   dto.MetricType_HISTOGRAM,
		"hangar_rate_limit_rejections_total":     dto.MetricType_COUNTER,
		"hangar_machines":                        dto.MetricType_GAUGE,
		"hangar_host_capacity_slots":             dto.MetricType_GAUGE,
		"hangar_host_used_slots":                 dto.MetricType_GAUGE,
		"hangar_host_available":                  dto.MetricType_GAUGE,
		"hangar_engine_steps_total":              dto.MetricType_COUNTER,
		"hangar_engine_step_duration_seconds":    dto.MetricType_HISTOGRAM,
		"hangar_engine_queue_depth":              dto.MetricType_GAUGE,
		"hangar_engine_leases_expired":           dto.MetricType_GAUGE,
		"hangar_mail_outbox_depth":               dto.MetricType_GAUGE,
		"hangar_mail_sent_total":                 dto.MetricType_COUNTER,
		"hangar_mail_delivery_failures_total":    dto.MetricType_COUNTER,
		"hangar_store_write_duration_seconds":    dto.MetricType_HISTOGRAM,
		"hangar_store_group_commit_writes":       dto.MetricType_HISTOGRAM,
		"go_goroutines":                          dto.MetricType_GAUGE,
		"process_resident_memory_bytes":          dto.MetricType_GAUGE,
		"promhttp_metric_handler_requests_total": dto.MetricType_COUNTER,
	}

	id := createNotified(t, ts)
	deadline := time.Now().Add(15 * time.Second)
	for value(ts.scrape(t), "hangar_mail_sent_total", nil) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the notification was never counted as sent")
		}
		time.Sleep(20 * time.Millisecond)
	}
	login := map[string]any{"email": "nobody@example.com", "password": "wrong"}
	if st := ts.do(t, "", "POST", "/users/login", login, nil); st != 401 {
		t.Fatalf("first login: %d", st)
	}
	if st := ts.do(t, "", "POST", "/users/login", login, nil); st != 429 {
		t.Fatalf("second login: %d, want 429", st)
	}
	if st := ts.do(t, ts.Key, "GET", "/no/such/route", nil, nil); st != 404 {
		t.Fatalf("unknown route: %d", st)
	}
	after := ts.scrape(t)

	for name, typ := range types {
		f := after[name]
		if f == nil {
			t.Errorf("%s is missing from the scrape", name)
			continue
		}
		if f.GetType() != typ {
			t.Errorf("%s is a %v, want %v", name, f.GetType(), typ)
		}
	}
	for name, f := range after {
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_") {
			continue
		}
		if !strings.HasPrefix(name, "hangar_") {
			t.Errorf("metric %s lacks the hangar_ prefix", name)
		}
		if f.GetType() == dto.MetricType_COUNTER && !strings.HasSuffix(name, "_total") {
			t.Errorf("counter %s does not end in _total", name)
		}
		if f.GetHelp() == "" {
			t.Errorf("%s has no help text", name)
		}
	}

	moved := func(name string, labels lbl) float64 {
		b := max(value(before, name, labels), 0)
		return value(after, name, labels) - b
	}
	check := func(what string, got, want float64) {
		t.Helper()
		if got != want {
			t.Errorf("%s moved by %v, want %v", what, got, want)
		}
	}
	atLeast := func(what string, got, want float64) {
		t.Helper()
		if got < want {
			t.Errorf("%s moved by %v, want at least %v", what, got, want)
		}
	}
	create := lbl{"method": "POST", "route": "/machines/createSingleMachinePublic"}
	check("creates answered 200", moved("hangar_http_requests_total", mergeLabels(create, lbl{"code": "200"})), 1)
	check("create durations", moved("hangar_http_request_duration_seconds", create), 1)
	atLeast("getMachinePublic polls", moved("hangar_http_requests_total", lbl{"method": "GET", "route": "/machines/getMachinePublic", "code": "200"}), 1)
	check("logins answered 429", moved("hangar_http_requests_total", lbl{"route": "/users/login", "code": "429"}), 1)
	check("login_address rejections", moved("hangar_rate_limit_rejections_total", lbl{"limit": "login_address"}), 1)
	check("all rate-limit rejections", moved("hangar_rate_limit_rejections_total", nil), 1)
	check("unmatched 404s", moved("hangar_http_requests_total", lbl{"route": "unmatched", "code": "404"}), 1)
	check("ready C1 machines in NY2", moved("hangar_machines", lbl{"state": "ready", "type": "C1", "region": "East Coast (NY2)"}), 1)
	check("all machines", moved("hangar_machines", nil), 1)
	check("C1 slots used in NY2", moved("hangar_host_used_slots", lbl{"type": "C1", "region": "East Coast (NY2)"}), 1)
	if c := value(after, "hangar_host_capacity_slots", lbl{"type": "C1", "region": "East Coast (NY2)"}); c < 1 {
		t.Errorf("C1 capacity in NY2 is %v", c)
	}
	// provisioning → starting → serviceready → ready: three completed steps at least.
	atLeast("completed engine steps", moved("hangar_engine_steps_total", lbl{"outcome": "done"}), 3)
	atLeast("engine step durations", moved("hangar_engine_step_duration_seconds", lbl{"outcome": "done"}), 3)
	check("engine queue of an idle engine", value(after, "hangar_engine_queue_depth", nil), 0)
	check("expired leases", value(after, "hangar_engine_leases_expired", nil), 0)
	check("mails sent", moved("hangar_mail_sent_total", nil), 1)
	check("mail failures", moved("hangar_mail_delivery_failures_total", nil), 0)
	check("outbox after delivery", value(after, "hangar_mail_outbox_depth", nil), 0)
	atLeast("store writes", moved("hangar_store_write_duration_seconds", nil), 5)
	atLeast("group commits", moved("hangar_store_group_commit_writes", nil), 1)
	if h := after["hangar_store_group_commit_writes"].GetMetric()[0].GetHistogram(); h.GetSampleSum() < float64(h.GetSampleCount()) {
		t.Errorf("group commits carry %v writes in %d commits: fewer than one each", h.GetSampleSum(), h.GetSampleCount())
	}

	// Destroying the machine moves it out of the gauges.
	if st := ts.do(t, ts.Key, "POST", "/machines/"+id+"/destroyMachine", nil, nil); st != 204 && st != 200 {
		t.Fatalf("destroy: %d", st)
	}
	gone := ts.scrape(t)
	v0 := func(fams map[string]*dto.MetricFamily, name string, labels lbl) float64 {
		return max(value(fams, name, labels), 0)
	}
	check("machines after the destroy", v0(gone, "hangar_machines", nil)-v0(before, "hangar_machines", nil), 0)
	check("C1 slots used after the destroy", v0(gone, "hangar_host_used_slots", lbl{"type": "C1", "region": "East Coast (NY2)"})-
		v0(before, "hangar_host_used_slots", lbl{"type": "C1", "region": "East Coast (NY2)"}), 0)
}

func mergeLabels(a, b lbl) lbl {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// TestMetricsNeedTheOperatorKey: the API's /metrics answers an operator's key in x-api-key
// or Authorization: Bearer, and 401 in the Paperspace shape to everyone else, team keys
// included.
func TestMetricsNeedTheOperatorKey(t *testing.T) {
	ts := startServer(t)
	team := newTeamAdmin(t, ts)
	for name, h := range map[string]map[string]string{
		"no credentials":     nil,
		"a wrong key":        {"x-api-key": "not-a-key"},
		"a team admin's key": {"x-api-key": team},
		"a team key, bearer": {"Authorization": "Bearer " + team},
		"the key as Basic":   {"Authorization": "Basic " + ts.Key},
	} {
		st, _, body := scrape(t, ts.URL+"/metrics", h)
		var e struct {
			Error struct {
				Name    string `json:"name"`
				Message string `json:"message"`
				Status  int    `json:"status"`
			} `json:"error"`
		}
		if err := json.Unmarshal(body, &e); st != 401 || err != nil || e.Error.Status != 401 || e.Error.Name != "Error" ||
			!strings.Contains(e.Error.Message, "operator's API key") {
			t.Errorf("%s: %d %s", name, st, body)
		}
	}
	if st, fams, body := scrape(t, ts.URL+"/metrics", map[string]string{"Authorization": "Bearer " + ts.Key}); st != 200 || fams["hangar_host_capacity_slots"] == nil {
		t.Fatalf("operator key as bearer: %d %.300s", st, body)
	}
}

// TestMetricsListenServesWithoutCredentials: --metrics-listen serves the same metrics with no
// key on a listener of its own, which serves nothing else.
func TestMetricsListenServesWithoutCredentials(t *testing.T) {
	ts := startServer(t, "--metrics-listen", "127.0.0.1:0")
	if ts.srv.metricsAddr == "" {
		t.Fatal("no metrics listener")
	}
	base := "http://" + ts.srv.metricsAddr
	st, fams, body := scrape(t, base+"/metrics", nil)
	if st != 200 {
		t.Fatalf("scrape without credentials: %d %s", st, body)
	}
	// The default sim fleet is there, and the operator's scrape sees the same hosts.
	if value(fams, "hangar_host_capacity_slots", nil) <= 0 ||
		value(fams, "hangar_host_capacity_slots", nil) != value(ts.scrape(t), "hangar_host_capacity_slots", nil) {
		t.Fatalf("host capacity on the metrics listener: %v", value(fams, "hangar_host_capacity_slots", nil))
	}
	for _, path := range []string{"/", "/machines/getMachines", "/metricsx"} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 404 || !strings.Contains(string(b), `"status":404`) {
			t.Errorf("GET %s on the metrics listener: %d %s", path, res.StatusCode, b)
		}
	}
	// Without the flag there is no second listener.
	if plain := startServer(t); plain.srv.metricsAddr != "" {
		t.Fatal("a metrics listener without --metrics-listen")
	}
}

// TestMetricsCountMailFailures: with an SMTP server that refuses connections, the failed
// attempt is counted and the message stays in the outbox.
func TestMetricsCountMailFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	ts := startServer(t, "--smtp-url", "smtp://"+dead)
	createNotified(t, ts)
	deadline := time.Now().Add(15 * time.Second)
	for {
		fams := ts.scrape(t)
		if value(fams, "hangar_mail_delivery_failures_total", lbl{"final": "false"}) >= 1 {
			if got := value(fams, "hangar_mail_outbox_depth", nil); got != 1 {
				t.Fatalf("outbox depth after a failed attempt: %v, want 1", got)
			}
			if got := value(fams, "hangar_mail_sent_total", nil); got != 0 {
				t.Fatalf("sent: %v", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the failed delivery was never counted")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
