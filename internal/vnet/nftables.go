package vnet

import (
	"fmt"
	"strings"
)

// table is the nftables table (family ip) the fabric owns inside its namespace.
const table = "hangar"

// ruleset returns the nft script that creates the fabric's table when missing and resets
// its chains. Sets and maps keep their elements, so it is safe to apply on every Open.
//
//   - pub2priv / priv2pub: the 1:1 NAT maps MapPublic fills.
//   - mapped: private addresses that have a public one (may leave through the uplink).
//   - gateways: (bridge, gateway address) pairs; a machine may talk to its own gateway only.
//
// The forward chain rejects by default: a packet crosses the uplink only to or from a
// mapped address (checked first, so that unmapping cuts existing connections too), and is
// forwarded only when it belongs to a connection already allowed, was DNATed from the
// uplink, or leaves a mapped address towards the uplink. So there is no routing between
// bridges at all; frames within one bridge never reach it (bridge netfilter is off in the
// namespace).
func ruleset() string {
	up := fmt.Sprintf("%q", uplinkName)
	var b strings.Builder
	w := func(s string, args ...any) { fmt.Fprintf(&b, s+"\n", args...) }
	w("add table ip %s", table)
	w("add map ip %s pub2priv { type ipv4_addr : ipv4_addr; }", table)
	w("add map ip %s priv2pub { type ipv4_addr : ipv4_addr; }", table)
	w("add set ip %s mapped { type ipv4_addr; }", table)
	w("add set ip %s gateways { type ifname . ipv4_addr; }", table)
	w("add chain ip %s prerouting { type nat hook prerouting priority dstnat; policy accept; }", table)
	w("add chain ip %s postrouting { type nat hook postrouting priority srcnat; policy accept; }", table)
	w("add chain ip %s forward { type filter hook forward priority filter; policy drop; }", table)
	w("add chain ip %s input { type filter hook input priority filter; policy drop; }", table)
	for _, c := range []string{"prerouting", "postrouting", "forward", "input"} {
		w("flush chain ip %s %s", table, c)
	}
	w("add rule ip %s prerouting iifname %s dnat to ip daddr map @pub2priv", table, up)
	w("add rule ip %s postrouting oifname %s snat to ip saddr map @priv2pub", table, up)
	// Checked before established connections, so that UnmapPublic also cuts the
	// connections the mapping let through.
	w("add rule ip %s forward iifname %s ip daddr != @mapped reject with icmp type admin-prohibited", table, up)
	w("add rule ip %s forward oifname %s ip saddr != @mapped reject with icmp type admin-prohibited", table, up)
	w("add rule ip %s forward ct state established,related accept", table)
	w("add rule ip %s forward iifname %s ct status dnat accept", table, up)
	w("add rule ip %s forward oifname %s accept", table, up)
	w("add rule ip %s forward reject with icmp type admin-prohibited", table)
	w("add rule ip %s input ct state established,related accept", table)
	w("add rule ip %s input iifname \"lo\" accept", table)
	w("add rule ip %s input iifname . ip daddr @gateways accept", table)
	w("add rule ip %s input iifname %s icmp type echo-request accept", table, up)
	w("add rule ip %s input reject with icmp type admin-prohibited", table)
	return b.String()
}

// elements returns an nft command adding (op "add") or deleting (op "delete") elems in set.
func elements(op, set string, elems ...string) string {
	return fmt.Sprintf("%s element ip %s %s { %s }\n", op, table, set, strings.Join(elems, ", "))
}
