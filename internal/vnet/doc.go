// Package vnet is the network fabric of the qemu driver: isolated private networks, tap
// devices for VMs and 1:1 NAT for public IPs, all inside one network namespace that Hangar
// owns. Nothing outside that namespace is touched except the uplink's outside end (its own
// link, its transfer address and the /32 routes of mapped public IPs, all of which vanish
// with the link).
//
// # Topology
//
//	outside namespace (Config.Outside: the test's, or a named handle of the host's)
//	  hu<hash>  169.254.254.1/30          routes: <public>/32 via 169.254.254.2 (one per mapping)
//	     │ veth
//	fabric namespace  <Prefix>-<hash of the data dir>   (ip_forward=1, nft table "ip hangar")
//	  uplink    169.254.254.2/30          default via 169.254.254.1
//	  hb<hash(net A)> bridge 10.0.1.1/24  ── ht<hash(vm1)> tap ── QEMU vm1 (10.0.1.2)
//	                                      └─ ht<hash(vm2)> tap ── QEMU vm2 (10.0.1.3)
//	  hb<hash(net B)> bridge 10.0.2.1/24  ── ht<hash(vm3)> tap ── QEMU vm3 (10.0.2.2)
//
// Each private network is one Linux bridge whose address is the network's gateway, the
// first usable address of its CIDR (internal/lifecycle never hands it to a machine). Guests
// get a static address and a default route via the gateway from their seed.
//
// # Isolation
//
// Every network has a number (its bridge's ifindex) that serves as packet mark, conntrack
// zone and routing table (1000+n). Packets entering from a bridge are marked with its
// network, packets entering from the uplink with the network of the public address they are
// for; an ip rule sends marked packets to their network's table, which holds only that
// network's prefix route. The main table has no route to any bridge, only the uplink and
// the default route through it. So networks may overlap (two teams may both use
// 10.0.0.0/24), and equal addresses on two networks are two machines.
//
// The namespace routes (ip_forward=1) but its nftables forward chain rejects ("administratively
// prohibited") every packet except: replies of allowed connections, packets from the uplink
// that were DNATed to a mapped machine, and packets from a mapped machine to the uplink
// (SNATed to its public address). The uplink checks come first, so UnmapPublic cuts open
// connections as well. There is no path between two bridges; frames inside one bridge never
// reach netfilter (bridge-nf-call-iptables=0 in the namespace). The input chain lets a
// machine reach only its own gateway address, and bridges answer ARP for their own address
// only. Machines without a public IP have no way in or out. IPv6 is not forwarded.
//
// # State and restarts
//
// The kernel is the only store: bridges and ports carry an alias "hangar:net:<id>" or
// "hangar:vm:<id>", mappings are elements of nft maps. Open is idempotent: on an existing
// namespace it re-applies sysctls and the chains (keeping set and map elements) and
// recreates missing pieces, without touching links in use, so VMs keep running and stay
// connected across Hangar restarts. There is no Close; Destroy removes everything.
//
// # What the qemu driver calls, and when
//
//	f, err := vnet.Open(ctx, vnet.Config{DataDir: dataDir, Outside: "…"})  // at driver start
//	f.EnsureNetwork(ctx, netID, cidr)        // before a machine of that network starts (idempotent)
//	tap, err := f.AddTap(ctx, machineID, netID)  // before starting QEMU (idempotent)
//	cmd := f.Command("qemu-system-x86_64", …, "-netdev", "tap,id=n0,ifname="+tap+",script=no,downscript=no", …)
//	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}  // QEMU outlives hangar serve
//	f.MapPublicOn(ctx, vnet.Mapping{Public: pub, NetworkID: netID, Private: priv}) // machine with a public IP (idempotent)
//	                                         // (MapPublic(ctx, pub, priv) guesses the network; ambiguous where networks overlap)
//	f.UnmapPublic(ctx, publicIP)            // when the IP is released or the machine destroyed
//	f.RemoveTap(ctx, machineID)             // after QEMU exited, on destroy
//	f.RemoveNetwork(ctx, netID)             // when the network is deleted (no ports or public IPs left)
//
// Machines created without a network use the region's default range (serve's
// --private-range); give them one fabric network for it, e.g.
// EnsureNetwork(ctx, "default-"+teamID, range) per team (the qemu driver does so), so that
// teams do not share a segment. A process the
// driver runs inside the namespace (a phone-home listener, say) is reachable by a machine at
// its own network's gateway address only (the input chain allows nothing else); where
// networks overlap, two bridges share that address, so bind such a listener to the bridge
// (SO_BINDTODEVICE, Network.Bridge) to know which network a connection came from.
//
// Command runs the process through `ip netns exec`, which execs it in place: the PID is
// QEMU's own, so -pidfile and reattaching after a restart work as usual. Exec runs a
// short command inside the namespace (tests use it for ping and ip). Networks, Ports, Taps
// and Mappings read the current state back for reconciliation and cleanup checks.
//
// # Requirements
//
// Root (CAP_NET_ADMIN, CAP_SYS_ADMIN), iproute2 (ip) and nftables (nft) on the host;
// scripts/install-test-deps installs nftables and iputils-ping for the tests. To use the
// host's own namespace as the outside, give it a name first, e.g.
// `touch /run/netns/host && mount --bind /proc/1/ns/net /run/netns/host`, and set
// Config.Outside to "host" and Config.Uplink to a transfer network free on the host.
package vnet
