package core

import "time"

// UsageInterval is one stretch of time a machine spent in billable states. End is nil while
// the machine is still in a billable state.
type UsageInterval struct {
	Start time.Time
	End   *time.Time
}

// MachineUsage is what the meter knows of one machine, live or destroyed: what it is, when it
// existed (its storage lifetime) and its billable intervals.
type MachineUsage struct {
	MachineID   string
	TeamID      string
	UserID      string
	MachineType string
	BillingType string
	SizeGB      int
	Created     time.Time
	Destroyed   *time.Time      // nil while the machine exists
	Billable    []UsageInterval // ordered by Start
}
