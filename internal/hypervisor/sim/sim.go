// Package sim is the simulated hypervisor: machines go through Paperspace's states with
// realistic timings (spec §3.4, scaled) and no real work. Faults can be injected for tests.
//
// Each machine has a simulated disk whose content is a token (the template it was made from,
// or whatever a test wrote with WriteDisk); snapshots copy the token and Revert restores it.
// Disks live in memory, like faults: they are a test tool and are gone after a restart.
package sim

import (
	"context"
	"slices"
	"sync"
	"time"

	"hangar/internal/core"
	"hangar/internal/hypervisor"
)

// Timings are the durations of the transitional states.
type Timings struct {
	Provisioning time.Duration
	Starting     time.Duration
	ServiceReady time.Duration
	Stopping     time.Duration
	Restarting   time.Duration
}

// DefaultTimings are spec §3.4's recommended durations.
func DefaultTimings() Timings {
	return Timings{Provisioning: 40 * time.Second, Starting: 25 * time.Second,
		ServiceReady: 6 * time.Second, Stopping: 30 * time.Second, Restarting: 40 * time.Second}
}

// Scaled returns t with every duration multiplied by scale, keeping ServiceReady at least
// minServiceReady so that clients polling every 5 s can observe it.
func (t Timings) Scaled(scale float64, minServiceReady time.Duration) Timings {
	s := func(d time.Duration) time.Duration { return time.Duration(float64(d) * scale) }
	out := Timings{Provisioning: s(t.Provisioning), Starting: s(t.Starting),
		ServiceReady: s(t.ServiceReady), Stopping: s(t.Stopping), Restarting: s(t.Restarting)}
	out.ServiceReady = max(out.ServiceReady, minServiceReady)
	return out
}

// Fault makes the next Remaining operations of an action fail.
type Fault struct {
	Action    string // "create", "start", "stop" or "restart"
	Remaining int
	Message   string
}

// Driver is the simulated hypervisor.
type Driver struct {
	timings Timings
	catalog *core.Catalog

	mu     sync.Mutex
	faults map[string]*Fault
	disks  map[string]*disk // by machine id
}

// disk is a simulated machine disk: its content is a token that changes on every write, and
// a snapshot keeps a copy of the token.
type disk struct {
	content   string
	snapshots map[string]string // snapshot id -> content
}

var (
	_ hypervisor.Driver      = (*Driver)(nil)
	_ hypervisor.Snapshotter = (*Driver)(nil)
)

// New returns a sim driver.
func New(t Timings, c *core.Catalog) *Driver {
	return &Driver{timings: t, catalog: c, faults: map[string]*Fault{}, disks: map[string]*disk{}}
}

// Name implements hypervisor.Driver.
func (d *Driver) Name() string { return "sim" }

// Expect implements hypervisor.Driver.
func (d *Driver) Expect(s core.State) time.Duration {
	switch s {
	case core.StateProvisioning:
		return d.timings.Provisioning
	case core.StateStarting:
		return d.timings.Starting
	case core.StateServiceReady:
		return d.timings.ServiceReady
	case core.StateStopping:
		return d.timings.Stopping
	case core.StateRestarting:
		return d.timings.Restarting
	}
	return 0
}

// MaxFaultCount is the most operations one fault may fail.
const MaxFaultCount = 1_000_000

// Validate checks a fault asked for from outside (the operator API): a known action and
// between 1 and MaxFaultCount operations. The errors are core.Invalid.
func (f Fault) Validate() error {
	switch f.Action {
	case "create", "start", "stop", "restart":
	default:
		return core.Errorf(core.Invalid, "action must be create, start, stop or restart")
	}
	if f.Remaining < 1 || f.Remaining > MaxFaultCount {
		return core.Errorf(core.Invalid, "count must be between 1 and %d", MaxFaultCount)
	}
	return nil
}

// Arm validates f and arms it (InjectFault), returning the fault as armed.
func (d *Driver) Arm(f Fault) (Fault, error) {
	if err := f.Validate(); err != nil {
		return Fault{}, err
	}
	return d.InjectFault(f), nil
}

