package service

import (
	"context"
	"os"
	"strings"

	"hangar/internal/core"
	"hangar/internal/store"
)

// HostSpec describes a host to create or the fields of one to change (nil: unchanged).
type HostSpec struct {
	Name      *string
	Region    *string
	Capacity  map[string]int
	Available *bool
}

func (s *Service) validateCapacity(c map[string]int) error {
	for t, n := range c {
		if _, ok := s.cfg.Catalog.Type(t); !ok {
			return invalid("unknown machine type %q in capacity", t)
		}
		if n < 0 {
			return invalid("capacity of %s cannot be negative", t)
		}
	}
	return nil
}

// ListHosts lists hosts with their usage (operator only).
func (s *Service) ListHosts(ctx context.Context, p core.Principal, region string) ([]core.HostLoad, error) {
	if err := requireOperator(p); err != nil {
		return nil, err
	}
	if region != "" {
		r, ok := s.cfg.Catalog.Region(region)
		if !ok {
			return nil, invalid("Invalid region %q", region)
		}
		region = r.Name
	}
	var out []core.HostLoad
	return out, s.read(ctx, func(tx store.Tx) (err error) { out, err = tx.ListHosts(region); return })
}

// CreateHost adds a host (operator only).
func (s *Service) CreateHost(ctx context.Context, p core.Principal, h HostSpec) (core.HostLoad, error) {
	if err := requireOperator(p); err != nil {
		return core.HostLoad{}, err
	}
	if h.Name == nil || strings.TrimSpace(*h.Name) == "" || h.Region == nil {
		return core.HostLoad{}, invalid("name and region are required")
	}
	if err := core.CheckName("name", *h.Name); err != nil {
		return core.HostLoad{}, err
	}
	r, ok := s.cfg.Catalog.Region(*h.Region)
	if !ok {
		return core.HostLoad{}, invalid("Invalid region %q", *h.Region)
	}
	if err := s.validateCapacity(h.Capacity); err != nil {
		return core.HostLoad{}, err
	}
	host := core.Host{ID: core.NewID(core.PrefixHost, 7), Name: strings.TrimSpace(*h.Name), Region: r.Name,
		Capacity: h.Capacity, Available: h.Available == nil || *h.Available, Created: s.clock.Now()}
	if host.Capacity == nil {
		host.Capacity = map[string]int{}
	}
	var out core.HostLoad
	auditTarget(ctx, host.ID)
	err := s.write(ctx, func(tx store.Tx) error {
		if err := tx.CreateHost(&host); err != nil {
			if core.ErrorCode(err) == core.Conflict {
				return invalid("a host named %s already exists", host.Name)
			}
			return err
		}
		var err error
		out, err = tx.GetHost(host.ID)
		return err
	})
	return out, err
}

// UpdateHost changes a host (operator only). Lowering capacity below usage is allowed: running
// machines stay, new placements wait for room.
func (s *Service) UpdateHost(ctx context.Context, p core.Principal, id string, h HostSpec) (core.HostLoad, error) {
	if err := requireOperator(p); err != nil {
		return core.HostLoad{}, err
	}
	if err := s.validateCapacity(h.Capacity); err != nil {
		return core.HostLoad{}, err
	}
	var out core.HostLoad
	err := s.write(ctx, func(tx store.Tx) error {
		cur, err := resolveHost(tx, id)
		if err != nil {
			return err
		}
		host := cur.Host
		if h.Name != nil {
			if err := core.CheckName("name", *h.Name); err != nil {
				return err
			}
			host.Name = strings.TrimSpace(*h.Name)
		}
		if h.Region != nil && *h.Region != host.Region {
			return invalid("a host cannot change region")
		}
		if h.Capacity != nil {
			host.Capacity = h.Capacity
		}
		if h.Available != nil {
			host.Available = *h.Available
		}
		if err := tx.UpdateHost(&host); err != nil {
			if core.ErrorCode(err) == core.Conflict {
				return invalid("a host named %s already exists", host.Name)
			}
			return err
		}
		out, err = tx.GetHost(host.ID)
		return err
	})
	return out, err
}

