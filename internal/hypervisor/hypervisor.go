// Package hypervisor declares the contract between Hangar's engine and the drivers that run
// machines: sim (simulated hosts) and, later, qemu (real virtual machines).
//
// The engine drives a machine through its transitional states one step at a time. For each
// step it calls Advance with the machine in that state; the driver does (idempotently) what
// the state needs and answers whether the state is complete. Drivers keep no state the engine
// depends on, so a restarted engine simply calls Advance again.
package hypervisor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"hangar/internal/core"
)

// Driver runs machines.
type Driver interface {
	// Name is the driver's name as given to --driver.
	Name() string
	// Expect returns how long a machine typically stays in transitional state s; the engine
	// first looks at a machine that long after it entered s.
	Expect(s core.State) time.Duration
	// Advance works on a machine in a transitional state (provisioning, starting, serviceready,
	// stopping, restarting). It is idempotent. It returns Done when the state is complete, or
	// RetryAfter. A *Error with Permanent set fails the operation; other errors are retried.
	Advance(ctx context.Context, req Request) (Result, error)
	// Destroy removes everything the driver holds for a machine. Idempotent.
	Destroy(ctx context.Context, m core.Machine) error
}

// Drivers finds the driver that runs a host's machines. The engine asks it for every driver
// call, by the machine's host, so that hosts run by different drivers (remote hosts) need no
// change in the engine.
type Drivers interface {
	// DriverFor returns the driver of host hostID, or an error when no driver runs it. The
	// error follows Advance's rules: a permanent *Error fails the operation, others are
	// retried.
	DriverFor(ctx context.Context, hostID string) (Driver, error)
}

// Single runs every host with one driver: the sim driver's simulated fleet, or the qemu
// driver's one local host.
type Single struct{ Driver Driver }

// DriverFor implements Drivers.
func (s Single) DriverFor(context.Context, string) (Driver, error) {
	if s.Driver == nil {
		return nil, errors.New("hypervisor: no driver configured")
	}
	return s.Driver, nil
}

// Request is one step of work on a machine.
type Request struct {
	Machine  core.Machine // Machine.State is the state to complete
	Template core.Template
	Attempt  int       // 0 on the first call for this state
	Since    time.Time // when the machine entered the state
	Now      time.Time
	// Script is the machine's startup script when it should run on this boot (enabled, and
	// not a runOnce script after the first boot); nil otherwise. Drivers that run guests put
	// it where the guest finds it at provisioning and boot.
	Script *core.Script
	// Network is the machine's private network; nil for the region's default network.
	Network *core.Network
	// UserEmail is the email of the user the machine is assigned to ("" if unknown); guests
	// learn it from their seed.
	UserEmail string
	// SSHKeys are the OpenSSH public keys of the machine's assigned user; guests authorize
	// them for their login user.
	SSHKeys []string
}

// Facts are what a driver learnt about a machine while completing a state; nil fields are
// unknown and left as they are.
type Facts struct {
	OS           *string
	CPUs         int
	RAM          *int64
	GPU          *string
	StorageTotal *int64
	StorageUsed  *int64
	// ScriptRan is when the guest reported running its startup script on this boot.
	ScriptRan *time.Time
}

// Result is the answer of Advance.
type Result struct {
	Done       bool
	RetryAfter time.Duration
	Facts      Facts
}

// Error is a driver failure.
type Error struct {
	Permanent bool
	Message   string // shown to users as the event's errorMsg
}

// Error implements error.
func (e *Error) Error() string { return e.Message }

// Permanentf returns a permanent *Error.
func Permanentf(format string, args ...any) error {
	return &Error{Permanent: true, Message: fmt.Sprintf(format, args...)}
}

// IsPermanent reports whether err is a permanent driver error.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// Snapshotter is implemented by drivers that keep disk snapshots of machines. Snapshot ids
// are chosen by the caller (the engine records them in the store) and are unique per machine.
// Every method is idempotent.
type Snapshotter interface {
	// Snapshot records the machine's disk as it is now under id.
	Snapshot(ctx context.Context, m core.Machine, id string) error
	// Revert returns the machine's disk to snapshot id; the machine is powered off.
	Revert(ctx context.Context, m core.Machine, id string) error
	// DeleteSnapshot forgets snapshot id; deleting an unknown id is not an error.
	DeleteSnapshot(ctx context.Context, m core.Machine, id string) error
}

// Watcher is implemented by drivers whose machines can stop on their own (a real VM that
// crashes or powers itself off). The engine asks it about running machines from time to time
// and records a machine whose VM is gone as off.
type Watcher interface {
	// Lost reports whether the VM of m, which Hangar shows running, is gone; the driver
	// releases what the VM held (its NIC) before saying so.
	Lost(ctx context.Context, m core.Machine) bool
}
