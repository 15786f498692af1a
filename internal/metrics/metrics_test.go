package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"hangar/internal/core"
	"hangar/internal/core/clocktest"
	"hangar/internal/store"
	"hangar/internal/store/sqlite"
)

// gather scrapes m's handler over HTTP and parses the text format.
func gather(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	return fams
}

// series renders every series of a family as "label=value,... value", sorted by the text
// parser's order, for exact comparison.
func series(fams map[string]*dto.MetricFamily, name string) []string {
	var out []string
	for _, m := range fams[name].GetMetric() {
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		var v float64
		switch {
		case m.Gauge != nil:
			v = m.Gauge.GetValue()
		case m.Counter != nil:
			v = m.Counter.GetValue()
		case m.Histogram != nil:
			v = float64(m.Histogram.GetSampleCount())
		}
		out = append(out, fmt.Sprintf("%s %v", strings.Join(ls, ","), v))
	}
	return out
}

func one(t *testing.T, fams map[string]*dto.MetricFamily, name string, want ...string) {
	t.Helper()
	got := series(fams, name)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got  %q\n want %q", name, got, want)
	}
}

// TestFleetGauges fills a real SQLite store and checks every fleet gauge, then moves the
// clock so that a lease runs out.
func TestFleetGauges(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.New(time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC))
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"), sqlite.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := clock.Now()
	err = db.Write(ctx, func(tx store.Tx) error {
		tm := core.Team{ID: "te1", Name: "t", Created: now}
		if err := tx.CreateTeam(&tm); err != nil {
			return err
		}
		u := core.User{ID: "u1", TeamID: "te1", Email: "u1@example.com", Role: core.RoleAdmin, PasswordHash: "x", Created: now}
		if err := tx.CreateUser(&u); err != nil {
			return err
		}
		h := core.Host{ID: "h1", Name: "sim-ny2-a", Region: "East Coast (NY2)", Capacity: map[string]int{"C1": 10, "C2": 4}, Available: true, Created: now}
		if err := tx.CreateHost(&h); err != nil {
			return err
		}
		for i, st := range []core.State{core.StateReady, core.StateReady, core.StateProvisioning, core.StateOff} {
			m := core.Machine{ID: fmt.Sprint("ps", i), Name: "m", TeamID: "te1", UserID: "u1", Region: "East Coast (NY2)",
				MachineType: "C1", BillingType: "hourly", TemplateID: "t04azgph", SizeGB: 50, CPUs: 1, AgentType: "LinuxHeadless",
				State: st, Created: now, HostID: "h1"}
			if st == core.StateProvisioning {
				m.NextAt = &now
			}
			if err := tx.CreateMachine(&m); err != nil {
				return err
			}
		}
		if err := tx.AddHostUsage("h1", "C1", 3); err != nil {
			return err
		}
		_, err := tx.ClaimDue(now, "worker", now.Add(30*time.Second), 10)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	m := New()
	m.WatchStore(db, clock, nil)
	fams := gather(t, m)
	one(t, fams, "hangar_machines",
		"region=East Coast (NY2),state=off,type=C1 1",
		"region=East Coast (NY2),state=provisioning,type=C1 1",
		"region=East Coast (NY2),state=ready,type=C1 2")
	one(t, fams, "hangar_host_capacity_slots", "host=sim-ny2-a,region=East Coast (NY2),type=C1 10",
		"host=sim-ny2-a,region=East Coast (NY2),type=C2 4")
	one(t, fams, "hangar_host_used_slots", "host=sim-ny2-a,region=East Coast (NY2),type=C1 3",
		"host=sim-ny2-a,region=East Coast (NY2),type=C2 0")
	one(t, fams, "hangar_host_available", "host=sim-ny2-a,region=East Coast (NY2) 1")
	one(t, fams, "hangar_engine_queue_depth", " 1")
	one(t, fams, "hangar_engine_leases_expired", " 0")
	one(t, fams, "hangar_mail_outbox_depth", " 0")

	clock.Advance(time.Minute) // the worker's 30 s lease has run out
	one(t, gather(t, m), "hangar_engine_leases_expired", " 1")

	// A store that fails is reported, and the other metrics are still served.
	db.Close()
	if _, err := m.Registry().Gather(); err == nil {
		t.Fatal("Gather with a closed store reported no error")
	}
	fams = gather(t, m)
	if fams["hangar_machines"] != nil || fams["go_goroutines"] == nil {
		t.Fatalf("scrape with a closed store: machines %v, go_goroutines %v", fams["hangar_machines"], fams["go_goroutines"])
	}
}

// TestObserverSeries checks the series the hooks produce.
func TestObserverSeries(t *testing.T) {
	m := New()
	h := m.HTTP()
	h.Request("GET", "/machines/getMachinePublic", 200, time.Millisecond)
	h.Request("GET", "/machines/getMachinePublic", 200, 2*time.Millisecond)
	h.Request("GET", "/machines/getMachinePublic", 404, time.Millisecond)
	h.Request("", "unmatched", 0, time.Millisecond)
	h.RateLimited("key")
	m.EngineStep("done", time.Second)
	m.EngineStep("retry", time.Millisecond)
	m.MailAttempt(nil, false)
	m.MailAttempt(errors.New("451"), false)
	m.MailAttempt(errors.New("550"), true)
	m.StoreWrite(time.Millisecond)
	m.StoreBatch(3)
	fams := gather(t, m)
	one(t, fams, "hangar_http_requests_total",
		"code=200,method=,route=unmatched 1",
		"code=200,method=GET,route=/machines/getMachinePublic 2",
		"code=404,method=GET,route=/machines/getMachinePublic 1")
	one(t, fams, "hangar_http_request_duration_seconds", "method=,route=unmatched 1", "method=GET,route=/machines/getMachinePublic 3")
	one(t, fams, "hangar_rate_limit_rejections_total", "limit=key 1")
	one(t, fams, "hangar_engine_steps_total", "outcome=done 1", "outcome=retry 1")
	one(t, fams, "hangar_engine_step_duration_seconds", "outcome=done 1", "outcome=retry 1")
	one(t, fams, "hangar_mail_sent_total", " 1")
	one(t, fams, "hangar_mail_delivery_failures_total", "final=false 1", "final=true 1")
	one(t, fams, "hangar_store_write_duration_seconds", " 1")
	one(t, fams, "hangar_store_group_commit_writes", " 1")
	if s := fams["hangar_store_group_commit_writes"].GetMetric()[0].GetHistogram().GetSampleSum(); s != 3 {
		t.Errorf("group commit sum %v, want 3", s)
	}
}
