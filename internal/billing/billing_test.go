package billing

import (
	"math/rand/v2"
	"testing"
	"time"

	"hangar/internal/core"
)

func ts(s string) time.Time { return core.MustParseTime(s) }

func tp(s string) *time.Time { t := ts(s); return &t }

func TestParseMonth(t *testing.T) {
	good := map[string]Month{
		"2022-03": {2022, time.March}, "0001-01": {1, time.January}, "9999-12": {9999, time.December},
		"2024-02": {2024, time.February},
	}
	for s, want := range good {
		got, err := ParseMonth(s)
		if err != nil || got != want || got.String() != s {
			t.Errorf("ParseMonth(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "2022-3", "2022-13", "2022-00", "0000-01", "22-03", "2022/03", "2022-03-01",
		"2022-3a", " 2022-03", "2022-03 ", "+022-03", "２０２２-03", "2022--3", "abcd-ef", "2022-1.", "2022_03"} {
		if m, err := ParseMonth(s); err == nil {
			t.Errorf("ParseMonth(%q) = %v, want an error", s, m)
		}
	}
}

func TestMonthBounds(t *testing.T) {
	cases := []struct {
		m          Month
		start, end string
		days       int
	}{
		{Month{2024, time.February}, "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z", 29}, // leap year
		{Month{2023, time.February}, "2023-02-01T00:00:00Z", "2023-03-01T00:00:00Z", 28},
		{Month{2022, time.December}, "2022-12-01T00:00:00Z", "2023-01-01T00:00:00Z", 31},
	}
	for _, c := range cases {
		if !c.m.Start().Equal(ts(c.start)) || !c.m.End().Equal(ts(c.end)) || c.m.Length() != time.Duration(c.days)*24*time.Hour {
			t.Errorf("%v: [%v, %v) %v", c.m, c.m.Start(), c.m.End(), c.m.Length())
		}
	}
	if got := MonthOf(ts("2022-12-31T23:59:59.999Z")).Next(); got != (Month{2023, time.January}) {
		t.Errorf("Next = %v", got)
	}
}

// TestForMonth is the table of billing rules: month boundaries, stop/start gaps, destroy
// mid-month, open intervals counted to now, months outside the machine's life.
func TestForMonth(t *testing.T) {
	created := ts("2022-01-31T23:00:00Z")
	// Billable 23:00 Jan 31 → 01:00 Feb 1 (crosses the month), off until Feb 10 12:00, billable
	// again (still open).
	running := core.MachineUsage{Created: created, Billable: []core.UsageInterval{
		{Start: created, End: tp("2022-02-01T01:00:00Z")},
		{Start: ts("2022-02-10T12:00:00Z")},
	}}
	destroyed := running
	destroyed.Destroyed = tp("2022-02-15T12:00:00.500Z")
	destroyed.Billable = []core.UsageInterval{running.Billable[0],
		{Start: ts("2022-02-10T12:00:00Z"), End: destroyed.Destroyed}}
	// An open interval left by a destroy that did not close it still stops at the destroy.
	unclosed := running
	unclosed.Destroyed = destroyed.Destroyed
	now := ts("2022-03-02T00:00:00Z")
	h := time.Hour
	cases := []struct {
		name    string
		u       core.MachineUsage
		month   string
		now     time.Time
		machine time.Duration
		storage time.Duration
	}{
		{"creation month, split at midnight", running, "2022-01", now, h, h},
		{"next month, gap then open interval to now", running, "2022-02", now, h + (18*24+12)*h, 28 * 24 * h},
		{"open interval into the current month", running, "2022-03", now, 24 * h, 24 * h},
		{"before creation", running, "2021-12", now, 0, 0},
		{"future month", running, "2022-04", now, 0, 0},
		{"asked mid-gap", running, "2022-02", ts("2022-02-05T00:00:00Z"), h, 4 * 24 * h},
		{"destroyed mid-month", destroyed, "2022-02", now, h + (5*24)*h + 500*time.Millisecond, (14*24+12)*h + 500*time.Millisecond},
		{"destroyed: later months are zero", destroyed, "2022-03", now, 0, 0},
		{"destroyed with an open interval", unclosed, "2022-02", now, h + (5*24)*h + 500*time.Millisecond, (14*24+12)*h + 500*time.Millisecond},
		{"off all along", core.MachineUsage{Created: created}, "2022-02", now, 0, 28 * 24 * h},
	}
	for _, c := range cases {
		m, err := ParseMonth(c.month)
		if err != nil {
			t.Fatal(err)
		}
		got := ForMonth(c.u, m, c.now)
		if got.Machine != c.machine || got.Storage != c.storage {
			t.Errorf("%s: machine %v storage %v, want %v %v", c.name, got.Machine, got.Storage, c.machine, c.storage)
		}
	}
}

func TestCharge(t *testing.T) {
	c := func(s string) *Cents {
		v, err := ParseRate(s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	feb := Month{2022, time.February} // 28 days
	full := feb.Length()
	cases := []struct {
		name    string
		billing string
		u       Usage
		r       Rates
		want    string
		known   bool
	}{
		{"hourly: 10 h at 0.51 + a full month of 50 GB", "hourly", Usage{10 * time.Hour, full}, Rates{Hourly: c("0.51"), Storage: c("5.00")}, "10.10", true},
		{"hourly: rounding half up per machine", "hourly", Usage{30 * time.Minute, 0}, Rates{Hourly: c("0.45"), Storage: c("5.00")}, "0.23", true},
		{"hourly: half the month of storage", "hourly", Usage{0, full / 2}, Rates{Hourly: c("0.51"), Storage: c("7.00")}, "3.50", true},
		{"monthly: prorated flat fee, machine hours do not count", "monthly", Usage{100 * time.Hour, full / 4}, Rates{Hourly: c("0.51"), Monthly: c("40.00"), Storage: c("5.00")}, "11.25", true},
		{"monthly without a monthly rate", "monthly", Usage{time.Hour, full}, Rates{Hourly: c("0.51"), Storage: c("5.00")}, "", false},
		{"hourly without an hourly rate", "hourly", Usage{time.Hour, full}, Rates{Storage: c("5.00")}, "", false},
		{"no storage rate", "hourly", Usage{time.Hour, full}, Rates{Hourly: c("0.51")}, "", false},
		{"nothing used", "hourly", Usage{}, Rates{Hourly: c("2.30"), Storage: c("5.00")}, "0.00", true},
	}
	for _, tc := range cases {
		got, known := Charge(tc.billing, tc.u, feb, tc.r)
		if known != tc.known || (known && got.String() != tc.want) {
			t.Errorf("%s: %v %v, want %s %v", tc.name, got, known, tc.want, tc.known)
		}
	}
	for _, bad := range []string{"1", "1.5", ".50", "1.500", "-1.00", "a.bc", "1.-5"} {
		if v, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) = %v, want an error", bad, v)
		}
	}
}

// TestMonthsSumToLifetime is the property test: for random machines (random creation, random
// billable intervals with gaps, destroyed or not, asked at a random time), the per-month
// seconds summed over every month from creation to now equal the billable lifetime, and the
// storage seconds equal the time from creation to destruction (or now).
func TestMonthsSumToLifetime(t *testing.T) {
	rng := rand.New(rand.NewPCG(20261127, 3))
	base := ts("2019-11-20T07:31:12.345Z")
	ms := func(max int64) time.Duration { return time.Duration(rng.Int64N(max)) * time.Millisecond }
	const day = int64(24 * 3600 * 1000)
	for i := range 2000 {
		created := base.Add(ms(400 * day))
		u := core.MachineUsage{Created: created}
		at := created
		var billable time.Duration
		open := false
		for range rng.IntN(12) {
			start := at.Add(ms(40 * day))
			if rng.IntN(4) == 0 {
				start = at // starts the instant the last interval ended, or at creation
			}
			iv := core.UsageInterval{Start: start}
			length := ms(60 * day)
			end := start.Add(length)
			iv.End = &end
			u.Billable = append(u.Billable, iv)
			at = end
		}
		if n := len(u.Billable); n > 0 && rng.IntN(3) == 0 {
			u.Billable[n-1].End = nil // still running
			open = true
		}
		now := at.Add(ms(90 * day))
		end := now
		if !open && rng.IntN(2) == 0 {
			d := at.Add(ms(now.Sub(at).Milliseconds() + 1)) // at or after the last stop, not after now
			u.Destroyed, end = &d, d
		}
		for _, iv := range u.Billable {
			e := end
			if iv.End != nil && iv.End.Before(e) {
				e = *iv.End
			}
			if e.After(iv.Start) {
				billable += e.Sub(iv.Start)
			}
		}
		var sum Usage
		months := 0
		for m := MonthOf(created); !m.Start().After(now); m = m.Next() {
			got := ForMonth(u, m, now)
			sum.Machine += got.Machine
			sum.Storage += got.Storage
			months++
		}
		life := Lifetime(u, now)
		if sum.Machine != billable || life.Machine != billable {
			t.Fatalf("machine %d: months sum to %v, lifetime %v, want %v (%d months, %+v)", i, sum.Machine, life.Machine, billable, months, u)
		}
		if sum.Storage != end.Sub(created) || life.Storage != end.Sub(created) {
			t.Fatalf("machine %d: storage months sum to %v, lifetime %v, want %v", i, sum.Storage, life.Storage, end.Sub(created))
		}
		if before := ForMonth(u, MonthOf(MonthOf(created).Start().Add(-time.Millisecond)), now); before != (Usage{}) {
			t.Fatalf("machine %d: month before creation %+v", i, before)
		}
		if after := ForMonth(u, MonthOf(now).Next(), now); after != (Usage{}) {
			t.Fatalf("machine %d: month after now %+v", i, after)
		}
	}
}
