package httpapi

import (
	"net/netip"
	"strconv"

	"hangar/api"
	"hangar/internal/core"
)

func digits(v *int64) *string {
	if v == nil {
		return nil
	}
	s := strconv.FormatInt(*v, 10)
	return &s
}

func toMachine(m core.Machine) api.Machine {
	return api.Machine{ID: m.ID, Name: m.Name, OS: m.OS, RAM: digits(m.RAM), CPUs: m.CPUs, GPU: m.GPU,
		StorageTotal: digits(m.StorageTotal), StorageUsed: digits(m.StorageUsed), MachineType: m.MachineType,
		UsageRate: m.MachineType + " " + m.BillingType, ShutdownTimeoutInHours: m.ShutdownTimeoutInHours,
		ShutdownTimeoutForces: m.ShutdownTimeoutForces, PerformAutoSnapshot: m.PerformAutoSnapshot,
		AutoSnapshotFrequency: m.AutoSnapshotFrequency, AutoSnapshotSaveCount: m.AutoSnapshotSaveCount,
		DynamicPublicIP: m.DynamicPublicIP, AgentType: m.AgentType, DtCreated: fmtTime(m.Created),
		State: string(m.State), UpdatesPending: m.UpdatesPending, NetworkID: m.NetworkID,
		PrivateIPAddress: m.PrivateIP, PublicIPAddress: m.PublicIP, Region: m.Region, UserID: m.UserID,
		TeamID: m.TeamID, ScriptID: m.ScriptID, DtLastRun: fmtTimePtr(m.LastRun),
		RestorePointSnapshotID: m.RestorePointSnapshotID, RestorePointFrequency: m.RestorePointFrequency,
		IsManaged: m.IsManaged, InternalID: m.InternalID}
}

func toMachines(ms []core.Machine) []api.Machine {
	out := make([]api.Machine, len(ms))
	for i, m := range ms {
		out[i] = toMachine(m)
	}
	return out
}

func toEvent(e core.Event) api.Event {
	return api.Event{Name: e.Name, State: string(e.State), ErrorMsg: e.ErrorMsg, Handle: e.Handle,
		DtModified: fmtTime(e.Modified), DtFinished: fmtTimePtr(e.Finished), DtCreated: fmtTime(e.Created)}
}

func toMachineWithEvents(m core.Machine, events []core.Event) api.MachineWithEvents {
	out := api.MachineWithEvents{Machine: toMachine(m), Events: make([]api.Event, len(events))}
	for i, e := range events {
		out.Events[i] = toEvent(e)
	}
	return out
}

func toUser(u core.User) api.PaperspaceUser {
	return api.PaperspaceUser{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		DtCreated: fmtTime(u.Created), TeamID: u.TeamID}
}

// toTemplate renders public templates without teamId/userId/region and team templates with
// all three (spec §4.4).
func toTemplate(t core.Template) any {
	if t.Public() {
		return api.PaperspaceTemplate{ID: t.ID, Name: t.Name, Label: t.Label, OS: t.OS, DtCreated: fmtTime(t.Created)}
	}
	return api.PaperspaceTeamTemplate{ID: t.ID, Name: t.Name, Label: t.Label, OS: t.OS, TeamID: *t.TeamID,
		UserID: t.UserID, Region: t.Region, DtCreated: fmtTime(t.Created)}
}

// networkAddr splits a CIDR into the dotted network address and netmask.
func networkAddr(cidr string) (string, string) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return "", ""
	}
	mask := uint32(0xffffffff) << (32 - p.Bits())
	m := netip.AddrFrom4([4]byte{byte(mask >> 24), byte(mask >> 16), byte(mask >> 8), byte(mask)})
	return p.Masked().Addr().String(), m.String()
}

func toNetwork(n core.Network) api.PaperspaceNetwork {
	addr, mask := networkAddr(n.CIDR)
	return api.PaperspaceNetwork{ID: n.ID, Name: n.Name, Region: n.Region, DtCreated: fmtTime(n.Created),
		Network: addr, Netmask: mask, TeamID: n.TeamID}
}

func toScript(s core.Script) api.Script {
	return api.Script{ID: s.ID, OwnerType: s.OwnerType, OwnerID: s.OwnerID, Name: s.Name,
		Description: s.Description, DtCreated: fmtTime(s.Created), IsEnabled: s.Enabled, RunOnce: s.RunOnce}
}

func toTeamNetwork(n core.Network) api.TeamNetwork {
	addr, mask := networkAddr(n.CIDR)
	// isTaken: allocated to a team, which every network is (spec §6 #38).
	return api.TeamNetwork{ID: n.Num, Handle: n.ID, IsTaken: true, Network: addr, Netmask: mask, VLANID: n.VLAN}
}

func toNamedTeamNetwork(n core.Network) api.NamedTeamNetwork {
	return api.NamedTeamNetwork{Name: n.Name, Network: toTeamNetwork(n)}
}

func toGoNetwork(n core.Network) api.GoNetwork {
	addr, mask := networkAddr(n.CIDR)
	return api.GoNetwork{ID: strconv.FormatInt(n.Num, 10), Name: n.Name, Network: addr, Netmask: mask,
		TeamID: n.TeamID, IsManaged: n.Managed, DtCreated: fmtTime(n.Created)}
}
