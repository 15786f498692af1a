package service

import (
	"sync"

	"hangar/internal/core"
)

// machineCacheMax bounds the entries; a full cache is emptied rather than grown.
const machineCacheMax = 20_000

// machineCache keeps the latest read of each machine shown (GET getMachinePublic, which
// clients poll: node waitfor every 5 s, terraform while it waits for ready) tagged with the
// store generation it was read at. Any committed write makes every entry stale.
type machineCache struct {
	mu sync.Mutex
	m  map[string]machineEntry
}

type machineEntry struct {
	gen uint64
	d   MachineDetail
}

func (c *machineCache) get(id string, gen uint64) (MachineDetail, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || e.gen != gen {
		return MachineDetail{}, false
	}
	return e.d, true
}

func (c *machineCache) put(id string, gen uint64, d MachineDetail) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= machineCacheMax {
		c.m = map[string]machineEntry{}
	}
	c.m[id] = machineEntry{gen: gen, d: d}
}

// cachedVisible reports whether p may see m without asking the store: its team admin or its
// owner. Accessors go through the store, which knows the grants.
func cachedVisible(p core.Principal, m core.Machine) bool {
	return m.TeamID == p.Team.ID && (p.User.IsAdmin() || m.UserID == p.User.ID)
}
