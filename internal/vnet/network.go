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

// Network is a private network as the fabric sees it.
type Network struct {
	ID      string       // the network id given to EnsureNetwork
	CIDR    netip.Prefix // the network's prefix
	Gateway netip.Addr   // the bridge's address: the first usable address of CIDR
	Bridge  string       // the bridge's name inside the namespace
	num     int          // the bridge's ifindex: packet mark, conntrack zone, routing table
}

// Routing: the bridges' addresses carry no prefix route in the main table (which holds only
// the uplink and the default route through it). Each network's prefix route lives in its
// own table, which packets marked with the network's number (every packet from its bridge,
// and from the uplink towards one of its public addresses) look up first. So networks may
// overlap, and a network's table never leads to another bridge.
const (
	tableBase = 1000 // routing table of network n: tableBase+n
	rulePref  = 1000 // priority of the "fwmark n lookup tableBase+n" rules
)

func (n Network) table() string { return fmt.Sprint(tableBase + n.num) }
func (n Network) mark() string  { return fmt.Sprintf("0x%x", n.num) }

// Gateway returns the gateway address of cidr: its first usable address, the one
// internal/lifecycle never assigns to a machine.
func Gateway(cidr netip.Prefix) netip.Addr { return cidr.Masked().Addr().Next() }

// parseCIDR validates a private network's prefix (IPv4, at most /29, as lifecycle's IPAM).
func parseCIDR(cidr string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || p.Bits() > 29 {
		return netip.Prefix{}, core.Errorf(core.Invalid, "vnet: cidr %q must be an IPv4 prefix of /29 or larger", cidr)
	}
	return p.Masked(), nil
}

