// Package scheduler places machines on hosts. It is pure: it reads a snapshot of host loads
// and returns a choice; the caller reserves the capacity in the same transaction.
package scheduler

import (
	"cmp"
	"slices"

	"hangar/internal/core"
)

// Pick chooses a host with a free slot of machineType. The preferred host (a machine's current
// host) wins when it has room; otherwise the host with the most free slots, ties broken by
// name, so load spreads across hosts. It fails with core.Unavailable when no host has room.
//
// A machine already on an agent host (its disk is there) stays there: it takes a slot on that
// host even when the host is draining, and fails with core.Unavailable when the host is
// unreachable or full. Only up hosts take new machines.
func Pick(machineType, region, preferred string, hosts []core.HostLoad) (string, error) {
	for i := range hosts {
		if h := &hosts[i]; h.ID == preferred && h.Remote() {
			return home(h, machineType)
		}
	}
	var best *core.HostLoad
	for i := range hosts {
		h := &hosts[i]
		if h.Region != region || h.Free(machineType) <= 0 {
			continue
		}
		if h.ID == preferred {
			return h.ID, nil
		}
		if best == nil || better(h, best, machineType) {
			best = h
		}
	}
	if best == nil {
		return "", core.Errorf(core.Unavailable,
			"There are no %s machines available in %s at this time. Please try again later or choose another region.",
			machineType, region)
	}
	return best.ID, nil
}

// home places a machine back on its agent host h.
func home(h *core.HostLoad, machineType string) (string, error) {
	switch {
	case h.Agent.Unreachable:
		return "", core.Errorf(core.Unavailable, "The machine's host %s is unreachable. Please try again later.", h.Name)
	case h.Capacity[machineType]-h.Used[machineType] <= 0:
		return "", core.Errorf(core.Unavailable, "The machine's host %s has no free %s slot at this time. Please try again later.", h.Name, machineType)
	}
	return h.ID, nil
}

func better(a, b *core.HostLoad, machineType string) bool {
	if c := cmp.Compare(a.Free(machineType), b.Free(machineType)); c != 0 {
		return c > 0
	}
	return a.Name < b.Name
}

// Available reports whether any host of region can take one more machine of machineType.
func Available(machineType, region string, hosts []core.HostLoad) bool {
	return slices.ContainsFunc(hosts, func(h core.HostLoad) bool {
		return h.Region == region && h.Free(machineType) > 0
	})
}
