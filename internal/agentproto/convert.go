package agentproto

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"hangar/api"
	"hangar/internal/core"
	"hangar/internal/hypervisor"
)

// OpID derives an operation's id from the work it does: the machine, the kind, and the
// state and the time the machine entered it (advance), or the snapshot id. Every engine step
// that needs the same work derives the same id, so the control plane stores one operation
// and the agent, which records the ids it ran, runs it once.
func OpID(kind string, m core.Machine, snapshotID string) string {
	key := kind + "\x00" + m.ID + "\x00" + snapshotID
	if kind == core.OpAdvance || kind == core.OpRevert {
		key += "\x00" + string(m.State) + "\x00" + strconv.FormatInt(m.PhaseSince.UnixMilli(), 10)
	}
	sum := sha256.Sum256([]byte(key))
	return "op" + hex.EncodeToString(sum[:12])
}

// Encode returns the wire form of an operation on req (Machine and, for advance, the rest).
func Encode(id, kind string, req hypervisor.Request, snapshotID string) api.AgentOp {
	m, t := req.Machine, req.Template
	op := api.AgentOp{ID: id, Kind: kind, Attempt: req.Attempt, Since: fmtTime(req.Since), SnapshotID: snapshotID,
		UserEmail: req.UserEmail, SSHKeys: req.SSHKeys,
		Machine: api.AgentMachine{ID: m.ID, Name: m.Name, State: string(m.State), MachineType: m.MachineType,
			Region: m.Region, TemplateID: m.TemplateID, SizeGB: m.SizeGB, CPUs: m.CPUs, RAM: m.RAM, GPU: m.GPU,
			AgentType: m.AgentType, NetworkID: m.NetworkID, PrivateIP: m.PrivateIP, PublicIP: m.PublicIP, Booted: m.Booted},
		Template: api.AgentTemplate{ID: t.ID, Name: t.Name, OS: t.OS, OSFamily: t.OSFamily, AgentType: t.AgentType,
			Image: t.Image, Kernel: t.Kernel, Initrd: t.Initrd}}
	if s := req.Script; s != nil {
		op.Script = &api.AgentScript{ID: s.ID, Text: s.Text, RunOnce: s.RunOnce}
	}
	if n := req.Network; n != nil {
		op.Network = &api.AgentNetwork{ID: n.ID, CIDR: n.CIDR, VLAN: n.VLAN}
	}
	return op
}

// Decode is the agent's side of Encode: the request for the local driver, as of now.
func Decode(op api.AgentOp, now time.Time) hypervisor.Request {
	w, t := op.Machine, op.Template
	since, _ := time.Parse(time.RFC3339Nano, op.Since)
	req := hypervisor.Request{Attempt: op.Attempt, Since: since, Now: now, UserEmail: op.UserEmail, SSHKeys: op.SSHKeys,
		Machine: core.Machine{ID: w.ID, Name: w.Name, State: core.State(w.State), MachineType: w.MachineType,
			Region: w.Region, TemplateID: w.TemplateID, SizeGB: w.SizeGB, CPUs: w.CPUs, RAM: w.RAM, GPU: w.GPU,
			AgentType: w.AgentType, NetworkID: w.NetworkID, PrivateIP: w.PrivateIP, PublicIP: w.PublicIP,
			Booted: w.Booted, PhaseSince: since},
		Template: core.Template{ID: t.ID, Name: t.Name, OS: t.OS, OSFamily: t.OSFamily, AgentType: t.AgentType,
			Image: t.Image, Kernel: t.Kernel, Initrd: t.Initrd}}
	if s := op.Script; s != nil {
		req.Script = &core.Script{ID: s.ID, Text: s.Text, RunOnce: s.RunOnce, Enabled: true}
	}
	if n := op.Network; n != nil {
		req.Network = &core.Network{ID: n.ID, CIDR: n.CIDR, VLAN: n.VLAN}
	}
	return req
}

// EncodeResult is the wire form of a driver's outcome.
func EncodeResult(opID string, res hypervisor.Result, err error) api.AgentResult {
	out := api.AgentResult{OpID: opID, Done: err == nil}
	if err != nil {
		out.Error, out.Permanent = err.Error(), hypervisor.IsPermanent(err)
		return out
	}
	f := res.Facts
	out.Facts = &api.AgentFacts{OS: f.OS, CPUs: f.CPUs, RAM: f.RAM, GPU: f.GPU, StorageTotal: f.StorageTotal,
		StorageUsed: f.StorageUsed}
	if f.ScriptRan != nil {
		s := fmtTime(*f.ScriptRan)
		out.Facts.ScriptRan = &s
	}
	return out
}

// DecodeResult is the control plane's side of EncodeResult: the driver's answer, or its
// error (a *hypervisor.Error, permanent or not).
func DecodeResult(r api.AgentResult) (hypervisor.Result, error) {
	if !r.Done {
		return hypervisor.Result{}, &hypervisor.Error{Permanent: r.Permanent, Message: r.Error}
	}
	res := hypervisor.Result{Done: true}
	if f := r.Facts; f != nil {
		res.Facts = hypervisor.Facts{OS: f.OS, CPUs: f.CPUs, RAM: f.RAM, GPU: f.GPU, StorageTotal: f.StorageTotal,
			StorageUsed: f.StorageUsed}
		if f.ScriptRan != nil {
			if t, err := time.Parse(time.RFC3339Nano, *f.ScriptRan); err == nil {
				res.Facts.ScriptRan = &t
			}
		}
	}
	return res, nil
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
