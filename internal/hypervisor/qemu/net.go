package qemu

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/netip"

	"hangar/internal/core"
	"hangar/internal/vnet"
)

// VNet attaches machines to Hangar's network fabric (internal/vnet): a bridge per private
// network, a tap per machine, and 1:1 NAT of public IPs when the fabric has an outside
// namespace. Machines without a private network are on their team's default segment: one
// bridge per team over the default private range (addresses are unique across teams, and
// the fabric keeps overlapping networks apart), so no two teams share an L2 segment.
type VNet struct {
	Fabric *vnet.Fabric
	// Default is the private range of machines created without a network.
	Default netip.Prefix
}

var _ Networker = VNet{}

// defaultNetID is the fabric's id of a team's default network.
func defaultNetID(teamID string) string { return "default-" + teamID }

// Plug implements Networker.
func (v VNet) Plug(ctx context.Context, m core.Machine, n *core.Network) (Plug, error) {
	id, cidr := defaultNetID(m.TeamID), v.Default.String()
	if n != nil {
		id, cidr = n.ID, n.CIDR
	}
	if m.PrivateIP == nil {
		return Plug{}, fmt.Errorf("machine %s has no private IP", m.ID)
	}
	priv, err := netip.ParseAddr(*m.PrivateIP)
	if err != nil {
		return Plug{}, fmt.Errorf("machine %s: private IP %q: %w", m.ID, *m.PrivateIP, err)
	}
	net, err := v.Fabric.EnsureNetwork(ctx, id, cidr)
	if err != nil {
		return Plug{}, err
	}
	tap, err := v.Fabric.AddTap(ctx, m.ID, id)
	if err != nil {
		return Plug{}, err
	}
	if m.PublicIP != nil && v.Fabric.OutsideLink() != "" {
		pub, err := netip.ParseAddr(*m.PublicIP)
		if err != nil {
			return Plug{}, fmt.Errorf("machine %s: public IP %q: %w", m.ID, *m.PublicIP, err)
		}
		if err := v.Fabric.MapPublicOn(ctx, vnet.Mapping{Public: pub, NetworkID: id, Private: priv}); err != nil {
			return Plug{}, err
		}
	}
	return Plug{Tap: tap, MAC: MAC(m.ID), NetworkID: id, IP: netip.PrefixFrom(priv, net.CIDR.Bits()).String(),
		Gateway: net.Gateway.String(), Wrap: []string{"ip", "netns", "exec", v.Fabric.Namespace()}}, nil
}

// Unplug implements Networker: it removes the machine's public IP mappings (found by the
// network and private address it was plugged with, since a released IP is no longer on the
// machine) and its tap.
func (v VNet) Unplug(ctx context.Context, m core.Machine, p Plug) error {
	if priv, err := netip.ParsePrefix(p.IP); err == nil && v.Fabric.OutsideLink() != "" {
		maps, err := v.Fabric.Mappings(ctx)
		if err != nil {
			return err
		}
		for _, mp := range maps {
			if mp.Private == priv.Addr() && (p.NetworkID == "" || mp.NetworkID == p.NetworkID) {
				if err := v.Fabric.UnmapPublic(ctx, mp.Public); err != nil {
					return err
				}
			}
		}
	}
	return v.Fabric.RemoveTap(ctx, m.ID)
}

// MAC is the locally administered MAC address of a machine's NIC, derived from its id.
func MAC(machineID string) string {
	h := sha256.Sum256([]byte(machineID))
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", h[0], h[1], h[2])
}