// DeleteHost removes a host (by id or name) that holds no machines (operator only); the
// credential of its agent goes with it.
func (s *Service) DeleteHost(ctx context.Context, p core.Principal, id string) error {
	if err := requireOperator(p); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		h, err := resolveHost(tx, id)
		if err != nil {
			return err
		}
		err = tx.DeleteHost(h.ID)
		if core.ErrorCode(err) == core.Conflict {
			return invalid("host %s still runs machines", id)
		}
		return err
	})
}

// EnsureHost makes sure the host called name exists in region: it creates it with capacity
// when it is missing, and otherwise sets only the machine types of pinned (e.g. GPU types
// counted from the host's inventory), leaving the rest to the operator. It is used at start
// by drivers that run machines on this host.
func (s *Service) EnsureHost(ctx context.Context, name, region string, capacity, pinned map[string]int) (core.HostLoad, error) {
	if err := s.validateCapacity(capacity); err != nil {
		return core.HostLoad{}, err
	}
	if err := s.validateCapacity(pinned); err != nil {
		return core.HostLoad{}, err
	}
	r, ok := s.cfg.Catalog.Region(region)
	if !ok {
		return core.HostLoad{}, invalid("Invalid region %q", region)
	}
	var out core.HostLoad
	err := s.write(ctx, func(tx store.Tx) error {
		hs, err := tx.ListHosts("")
		if err != nil {
			return err
		}
		for _, h := range hs {
			if h.Name != name {
				continue
			}
			if h.Capacity == nil {
				h.Capacity = map[string]int{}
			}
			for t, n := range pinned {
				h.Capacity[t] = n
			}
			if err := tx.UpdateHost(&h.Host); err != nil {
				return err
			}
			out, err = tx.GetHost(h.ID)
			return err
		}
		h := core.Host{ID: core.NewID(core.PrefixHost, 7), Name: name, Region: r.Name, Available: true,
			Capacity: map[string]int{}, Created: s.clock.Now()}
		for t, n := range capacity {
			h.Capacity[t] = n
		}
		for t, n := range pinned {
			h.Capacity[t] = n
		}
		if err := tx.CreateHost(&h); err != nil {
			return err
		}
		out, err = tx.GetHost(h.ID)
		return err
	})
	return out, err
}

// LocalHost is the inventory of the host this process runs real machines on (the qemu
// driver), as RegisterLocalHost registers it for placement.
type LocalHost struct {
	// Name is the host's name in the host listing; "" is the system host name (qemu-local
	// when it has none).
	Name   string
	Region string
	// Slots is the capacity of every CPU machine type when the host is first registered;
	// the operator changes it later.
	Slots int
	// GPUs are the PCI addresses of the GPUs passed through, by the catalog's GPU model.
	GPUs map[string][]string
}

// HostName is the name the host is registered under.
func (h LocalHost) HostName() string {
	if h.Name != "" {
		return h.Name
	}
	n, err := os.Hostname()
	if err != nil || n == "" {
		return "qemu-local"
	}
	return n
}

// RegisterLocalHost registers the local host for placement (EnsureHost): every CPU machine
// type gets h.Slots slots when the host is first registered; GPU machine types get exactly as
// many slots as h has GPUs of their model, on every start.
func (s *Service) RegisterLocalHost(ctx context.Context, h LocalHost) (core.HostLoad, error) {
	capacity, pinned := map[string]int{}, map[string]int{}
	for name, t := range s.cfg.Catalog.Types {
		switch {
		case t.Class == "cpu":
			capacity[name] = h.Slots
		case t.Class == "gpu" && t.GPU != nil:
			pinned[name] = len(h.GPUs[*t.GPU])
		}
	}
	return s.EnsureHost(ctx, h.HostName(), h.Region, capacity, pinned)
}
