package httpapi

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"hangar/api"
	"hangar/internal/billing"
	"hangar/internal/core"
)

// utilization asks getUtilization as key and decodes the 200 answer, checking the JSON types
// of spec §2.13 on the way: secondsUsed numbers, rates strings or null, every key present.
func (e *env) utilization(t *testing.T, key, id, month string) api.Utilization {
	t.Helper()
	r := e.call(t, key, "GET", "/machines/getUtilization?machineId="+id+"&billingMonth="+month, nil).must(t, 200)
	var raw map[string]map[string]any
	var top map[string]any
	if err := json.Unmarshal(r.body, &top); err != nil {
		t.Fatal(err)
	}
	if len(top) != 3 || top["machineId"] != id {
		t.Fatalf("top level %v", top)
	}
	delete(top, "machineId")
	b, _ := json.Marshal(top)
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for part, rate := range map[string]string{"utilization": "hourlyRate", "storageUtilization": "monthlyRate"} {
		o := raw[part]
		if len(o) != 4 || o["machineId"] != id || o["billingMonth"] != month {
			t.Fatalf("%s: %v", part, o)
		}
		if _, ok := o["secondsUsed"].(float64); !ok {
			t.Fatalf("%s.secondsUsed %T, want a number", part, o["secondsUsed"])
		}
		if v, ok := o[rate]; !ok {
			t.Fatalf("%s.%s missing", part, rate)
		} else if s, isStr := v.(string); v != nil && (!isStr || len(s) < 4 || s[len(s)-3] != '.') {
			t.Fatalf("%s.%s = %#v, want a two-decimal string or null", part, rate, v)
		}
	}
	var u api.Utilization
	r.json(t, &u)
	return u
}

func secs(d time.Duration) float64 { return d.Seconds() }

