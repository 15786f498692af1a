package lifecycle

import (
	"crypto/rand"
	"encoding/binary"
	"net/netip"
	"slices"

	"hangar/internal/core"
	"hangar/internal/store"
)

// randomTries is how many random addresses are tried before scanning for a free one.
const randomTries = 16

// hostRange returns the first and last assignable address of p as integers: the network
// address, the first address (gateway) and the broadcast address are never assigned.
func hostRange(p netip.Prefix) (lo, hi uint32, ok bool) {
	p = p.Masked()
	if !p.Addr().Is4() || p.Bits() > 29 {
		return 0, 0, false
	}
	base := binary.BigEndian.Uint32(p.Addr().AsSlice())
	size := uint32(1) << (32 - p.Bits())
	return base + 2, base + size - 2, true
}

func u32addr(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

func randIn(lo, hi uint32) uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return lo + binary.BigEndian.Uint32(b[:])%(hi-lo+1)
}

// pickFree finds a free address between lo and hi: random tries first (cheap while the range
// is sparse), then a scan of the taken set. take reports a Conflict when the address is taken.
func pickFree(lo, hi uint32, take func(netip.Addr) error, taken func() ([]string, error)) (netip.Addr, error) {
	for range randomTries {
		a := u32addr(randIn(lo, hi))
		err := take(a)
		if err == nil {
			return a, nil
		}
		if core.ErrorCode(err) != core.Conflict {
			return netip.Addr{}, err
		}
	}
	list, err := taken()
	if err != nil {
		return netip.Addr{}, err
	}
	used := make(map[string]bool, len(list))
	for _, s := range list {
		used[s] = true
	}
	for v := lo; v <= hi && v >= lo; v++ {
		a := u32addr(v)
		if used[a.String()] {
			continue
		}
		if err := take(a); err == nil {
			return a, nil
		} else if core.ErrorCode(err) != core.Conflict {
			return netip.Addr{}, err
		}
	}
	return netip.Addr{}, core.Errorf(core.Unavailable, "no free address left in %s", u32addr(lo-2).String())
}

// AllocatePrivateIP gives m an address of its network (or of the region's default range).
func (e *Env) AllocatePrivateIP(tx store.Tx, m *core.Machine, network *core.Network) error {
	scope, prefix := "default:"+m.Region, e.DefaultNet
	if network != nil {
		p, err := netip.ParsePrefix(network.CIDR)
		if err != nil {
			return core.Wrap(core.Internal, err, "network has an invalid CIDR")
		}
		scope, prefix = network.ID, p
	}
	lo, hi, ok := hostRange(prefix)
	if !ok {
		return core.Errorf(core.Internal, "private range %s cannot hold machines", prefix)
	}
	a, err := pickFree(lo, hi,
		func(a netip.Addr) error { return tx.InsertPrivateIP(scope, a.String(), m.ID) },
		func() ([]string, error) { return tx.ListPrivateIPs(scope) })
	if err != nil {
		if core.ErrorCode(err) == core.Unavailable {
			return core.Errorf(core.Invalid, "network %s has no free private IP address", prefix)
		}
		return err
	}
	s := a.String()
	m.PrivateIP = &s
	return nil
}

// AllocatePublicIP attaches a public address to m. A static address reuses one the team
// still holds from a destroyed machine before taking a new one from the pool; a new one
// must fit the team's publicIps quota (core.QuotaExceeded otherwise).
func (e *Env) AllocatePublicIP(tx store.Tx, m *core.Machine, dynamic bool) error {
	if m.PublicIP != nil {
		return nil
	}
	if !dynamic {
		held, err := tx.ListPublicIPs(m.TeamID)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(held, func(ip core.PublicIP) bool { return ip.MachineID == nil && !ip.Dynamic }); i >= 0 {
			ip := held[i]
			ip.MachineID = &m.ID
			if err := tx.UpdatePublicIP(&ip); err != nil {
				return err
			}
			m.PublicIP = &ip.Address
			return nil
		}
	}
	// A new address from the pool: the team's publicIps quota decides.
	if err := e.CheckQuota(tx, m.TeamID, core.QuotaPublicIPs); err != nil {
		return err
	}
	lo, hi, ok := hostRange(e.PublicPool)
	if !ok {
		return core.Errorf(core.Internal, "public pool %s cannot hold addresses", e.PublicPool)
	}
	team, id := m.TeamID, m.ID
	a, err := pickFree(lo, hi,
		func(a netip.Addr) error {
			return tx.InsertPublicIP(&core.PublicIP{Address: a.String(), TeamID: &team, MachineID: &id, Dynamic: dynamic})
		},
		func() ([]string, error) {
			all, err := tx.ListPublicIPs("")
			out := make([]string, len(all))
			for i, ip := range all {
				out[i] = ip.Address
			}
			return out, err
		})
	if err != nil {
		if core.ErrorCode(err) == core.Unavailable {
			return core.Errorf(core.Unavailable, "no public IP address is available at this time")
		}
		return err
	}
	s := a.String()
	m.PublicIP = &s
	return nil
}

// ReleasePublicIP detaches m's public address. Dynamic addresses and released static ones go
// back to the pool; a kept static address stays reserved to the team.
func (e *Env) ReleasePublicIP(tx store.Tx, m *core.Machine, keepStatic bool) error {
	if m.PublicIP == nil {
		return nil
	}
	addr := *m.PublicIP
	m.PublicIP = nil
	ip, err := tx.GetPublicIP(addr)
	if core.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ip.Dynamic || !keepStatic {
		return tx.DeletePublicIP(addr)
	}
	ip.MachineID = nil
	return tx.UpdatePublicIP(&ip)
}