// EnsureNetwork creates the bridge of network id with its gateway address when missing.
// It is idempotent for the same cidr. Networks may overlap each other (even be equal); another
// cidr for an existing id, or a cidr that overlaps the uplink, is a Conflict; a bad cidr is
// Invalid.
func (f *Fabric) EnsureNetwork(ctx context.Context, id, cidr string) (Network, error) {
	p, err := parseCIDR(cidr)
	if err != nil {
		return Network{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	nets, err := f.networks(ctx)
	if err != nil {
		return Network{}, err
	}
	want := Network{ID: id, CIDR: p, Gateway: Gateway(p), Bridge: linkName(bridgePrefix, id)}
	for _, n := range nets {
		switch {
		case n.ID == id && n.CIDR == p:
			return n, nil
		case n.ID == id:
			return Network{}, core.Errorf(core.Conflict, "vnet: network %s already exists with cidr %s", id, n.CIDR)
		case n.Bridge == want.Bridge:
			return Network{}, core.Errorf(core.Conflict, "vnet: bridge name %s of network %s is taken by network %s", n.Bridge, id, n.ID)
		}
	}
	if f.outside != "" && f.uplink.Overlaps(p) {
		return Network{}, core.Errorf(core.Conflict, "vnet: cidr %s overlaps the uplink %s", p, f.uplink)
	}
	return f.createBridge(ctx, want)
}

// createBridge adds the bridge (or completes one left half-made by a crash).
func (f *Fabric) createBridge(ctx context.Context, n Network) (Network, error) {
	ls, err := links(ctx, f.ns)
	if err != nil {
		return Network{}, err
	}
	l, ok := findLink(ls, n.Bridge)
	if !ok {
		out, err := ipIn(ctx, f.ns, "link", "add", n.Bridge, "type", "bridge", "stp_state", "0", "forward_delay", "0")
		if err != nil {
			return Network{}, err
		}
		if ls, err = links(ctx, f.ns); err != nil {
			return Network{}, err
		}
		if l, ok = findLink(ls, n.Bridge); !ok {
			return Network{}, fmt.Errorf("vnet: bridge %s vanished after creation: %s", n.Bridge, out)
		}
	}
	if n.num = l.Index; n.num <= 0 || n.num > 0xffff {
		return Network{}, fmt.Errorf("vnet: bridge %s has ifindex %d, outside the conntrack zone range", n.Bridge, n.num)
	}
	gw := fmt.Sprintf("%s/%d", n.Gateway, n.CIDR.Bits())
	steps := [][]string{
		{"addr", "replace", gw, "dev", n.Bridge, "noprefixroute"},
		{"link", "set", n.Bridge, "up"},
		{"route", "replace", n.CIDR.String(), "dev", n.Bridge, "src", n.Gateway.String(), "table", n.table()},
	}
	for _, args := range steps {
		if _, err := ipIn(ctx, f.ns, args...); err != nil {
			return Network{}, err
		}
	}
	if err := f.ensureRule(ctx, n); err != nil {
		return Network{}, err
	}
	script := elements("add", "ifnet", fmt.Sprintf("%q : %s", n.Bridge, n.mark())) +
		elements("add", "netzone", fmt.Sprintf("%s : %d", n.mark(), n.num)) +
		elements("add", "gateways", fmt.Sprintf("%q . %s", n.Bridge, n.Gateway))
	if err := nft(ctx, f.ns, script); err != nil {
		return Network{}, err
	}
	// The alias comes last: a bridge counts as a network only once it is complete.
	_, err = ipIn(ctx, f.ns, "link", "set", n.Bridge, "alias", aliasNet+n.ID)
	return n, err
}

// ensureRule adds network n's "fwmark n lookup table" rule unless it exists.
func (f *Fabric) ensureRule(ctx context.Context, n Network) error {
	out, err := ipIn(ctx, f.ns, "-j", "rule", "show")
	if err != nil {
		return err
	}
	var rules []struct {
		Priority int    `json:"priority"`
		Fwmark   string `json:"fwmark"`
		Table    string `json:"table"`
	}
	if err := json.Unmarshal(out, &rules); err != nil {
		return fmt.Errorf("vnet: parse ip rule: %w", err)
	}
	for _, r := range rules {
		if r.Priority == rulePref && r.Fwmark == n.mark() && r.Table == n.table() {
			return nil
		}
	}
	_, err = ipIn(ctx, f.ns, "rule", "add", "pref", fmt.Sprint(rulePref), "fwmark", n.mark(), "lookup", n.table())
	return err
}

// RemoveNetwork deletes the bridge of network id. A missing network is not an error; a
// network that still has ports (taps or veths) is a Conflict.
func (f *Fabric) RemoveNetwork(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ls, err := links(ctx, f.ns)
	if err != nil {
		return err
	}
	name := linkName(bridgePrefix, id)
	br, ok := findLink(ls, name)
	if !ok {
		return nil
	}
	for _, l := range ls {
		if l.Master == name {
			return core.Errorf(core.Conflict, "vnet: network %s still has port %s (%s)", id, l.Name, l.Alias)
		}
	}
	n, complete := toNetwork(br)
	if complete {
		ms, err := f.mappings(ctx)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.NetworkID == id {
				return core.Errorf(core.Conflict, "vnet: network %s still has public IP %s", id, m.Public)
			}
		}
		for _, del := range []string{
			elements("delete", "ifnet", fmt.Sprintf("%q", n.Bridge)),
			elements("delete", "netzone", n.mark()),
			elements("delete", "gateways", fmt.Sprintf("%q . %s", n.Bridge, n.Gateway)),
		} {
			if err := nft(ctx, f.ns, del); err != nil && !strings.Contains(err.Error(), "No such file") {
				return err
			}
		}
		_, err = ipIn(ctx, f.ns, "rule", "del", "pref", fmt.Sprint(rulePref), "fwmark", n.mark(), "lookup", n.table())
		if err != nil && !strings.Contains(err.Error(), "No such file") {
			return err
		}
	}
	return delLink(ctx, f.ns, name)
}

// Networks lists the fabric's private networks, ordered by id.
func (f *Fabric) Networks(ctx context.Context) ([]Network, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.networks(ctx)
}

func (f *Fabric) networks(ctx context.Context) ([]Network, error) {
	ls, err := links(ctx, f.ns)
	if err != nil {
		return nil, err
	}
	var nets []Network
	for _, l := range ls {
		if n, ok := toNetwork(l); ok {
			nets = append(nets, n)
		}
	}
	sort.Slice(nets, func(i, j int) bool { return nets[i].ID < nets[j].ID })
	return nets, nil
}

// toNetwork reads a network back from its bridge.
func toNetwork(l link) (Network, bool) {
	id, ok := aliasID(l.Alias, aliasNet)
	if !ok || l.LinkInfo.Kind != "bridge" {
		return Network{}, false
	}
	for _, a := range l.AddrInfo {
		addr, err := netip.ParseAddr(a.Local)
		if a.Family != "inet" || err != nil {
			continue
		}
		return Network{ID: id, CIDR: netip.PrefixFrom(addr, a.PrefixLen).Masked(), Gateway: addr, Bridge: l.Name, num: l.Index}, true
	}
	return Network{}, false
}

// network finds network id.
func (f *Fabric) network(ctx context.Context, id string) (Network, error) {
	nets, err := f.networks(ctx)
	if err != nil {
		return Network{}, err
	}
	for _, n := range nets {
		if n.ID == id {
			return n, nil
		}
	}
	return Network{}, core.Errorf(core.NotFound, "vnet: network %s not found", id)
}
