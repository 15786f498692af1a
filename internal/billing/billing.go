package billing

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"hangar/internal/core"
)

// Month is a billing month in UTC.
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth parses a billingMonth, exactly "YYYY-MM" with a year from 0001 to 9999.
func ParseMonth(s string) (Month, error) {
	bad := fmt.Errorf("billingMonth %q must be a month in the form YYYY-MM, e.g. 2022-03", s)
	if len(s) != 7 || s[4] != '-' {
		return Month{}, bad
	}
	for i, c := range s {
		if i != 4 && (c < '0' || c > '9') {
			return Month{}, bad
		}
	}
	y, _ := strconv.Atoi(s[:4])
	m, _ := strconv.Atoi(s[5:])
	if y < 1 || m < 1 || m > 12 {
		return Month{}, bad
	}
	return Month{Year: y, Month: time.Month(m)}, nil
}

// MonthOf returns the UTC month of t.
func MonthOf(t time.Time) Month {
	t = t.UTC()
	return Month{Year: t.Year(), Month: t.Month()}
}

// String renders m as "YYYY-MM".
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// Start is the first instant of m.
func (m Month) Start() time.Time { return time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, time.UTC) }

// End is the first instant after m.
func (m Month) End() time.Time { return m.Start().AddDate(0, 1, 0) }

// Next is the month after m.
func (m Month) Next() Month { return MonthOf(m.End()) }

// Length is the duration of m.
func (m Month) Length() time.Duration { return m.End().Sub(m.Start()) }

// overlap returns the length of [a1, a2) ∩ [b1, b2).
func overlap(a1, a2, b1, b2 time.Time) time.Duration {
	lo, hi := a1, a2
	if b1.After(lo) {
		lo = b1
	}
	if b2.Before(hi) {
		hi = b2
	}
	if !hi.After(lo) {
		return 0
	}
	return hi.Sub(lo)
}

// Usage is a machine's metered time in one month.
type Usage struct {
	Machine time.Duration // in billable states
	Storage time.Duration // existing (create → destroy)
}

// until is when u's time stops counting: its destruction, or now for a live machine.
func until(u core.MachineUsage, now time.Time) time.Time {
	if u.Destroyed != nil && u.Destroyed.Before(now) {
		return *u.Destroyed
	}
	return now
}

// ForMonth returns u's usage in month m as of now. Time after now, before creation or after
// destruction never counts, so future months and months before creation are zero.
func ForMonth(u core.MachineUsage, m Month, now time.Time) Usage {
	return Between(u, m.Start(), m.End(), now)
}

// Between returns u's usage in [from, to) as of now.
func Between(u core.MachineUsage, from, to, now time.Time) Usage {
	end := until(u, now)
	if end.Before(to) {
		to = end
	}
	var out Usage
	out.Storage = overlap(u.Created, end, from, to)
	for _, iv := range u.Billable {
		ivEnd := end
		if iv.End != nil && iv.End.Before(ivEnd) {
			ivEnd = *iv.End
		}
		out.Machine += overlap(iv.Start, ivEnd, from, to)
	}
	return out
}

// Lifetime returns u's whole metered time as of now.
func Lifetime(u core.MachineUsage, now time.Time) Usage {
	return Between(u, u.Created, until(u, now), now)
}

// Cents is an amount of money in hundredths.
type Cents int64

// ParseRate parses a catalog rate ("0.51", "7.00") into cents.
func ParseRate(s string) (Cents, error) {
	i := strings.IndexByte(s, '.')
	if i < 1 || len(s)-i != 3 {
		return 0, fmt.Errorf("rate %q is not a decimal with two places", s)
	}
	whole, err1 := strconv.ParseInt(s[:i], 10, 64)
	frac, err2 := strconv.ParseInt(s[i+1:], 10, 64)
	if err1 != nil || err2 != nil || whole < 0 || frac < 0 {
		return 0, fmt.Errorf("rate %q is not a decimal with two places", s)
	}
	return Cents(whole*100 + frac), nil
}

// String renders c with two decimals, e.g. "12.05".
func (c Cents) String() string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// prorate returns rate × part / whole rounded half up to the cent, computed on milliseconds
// in integers (exact for any month and any rate below $10^6).
func prorate(rate Cents, part, whole time.Duration) Cents {
	p, w := part.Milliseconds(), whole.Milliseconds()
	if w <= 0 || p <= 0 {
		return 0
	}
	return Cents((int64(rate)*p + w/2) / w)
}

// Rates are the catalog rates that apply to one machine; nil where the operator set none.
type Rates struct {
	Hourly  *Cents // the machine type's hourly rate
	Monthly *Cents // the machine type's monthly rate
	Storage *Cents // the monthly rate of the machine's storage size
}

// Charge returns the charge of usage u in month m for a machine of billingType, or false when
// a rate it needs is unset.
func Charge(billingType string, u Usage, m Month, r Rates) (Cents, bool) {
	if r.Storage == nil {
		return 0, false
	}
	total := prorate(*r.Storage, u.Storage, m.Length())
	switch billingType {
	case "monthly":
		if r.Monthly == nil {
			return 0, false
		}
		total += prorate(*r.Monthly, u.Storage, m.Length())
	default: // hourly
		if r.Hourly == nil {
			return 0, false
		}
		total += prorate(*r.Hourly, u.Machine, time.Hour)
	}
	return total, true
}
