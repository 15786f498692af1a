package vnet

import (
	"context"
	"sort"

	"hangar/internal/core"
)

// Port is a VM's link into a private network's bridge.
type Port struct {
	VMID      string // the id given to AddTap or AddVeth
	Name      string // the link's name inside the fabric's namespace
	Kind      string // "tap" or "veth"
	NetworkID string // the network whose bridge it is attached to; "" when detached
	Up        bool   // the link has carrier (for a tap: a process has it open)
}

// AddTap creates the persistent tap device of vmID inside the namespace, attached to the
// bridge of networkID, and returns its name (12 characters, derived from vmID). QEMU opens
// it with `-netdev tap,ifname=<name>,script=no,downscript=no` when started through
// Command. Idempotent; an existing tap is moved to networkID's bridge. Unknown network:
// NotFound.
func (f *Fabric) AddTap(ctx context.Context, vmID, networkID string) (string, error) {
	return f.addPort(ctx, vmID, networkID, tapPrefix, func(name string) error {
		_, err := ipIn(ctx, f.ns, "tuntap", "add", "dev", name, "mode", "tap")
		return err
	})
}

// AddVeth connects the network namespace peerNS (for endpoints that are not QEMU guests,
// such as the tests' fake VMs) to networkID: a veth pair whose fabric end is attached to the
// bridge and whose other end appears in peerNS as "eth0" (down, without address: the
// endpoint configures it like a guest would). Returns the fabric end's name. Idempotent.
func (f *Fabric) AddVeth(ctx context.Context, vmID, networkID, peerNS string) (string, error) {
	return f.addPort(ctx, vmID, networkID, vethPrefix, func(name string) error {
		_, err := ipIn(ctx, f.ns, "link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", peerNS)
		return err
	})
}

func (f *Fabric) addPort(ctx context.Context, vmID, networkID, prefix string, create func(string) error) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.network(ctx, networkID)
	if err != nil {
		return "", err
	}
	name := linkName(prefix, vmID)
	ls, err := links(ctx, f.ns)
	if err != nil {
		return "", err
	}
	if l, ok := findLink(ls, name); ok {
		if id, _ := aliasID(l.Alias, aliasVM); l.Alias != "" && id != vmID {
			return "", core.Errorf(core.Conflict, "vnet: link name %s of vm %s is taken by %s", name, vmID, l.Alias)
		}
	} else if err := create(name); err != nil {
		return "", err
	}
	if _, err := ipIn(ctx, f.ns, "link", "set", name, "alias", aliasVM+vmID, "master", n.Bridge, "up"); err != nil {
		return "", err
	}
	return name, nil
}

// RemoveTap deletes vmID's tap. A missing tap is not an error.
func (f *Fabric) RemoveTap(ctx context.Context, vmID string) error {
	return f.removeLink(ctx, linkName(tapPrefix, vmID))
}

// RemoveVeth deletes vmID's veth pair (both ends). A missing one is not an error.
func (f *Fabric) RemoveVeth(ctx context.Context, vmID string) error {
	return f.removeLink(ctx, linkName(vethPrefix, vmID))
}

func (f *Fabric) removeLink(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ls, err := links(ctx, f.ns)
	if err != nil {
		return err
	}
	if _, ok := findLink(ls, name); !ok {
		return nil
	}
	return delLink(ctx, f.ns, name)
}

// Ports lists every tap and veth of the fabric, ordered by VM id.
func (f *Fabric) Ports(ctx context.Context) ([]Port, error) {
	ls, err := links(ctx, f.ns)
	if err != nil {
		return nil, err
	}
	bridges := map[string]string{}
	for _, l := range ls {
		if id, ok := aliasID(l.Alias, aliasNet); ok && l.LinkInfo.Kind == "bridge" {
			bridges[l.Name] = id
		}
	}
	var ps []Port
	for _, l := range ls {
		id, ok := aliasID(l.Alias, aliasVM)
		if !ok {
			continue
		}
		kind := "veth"
		if l.LinkInfo.Kind == "tun" {
			kind = "tap"
		}
		ps = append(ps, Port{VMID: id, Name: l.Name, Kind: kind, NetworkID: bridges[l.Master], Up: hasFlag(l, "LOWER_UP")})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].VMID < ps[j].VMID })
	return ps, nil
}

// Taps lists the fabric's tap devices (Ports of kind "tap").
func (f *Fabric) Taps(ctx context.Context) ([]Port, error) {
	ps, err := f.Ports(ctx)
	if err != nil {
		return nil, err
	}
	taps := ps[:0]
	for _, p := range ps {
		if p.Kind == "tap" {
			taps = append(taps, p)
		}
	}
	return taps, nil
}

func hasFlag(l link, flag string) bool {
	for _, f := range l.Flags {
		if f == flag {
			return true
		}
	}
	return false
}
