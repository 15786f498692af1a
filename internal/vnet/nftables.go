package vnet

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// table is the nftables table (family ip) the fabric owns inside its namespace.
const table = "hangar"

// layoutSet names an empty set that marks the table's layout. A table without it was made
// by an incompatible earlier version; Open replaces it (its public IP mappings are lost).
const layoutSet = "layout_2"

// Every network has a number, its bridge's ifindex, used as packet mark (which picks the
// network's routing table, see network.go) and as conntrack zone (so that equal addresses
// in overlapping networks never share a connection entry).
//
// ruleset returns the nft script that creates the fabric's table when missing (replacing
// an existing one of another layout if replace) and resets its chains. Sets and maps keep
// their elements, so it is safe to apply on every Open.
//
//   - ifnet: bridge name → network number, for packets entering from a bridge.
//   - netzone: network number → conntrack zone.
//   - pub2net, pub2priv: public address → network number and private address, for packets
//     entering from the uplink (DNAT, and replies to the machine's own connections).
//   - priv2pub: (network, private) → public, for SNAT.
//   - mapped: (network, private) pairs that have a public address.
//   - gateways: (bridge, gateway address) pairs; a machine may talk to its own gateway only.
//
// The forward chain rejects by default: a packet crosses the uplink only to or from a
// mapped machine (checked first, so that unmapping cuts existing connections too), and is
// forwarded only when it belongs to a connection already allowed, was DNATed from the
// uplink, or leaves a mapped machine towards the uplink. So there is no routing between
// bridges at all; frames within one bridge never reach it (bridge netfilter is off in the
// namespace).
func ruleset(replace bool) string {
	up := fmt.Sprintf("%q", uplinkName)
	var b strings.Builder
	w := func(s string, args ...any) { fmt.Fprintf(&b, s+"\n", args...) }
	if replace {
		w("delete table ip %s", table)
	}
	w("add table ip %s", table)
	w("add set ip %s %s { typeof meta mark; }", table, layoutSet)
	w("add map ip %s ifnet { typeof iifname : meta mark; }", table)
	w("add map ip %s netzone { typeof meta mark : ct zone; }", table)
	w("add map ip %s pub2net { typeof ip daddr : meta mark; }", table)
	w("add map ip %s pub2priv { typeof ip daddr : ip daddr; }", table)
	w("add map ip %s priv2pub { typeof meta mark . ip saddr : ip saddr; }", table)
	w("add set ip %s mapped { typeof meta mark . ip saddr; }", table)
	w("add set ip %s gateways { typeof iifname . ip daddr; }", table)
	chains := []struct{ name, spec string }{
		{"raw_prerouting", "type filter hook prerouting priority raw; policy accept;"},
		{"raw_output", "type filter hook output priority raw; policy accept;"},
		{"prerouting", "type nat hook prerouting priority dstnat; policy accept;"},
		{"postrouting", "type nat hook postrouting priority srcnat; policy accept;"},
		{"forward", "type filter hook forward priority filter; policy drop;"},
		{"input", "type filter hook input priority filter; policy drop;"},
	}
	for _, c := range chains {
		w("add chain ip %s %s { %s }", table, c.name, c.spec)
		w("flush chain ip %s %s", table, c.name)
	}
	rule := func(chain, r string, args ...any) { w("add rule ip %s %s "+r, append([]any{table, chain}, args...)...) }
	rule("raw_prerouting", "meta mark set iifname map @ifnet")
	rule("raw_prerouting", "iifname %s meta mark set ip daddr map @pub2net", up)
	rule("raw_prerouting", "ct zone set meta mark map @netzone")
	// Replies the fabric itself sends (echo replies, ICMP errors) carry the mark of the
	// packet they answer (fwmark_reflect), hence its zone.
	rule("raw_output", "ct zone set meta mark map @netzone")
	rule("prerouting", "iifname %s dnat to ip daddr map @pub2priv", up)
	rule("postrouting", "oifname %s snat to meta mark . ip saddr map @priv2pub", up)
	rule("forward", "iifname %s meta mark . ip daddr != @mapped reject with icmp type admin-prohibited", up)
	rule("forward", "oifname %s meta mark . ip saddr != @mapped reject with icmp type admin-prohibited", up)
	rule("forward", "ct state established,related accept")
	rule("forward", "iifname %s ct status dnat accept", up)
	rule("forward", "oifname %s accept", up)
	rule("forward", "reject with icmp type admin-prohibited")
	rule("input", "ct state established,related accept")
	rule("input", "iifname \"lo\" accept")
	rule("input", "iifname . ip daddr @gateways accept")
	rule("input", "iifname %s icmp type echo-request accept", up)
	rule("input", "reject with icmp type admin-prohibited")
	return b.String()
}

// elements returns an nft command adding (op "add") or deleting (op "delete") elems in set.
func elements(op, set string, elems ...string) string {
	return fmt.Sprintf("%s element ip %s %s { %s }\n", op, table, set, strings.Join(elems, ", "))
}

// tableState reports whether the fabric's table exists in ns and whether it has the
// current layout.
func tableState(ctx context.Context, ns string) (exists, current bool, err error) {
	out, err := run(ctx, "", "ip", "netns", "exec", ns, "nft", "-j", "list", "tables", "ip")
	if err != nil {
		return false, false, err
	}
	var doc struct {
		Nftables []struct {
			Table *struct{ Name string } `json:"table"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return false, false, fmt.Errorf("vnet: parse nft tables: %w", err)
	}
	for _, o := range doc.Nftables {
		if o.Table != nil && o.Table.Name == table {
			exists = true
		}
	}
	if !exists {
		return false, false, nil
	}
	_, err = run(ctx, "", "ip", "netns", "exec", ns, "nft", "list", "set", "ip", table, layoutSet)
	return true, err == nil, nil
}
