package vnet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"hangar/internal/core"
)

// Mapping is a 1:1 NAT between a public address and a machine's private address on a
// network (private networks may overlap, so the network is part of the key).
type Mapping struct {
	Public    netip.Addr
	NetworkID string
	Private   netip.Addr
}

// MapPublic makes the machine at private reachable from the outside namespace at public,
// like MapPublicOn, on the one network whose CIDR contains private. Where networks overlap
// that is ambiguous (Conflict): use MapPublicOn. No network containing private is Invalid.
func (f *Fabric) MapPublic(ctx context.Context, public, private netip.Addr) error {
	f.mu.Lock()
	nets, err := f.networks(ctx)
	f.mu.Unlock()
	if err != nil {
		return err
	}
	var ids []string
	for _, n := range nets {
		if n.CIDR.Contains(private) {
			ids = append(ids, n.ID)
		}
	}
	switch len(ids) {
	case 0:
		return core.Errorf(core.Invalid, "vnet: %s is in none of the fabric's networks", private)
	case 1:
		return f.MapPublicOn(ctx, Mapping{Public: public, NetworkID: ids[0], Private: private})
	}
	return core.Errorf(core.Conflict, "vnet: %s is in several networks (%s); say which", private, strings.Join(ids, ", "))
}

// MapPublicOn makes the machine at m.Private on network m.NetworkID reachable from the
// outside namespace at m.Public (DNAT inbound, SNAT for connections the machine opens) and
// routes m.Public through the uplink in the outside namespace. Idempotent for the same
// mapping; m.Public or the machine already in another mapping is a Conflict; an unknown
// network is NotFound; a private address outside the network is Invalid; a fabric without
// an outside namespace answers Unavailable.
func (f *Fabric) MapPublicOn(ctx context.Context, m Mapping) error {
	if f.outside == "" {
		return core.Errorf(core.Unavailable, "vnet: no outside namespace configured for public IPs")
	}
	if !m.Public.Is4() || !m.Private.Is4() {
		return core.Errorf(core.Invalid, "vnet: public %s and private %s must be IPv4 addresses", m.Public, m.Private)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.network(ctx, m.NetworkID)
	if err != nil {
		return err
	}
	if !n.CIDR.Contains(m.Private) {
		return core.Errorf(core.Invalid, "vnet: %s is not in network %s (%s)", m.Private, n.ID, n.CIDR)
	}
	ms, err := f.mappings(ctx)
	if err != nil {
		return err
	}
	for _, old := range ms {
		if old == m {
			return f.routePublic(ctx, m.Public)
		}
		if old.Public == m.Public || (old.NetworkID == m.NetworkID && old.Private == m.Private) {
			return core.Errorf(core.Conflict, "vnet: %s or %s on %s is already mapped (%s -> %s on %s)",
				m.Public, m.Private, m.NetworkID, old.Public, old.Private, old.NetworkID)
		}
	}
	script := elements("add", "pub2net", fmt.Sprintf("%s : %s", m.Public, n.mark())) +
		elements("add", "pub2priv", fmt.Sprintf("%s : %s", m.Public, m.Private)) +
		elements("add", "priv2pub", fmt.Sprintf("%s . %s : %s", n.mark(), m.Private, m.Public)) +
		elements("add", "mapped", fmt.Sprintf("%s . %s", n.mark(), m.Private))
	if err := nft(ctx, f.ns, script); err != nil {
		return err
	}
	return f.routePublic(ctx, m.Public)
}

// routePublic routes public/32 in the outside namespace through the uplink.
func (f *Fabric) routePublic(ctx context.Context, public netip.Addr) error {
	_, err := ipIn(ctx, f.outside, "route", "replace", public.String()+"/32", "via", f.inAddr.String(), "dev", f.outLink)
	return err
}

// UnmapPublic removes the mapping of public and its outside route. A public address that is
// not mapped is not an error. Connections the mapping let through are cut as well.
func (f *Fabric) UnmapPublic(ctx context.Context, public netip.Addr) error {
	if f.outside == "" {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ms, err := f.mappings(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Public != public {
			continue
		}
		n, err := f.network(ctx, m.NetworkID)
		if err != nil {
			return err
		}
		if err := nft(ctx, f.ns, elements("delete", "pub2net", public.String())+
			elements("delete", "pub2priv", public.String())+
			elements("delete", "priv2pub", fmt.Sprintf("%s . %s", n.mark(), m.Private))+
			elements("delete", "mapped", fmt.Sprintf("%s . %s", n.mark(), m.Private))); err != nil {
			return err
		}
	}
	// The route goes even without a mapping: a crash may have come between the two steps.
	_, err = ipIn(ctx, f.outside, "route", "del", public.String()+"/32", "dev", f.outLink)
	if err != nil && strings.Contains(err.Error(), "No such process") {
		return nil
	}
	return err
}

// Mappings lists the public IP mappings, ordered by public address.
func (f *Fabric) Mappings(ctx context.Context) ([]Mapping, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mappings(ctx)
}

func (f *Fabric) mappings(ctx context.Context) ([]Mapping, error) {
	privs, err := f.mapElems(ctx, "pub2priv")
	if err != nil {
		return nil, err
	}
	nets, err := f.mapElems(ctx, "pub2net")
	if err != nil {
		return nil, err
	}
	all, err := f.networks(ctx)
	if err != nil {
		return nil, err
	}
	byNum := map[string]string{}
	for _, n := range all {
		byNum[fmt.Sprint(n.num)] = n.ID
	}
	var ms []Mapping
	for pub, priv := range privs {
		m := Mapping{Public: netip.MustParseAddr(pub), NetworkID: byNum[nets[pub]]}
		if m.Private, err = netip.ParseAddr(priv); err != nil {
			return nil, fmt.Errorf("vnet: unexpected private address %q in nft map", priv)
		}
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Public.Less(ms[j].Public) })
	return ms, nil
}

// mapElems returns the elements of an nft map keyed by an address, with values as text.
func (f *Fabric) mapElems(ctx context.Context, name string) (map[string]string, error) {
	out, err := run(ctx, "", "ip", "netns", "exec", f.ns, "nft", "-j", "list", "map", "ip", table, name)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Nftables []struct {
			Map *struct {
				Elem [][2]any `json:"elem"`
			} `json:"map"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("vnet: parse nft map %s: %w", name, err)
	}
	elems := map[string]string{}
	for _, o := range doc.Nftables {
		if o.Map == nil {
			continue
		}
		for _, e := range o.Map.Elem {
			key, ok := e[0].(string)
			if _, err := netip.ParseAddr(key); !ok || err != nil {
				return nil, fmt.Errorf("vnet: unexpected key %v in nft map %s", e[0], name)
			}
			elems[key] = fmt.Sprint(e[1])
		}
	}
	return elems, nil
}
