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

// Mapping is a 1:1 NAT between a public and a private address.
type Mapping struct {
	Public, Private netip.Addr
}

// MapPublic makes the machine at private reachable from the outside namespace at public
// (DNAT inbound, SNAT for connections the machine opens) and routes public through the
// uplink in the outside namespace. Idempotent for the same pair; public or private already
// in another mapping is a Conflict; private outside every network is Invalid; a fabric
// without an outside namespace answers Unavailable.
func (f *Fabric) MapPublic(ctx context.Context, public, private netip.Addr) error {
	if f.outside == "" {
		return core.Errorf(core.Unavailable, "vnet: no outside namespace configured for public IPs")
	}
	if !public.Is4() || !private.Is4() {
		return core.Errorf(core.Invalid, "vnet: public %s and private %s must be IPv4 addresses", public, private)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.checkPrivate(ctx, private); err != nil {
		return err
	}
	ms, err := f.mappings(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m == (Mapping{public, private}) {
			return f.routePublic(ctx, public)
		}
		if m.Public == public || m.Private == private {
			return core.Errorf(core.Conflict, "vnet: %s or %s is already mapped (%s -> %s)", public, private, m.Public, m.Private)
		}
	}
	script := elements("add", "pub2priv", fmt.Sprintf("%s : %s", public, private)) +
		elements("add", "priv2pub", fmt.Sprintf("%s : %s", private, public)) +
		elements("add", "mapped", private.String())
	if err := nft(ctx, f.ns, script); err != nil {
		return err
	}
	return f.routePublic(ctx, public)
}

// checkPrivate makes sure private belongs to one of the fabric's networks.
func (f *Fabric) checkPrivate(ctx context.Context, private netip.Addr) error {
	nets, err := f.networks(ctx)
	if err != nil {
		return err
	}
	for _, n := range nets {
		if n.CIDR.Contains(private) {
			return nil
		}
	}
	return core.Errorf(core.Invalid, "vnet: %s is in none of the fabric's networks", private)
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
		if err := nft(ctx, f.ns, elements("delete", "pub2priv", public.String())+
			elements("delete", "priv2pub", m.Private.String())+
			elements("delete", "mapped", m.Private.String())); err != nil {
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
	out, err := run(ctx, "", "ip", "netns", "exec", f.ns, "nft", "-j", "list", "map", "ip", table, "pub2priv")
	if err != nil {
		return nil, err
	}
	var doc struct {
		Nftables []struct {
			Map *struct {
				Elem [][2]string `json:"elem"`
			} `json:"map"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("vnet: parse nft map: %w", err)
	}
	var ms []Mapping
	for _, o := range doc.Nftables {
		if o.Map == nil {
			continue
		}
		for _, e := range o.Map.Elem {
			pub, err1 := netip.ParseAddr(e[0])
			priv, err2 := netip.ParseAddr(e[1])
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("vnet: unexpected nft map element %q", e)
			}
			ms = append(ms, Mapping{pub, priv})
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Public.Less(ms[j].Public) })
	return ms, nil
}