// TestUtilizationAcrossMonths meters machines across a month boundary with a stop/start gap,
// a destroy in the middle of a month, hourly and monthly billing, through the real stack and
// a fake clock.
func TestUtilizationAcrossMonths(t *testing.T) {
	cat := core.DefaultCatalog()
	cat.Types["P4000"].MonthlyRate = ptrTo("250.00")
	e := newEnvCatalog(t, cat)
	A := e.Alice.Key
	t0 := time.Date(2024, 3, 31, 23, 0, 0, 0, time.UTC)
	e.advance(t0.Sub(e.Clock.Now()))
	at := func() time.Time { return e.Clock.Now() }

	hourly := e.createMachine(t, A, "machineType", "P4000", "size", 100, "machineName", "hourly")
	monthly := e.createMachine(t, A, "machineType", "P4000", "billingType", "monthly", "machineName", "monthly")
	cpu := e.createMachine(t, A, "machineName", "cpu", "startOnCreate", false) // C1, no rate in the catalog
	e.driveTo(t, "starting", hourly, monthly)
	e.waitState(t, cpu, "off") // provisioning (billable) ends after one phase
	cpuOff := at()
	e.next(t, "serviceready", hourly, monthly)
	e.next(t, "ready", hourly, monthly)

	// Stop the hourly machine half an hour into April, start it two days later, destroy it
	// an hour after that.
	e.advance(time.Date(2024, 4, 1, 0, 30, 0, 0, time.UTC).Sub(at()))
	e.call(t, A, "POST", "/machines/"+hourly+"/stop", nil).must(t, 204)
	e.next(t, "off", hourly)
	stopped := at()
	e.advance(48 * time.Hour)
	restarted := at()
	e.call(t, A, "POST", "/machines/"+hourly+"/start", nil).must(t, 204)
	e.next(t, "serviceready", hourly)
	e.next(t, "ready", hourly)
	e.advance(time.Hour)
	destroyed := at()
	e.call(t, A, "POST", "/machines/"+hourly+"/destroyMachine", nil).must(t, 204)
	e.advance(5 * 24 * time.Hour)
	now := at()

	april := time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)
	type want struct {
		machine, storage time.Duration
		hourly, monthly  *string
	}
	cases := []struct {
		name, id, month string
		want            want
	}{
		{"hourly, creation month", hourly, "2024-03", want{time.Hour, time.Hour, ptrTo("0.51"), ptrTo("7.00")}},
		{"hourly, gap and destroy", hourly, "2024-04",
			want{stopped.Sub(april) + destroyed.Sub(restarted), destroyed.Sub(april), ptrTo("0.51"), ptrTo("7.00")}},
		{"hourly, after destroy", hourly, "2024-05", want{0, 0, ptrTo("0.51"), ptrTo("7.00")}},
		{"hourly, before creation", hourly, "2024-02", want{0, 0, ptrTo("0.51"), ptrTo("7.00")}},
		{"monthly: same meter, no hourly rate", monthly, "2024-03", want{time.Hour, time.Hour, nil, ptrTo("5.00")}},
		{"monthly, still running", monthly, "2024-04", want{now.Sub(april), now.Sub(april), nil, ptrTo("5.00")}},
		{"monthly, future month", monthly, "2030-01", want{0, 0, nil, ptrTo("5.00")}},
		{"off after provisioning: storage only", cpu, "2024-04", want{0, now.Sub(april), nil, ptrTo("5.00")}},
		{"provisioning is billable", cpu, "2024-03", want{cpuOff.Sub(t0), time.Hour, nil, ptrTo("5.00")}},
	}
	for _, c := range cases {
		got := e.utilization(t, A, c.id, c.month)
		wantU := api.Utilization{MachineID: c.id,
			Utilization: api.MachineUtilization{MachineID: c.id, SecondsUsed: secs(c.want.machine),
				HourlyRate: c.want.hourly, BillingMonth: c.month},
			StorageUtilization: api.StorageUtilization{MachineID: c.id, SecondsUsed: secs(c.want.storage),
				MonthlyRate: c.want.monthly, BillingMonth: c.month}}
		if !reflect.DeepEqual(got, wantU) {
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(wantU)
			t.Errorf("%s:\n got  %s\n want %s", c.name, gb, wb)
		}
	}

	// The operator's report of April: team A's P4000s (hourly 0.51/h + 7.00/month storage;
	// monthly 250.00 + 5.00 prorated) and its C1 (no rate: cost unknown).
	var rep api.UsageReport
	e.call(t, e.Operator.Key, "GET", "/hangar/v1/usage?month=2024-04", nil).must(t, 200).json(t, &rep)
	aprilLen := 30 * 24 * time.Hour
	hourlyUse := stopped.Sub(april) + destroyed.Sub(restarted)
	cents := func(rate int64, part, whole time.Duration) int64 {
		return (rate*part.Milliseconds() + whole.Milliseconds()/2) / whole.Milliseconds()
	}
	p4000Cost := cents(51, hourlyUse, time.Hour) + cents(700, destroyed.Sub(april), aprilLen) +
		cents(25000, now.Sub(april), aprilLen) + cents(500, now.Sub(april), aprilLen)
	wantRep := api.UsageReport{Month: "2024-04", Rows: []api.UsageRow{
		{TeamID: e.TeamA, TeamName: "Acme", MachineType: "P4000", Machines: 2,
			SecondsUsed: secs(hourlyUse + now.Sub(april)), StorageSecondsUsed: secs(destroyed.Sub(april) + now.Sub(april)),
			Cost: ptrTo(billing.Cents(p4000Cost).String())},
		{TeamID: e.TeamA, TeamName: "Acme", MachineType: "C1", Machines: 1,
			SecondsUsed: 0, StorageSecondsUsed: secs(now.Sub(april))},
	}}
	if !reflect.DeepEqual(rep, wantRep) {
		t.Errorf("usage report:\n got  %+v\n want %+v", rep, wantRep)
	}
	var empty api.UsageReport
	e.call(t, e.Operator.Key, "GET", "/hangar/v1/usage?month=2024-02", nil).must(t, 200).json(t, &empty)
	if empty.Month != "2024-02" || empty.Rows == nil || len(empty.Rows) != 0 {
		t.Errorf("report of a month without machines: %+v", empty)
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestUtilizationErrors checks the 400s of malformed parameters and who may see a machine's
// utilization, before and after it is destroyed.
func TestUtilizationErrors(t *testing.T) {
	e := newEnv(t)
	A, B, C := e.Alice.Key, e.Bob.Key, e.Carol.Key
	alices := e.createMachine(t, A, "machineName", "alices")
	bobs := e.createMachine(t, A, "machineName", "bobs", "userId", e.Bob.ID)
	shared := e.createMachine(t, A, "machineName", "shared")
	e.call(t, A, "POST", "/machines/"+shared+"/setMachineAccess", map[string]any{"userId": e.Bob.ID, "enableAccess": true}).must(t, 200)
	month := "2024-03"
	get := func(key, query string) response {
		return e.call(t, key, "GET", "/machines/getUtilization"+query, nil)
	}
	q := func(id, m string) string {
		return "?" + url.Values{"machineId": {id}, "billingMonth": {m}}.Encode()
	}

	for _, bad := range []string{"2024-13", "2024-3", "24-03", "2024/03", "2024-03-01", "March 2024", "2024-00", "null", "202403"} {
		r := get(A, q(alices, bad)).must(t, 400)
		if msg := r.errMessage(t); !strings.Contains(msg, "YYYY-MM") {
			t.Errorf("billingMonth %q: message %q", bad, msg)
		}
	}
	get(A, "?machineId="+alices).must(t, 400)
	get(A, "?billingMonth="+month).must(t, 400)
	get(A, q("psnosuch1", month)).must(t, 404)
	e.call(t, "", "GET", "/machines/getUtilization"+q(alices, month), nil).must(t, 401)

	// Who may ask: the team admin and the owner; an accessor is refused; others see nothing.
	get(A, q(bobs, month)).must(t, 200)
	get(B, q(bobs, month)).must(t, 200)
	get(B, q(alices, month)).must(t, 404)
	get(B, q(shared, month)).must(t, 403)
	get(C, q(alices, month)).must(t, 404)
	get(e.Operator.Key, q(alices, month)).must(t, 404)

	// Destroyed machines stay queryable by their owner and admin.
	e.advance(time.Hour)
	for _, id := range []string{alices, bobs, shared} {
		e.call(t, A, "POST", "/machines/"+id+"/destroyMachine", nil).must(t, 204)
	}
	e.call(t, A, "GET", "/machines/getMachinePublic?machineId="+bobs, nil).must(t, 404)
	if u := e.utilization(t, B, bobs, month); u.StorageUtilization.SecondsUsed != 3600 {
		t.Errorf("destroyed machine: %+v", u)
	}
	e.utilization(t, A, alices, month)
	get(B, q(shared, month)).must(t, 404) // access grants end with the machine
	get(C, q(bobs, month)).must(t, 404)

	// The transports of spec §1.3: gradient-cli's trailing slash, paperspace-go's GET body,
	// and the operator report's own 400 and 403.
	e.call(t, A, "GET", "/machines/getUtilization/"+q(alices, month), nil).must(t, 200)
	e.call(t, A, "GET", "/machines/getUtilization", map[string]any{"machineId": alices, "billingMonth": month}).must(t, 200)
	e.call(t, e.Operator.Key, "GET", "/hangar/v1/usage?month=2024-3", nil).must(t, 400)
	e.call(t, e.Operator.Key, "GET", "/hangar/v1/usage", nil).must(t, 400)
	e.call(t, A, "GET", "/hangar/v1/usage?month=2024-03", nil).must(t, 403)
}