// InjectFault arms a fault; a later call for the same action replaces it. The faults live in
// memory only: they are a test tool and are gone after a restart.
func (d *Driver) InjectFault(f Fault) Fault {
	if f.Message == "" {
		f.Message = defaultFaultMessage(f.Action)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults[f.Action] = &f
	return f
}

// Faults lists the armed faults.
func (d *Driver) Faults() []Fault {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := []Fault{}
	for _, a := range []string{"create", "start", "stop", "restart"} {
		if f, ok := d.faults[a]; ok && f.Remaining > 0 {
			out = append(out, *f)
		}
	}
	return out
}

func defaultFaultMessage(action string) string {
	switch action {
	case "start", "restart":
		return "There are not enough resources available to start your machine at this time. Please try again later."
	case "create":
		return "Machine provisioning failed: out of capacity. Please try again later."
	}
	return "Operation failed (injected fault)."
}

func (d *Driver) takeFault(action string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, ok := d.faults[action]
	if !ok || f.Remaining <= 0 {
		return "", false
	}
	f.Remaining--
	return f.Message, true
}

// actionOf names the user action a state belongs to, for fault injection.
func actionOf(m core.Machine) string {
	switch m.State {
	case core.StateProvisioning:
		return "create"
	case core.StateStarting:
		return "start"
	case core.StateStopping:
		return "stop"
	case core.StateRestarting:
		return "restart"
	}
	return ""
}

// Advance implements hypervisor.Driver: a state is complete once its duration has passed.
func (d *Driver) Advance(_ context.Context, req hypervisor.Request) (hypervisor.Result, error) {
	if req.Attempt == 0 {
		if msg, ok := d.takeFault(actionOf(req.Machine)); ok {
			return hypervisor.Result{}, &hypervisor.Error{Permanent: true, Message: msg}
		}
	}
	left := req.Since.Add(d.Expect(req.Machine.State)).Sub(req.Now)
	if left > 0 {
		return hypervisor.Result{RetryAfter: left}, nil
	}
	res := hypervisor.Result{Done: true}
	switch req.Machine.State {
	case core.StateProvisioning:
		res.Facts = d.facts(req.Machine, req.Template)
		d.provision(req.Machine)
	case core.StateServiceReady:
		// The guest finished booting: a startup script handed to this boot has run.
		if req.Script != nil {
			ran := req.Now
			res.Facts.ScriptRan = &ran
		}
	}
	return res, nil
}

// provision creates a machine's disk from its template, once.
func (d *Driver) provision(m core.Machine) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.diskOf(m)
}

// diskOf returns m's disk, creating it from m's template if this process has not seen the
// machine yet (it was provisioned before a restart). d.mu must be held.
func (d *Driver) diskOf(m core.Machine) *disk {
	dk, ok := d.disks[m.ID]
	if !ok {
		dk = &disk{content: "template:" + m.TemplateID, snapshots: map[string]string{}}
		d.disks[m.ID] = dk
	}
	return dk
}

// WriteDisk simulates the guest writing data to a machine's disk: afterwards its content is
// data. It is a test tool; NotFound for a machine without a disk.
func (d *Driver) WriteDisk(machineID, data string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	dk, ok := d.disks[machineID]
	if !ok {
		return core.Errorf(core.NotFound, "sim: machine %s has no disk", machineID)
	}
	dk.content = data
	return nil
}

// Disk returns the content of a machine's simulated disk; false if it has none.
func (d *Driver) Disk(machineID string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dk, ok := d.disks[machineID]
	if !ok {
		return "", false
	}
	return dk.content, true
}

// SnapshotIDs returns the ids of a machine's snapshots, sorted.
func (d *Driver) SnapshotIDs(machineID string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	ids := []string{}
	if dk, ok := d.disks[machineID]; ok {
		for id := range dk.snapshots {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// Snapshot implements hypervisor.Snapshotter: it copies the disk's content under id. Taking
// the same id again keeps the first copy, so that a retried step does not move a snapshot.
func (d *Driver) Snapshot(_ context.Context, m core.Machine, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	dk := d.diskOf(m)
	if _, ok := dk.snapshots[id]; !ok {
		dk.snapshots[id] = dk.content
	}
	return nil
}

// Revert implements hypervisor.Snapshotter: the disk's content becomes the snapshot's.
func (d *Driver) Revert(_ context.Context, m core.Machine, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	content, ok := d.diskOf(m).snapshots[id]
	if !ok {
		return hypervisor.Permanentf("sim: machine %s has no snapshot %s", m.ID, id)
	}
	d.disks[m.ID].content = content
	return nil
}

// DeleteSnapshot implements hypervisor.Snapshotter.
func (d *Driver) DeleteSnapshot(_ context.Context, m core.Machine, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dk, ok := d.disks[m.ID]; ok {
		delete(dk.snapshots, id)
	}
	return nil
}

func (d *Driver) facts(m core.Machine, t core.Template) hypervisor.Facts {
	total := int64(m.SizeGB) << 30
	used := int64(110080) // what every Paperspace example shows for a fresh disk
	os := t.OS
	f := hypervisor.Facts{OS: &os, StorageTotal: &total, StorageUsed: &used}
	if mt, ok := d.catalog.Type(m.MachineType); ok {
		if mt.CPUs != nil {
			f.CPUs = *mt.CPUs
		}
		f.RAM, f.GPU = mt.RAM, mt.GPU
	}
	return f
}

// Destroy implements hypervisor.Driver: the machine's disk and its snapshots are dropped.
func (d *Driver) Destroy(_ context.Context, m core.Machine) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.disks, m.ID)
	return nil
}
