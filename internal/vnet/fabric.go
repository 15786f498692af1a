package vnet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"hangar/internal/core"
)

// netnsDir is where iproute2 keeps named network namespaces.
const netnsDir = "/run/netns"

// defaultUplink is the transfer network between the outside namespace (first address) and
// the fabric (second address) when Config.Uplink is unset.
const defaultUplink = "169.254.254.0/30"

// Config says which namespace a Fabric owns and where its uplink goes.
type Config struct {
	// Prefix starts the namespace name; "hangar" when empty.
	Prefix string
	// DataDir identifies the Hangar instance: the namespace is Prefix-<hash of its absolute path>.
	DataDir string
	// Outside is the named network namespace (under /run/netns) that receives the uplink and
	// from which public IPs are reachable. Empty means no uplink: MapPublic then fails.
	Outside string
	// Uplink is the transfer network of the uplink veth pair: its first host address goes on
	// the outside end, the second on the fabric end. 169.254.254.0/30 when unset.
	Uplink netip.Prefix
}

// Fabric is the network of one Hangar instance: a network namespace with one bridge per
// private network, one tap per VM and 1:1 NAT for public IPs. Its state lives in the kernel
// only, so a Fabric opened again on the same Config finds everything as it was left.
type Fabric struct {
	ns, outside, outLink string
	outAddr, inAddr      netip.Addr
	uplink               netip.Prefix
	mu                   sync.Mutex // serialises changes (overlap checks, nft elements)
}

// Namespace returns the name of the network namespace cfg denotes.
func (cfg Config) Namespace() (string, error) {
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = "hangar"
	}
	if cfg.DataDir == "" {
		return "", core.Errorf(core.Invalid, "vnet: a data directory is required")
	}
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return "", fmt.Errorf("vnet: %w", err)
	}
	return prefix + "-" + shortHash(abs, 8), nil
}

// Open creates the fabric's namespace, firewall and uplink when missing and returns the
// Fabric. It is idempotent: on an existing namespace it changes nothing that running VMs use.
func Open(ctx context.Context, cfg Config) (*Fabric, error) {
	ns, err := cfg.Namespace()
	if err != nil {
		return nil, err
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, core.Wrap(core.Unavailable, err, "vnet: "+tool+" is not installed (packages iproute2, nftables)")
		}
	}
	f := &Fabric{ns: ns, outside: cfg.Outside, uplink: cfg.Uplink}
	if !f.uplink.IsValid() {
		f.uplink = netip.MustParsePrefix(defaultUplink)
	}
	if err := f.setUplinkAddrs(); err != nil {
		return nil, err
	}
	if err := f.ensureNamespace(ctx); err != nil {
		return nil, err
	}
	exists, current, err := tableState(ctx, ns)
	if err != nil {
		return nil, err
	}
	if err := nft(ctx, ns, ruleset(exists && !current)); err != nil {
		return nil, err
	}
	if f.outside != "" {
		if err := f.ensureUplink(ctx); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (f *Fabric) setUplinkAddrs() error {
	p := f.uplink.Masked()
	if !p.Addr().Is4() || p.Bits() > 30 {
		return core.Errorf(core.Invalid, "vnet: uplink %s must be an IPv4 prefix of /30 or larger", f.uplink)
	}
	f.uplink = p
	f.outAddr = p.Addr().Next()
	f.inAddr = f.outAddr.Next()
	f.outLink = linkName(outPrefix, f.ns)
	return nil
}

// ensureNamespace adds the namespace and sets its loopback and sysctls.
func (f *Fabric) ensureNamespace(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(netnsDir, f.ns)); errors.Is(err, os.ErrNotExist) {
		if _, err := run(ctx, "", "ip", "netns", "add", f.ns); err != nil {
			return err
		}
	}
	if _, err := ipIn(ctx, f.ns, "link", "set", "lo", "up"); err != nil {
		return err
	}
	// Routing between bridges happens only where the forward chain allows it (see ruleset);
	// frames inside one bridge must not be filtered by it, hence no bridge netfilter.
	if err := sysctl(ctx, f.ns, "net/ipv4/ip_forward", "1"); err != nil {
		return err
	}
	// A router that sends redirects to its uplink peer uses up the ICMP rate limit the
	// "filtered" answers need (and redirects to the outside's own address make no sense).
	// arp_ignore/arp_announce: a bridge answers ARP for its own gateway only, so a network
	// does not even learn the other networks' gateway addresses.
	for _, kv := range [][2]string{
		{"net/ipv6/conf/all/forwarding", "0"},
		{"net/ipv4/conf/all/send_redirects", "0"},
		{"net/ipv4/conf/default/send_redirects", "0"},
		{"net/ipv4/conf/all/arp_ignore", "1"},
		{"net/ipv4/conf/all/arp_announce", "2"},
		// Replies the fabric sends (echo replies, ICMP errors, a listener's segments) keep
		// the mark of what they answer, so they route back into the right network.
		{"net/ipv4/fwmark_reflect", "1"},
		// Every rejected packet gets its "filtered" answer at once instead of silence once a
		// peer's few ICMP tokens are used up (the global icmp_msgs_per_sec limit still holds).
		{"net/ipv4/icmp_ratelimit", "0"},
		{"net/ipv4/tcp_fwmark_accept", "1"},
	} {
		if err := sysctl(ctx, f.ns, kv[0], kv[1]); err != nil {
			return err
		}
	}
	if _, err := os.Stat("/proc/sys/net/bridge/bridge-nf-call-iptables"); err == nil {
		return sysctl(ctx, f.ns, "net/bridge/bridge-nf-call-iptables", "0")
	}
	return nil
}

// ensureUplink creates the veth pair to the outside namespace, its addresses, the fabric's
// default route and, for every mapped public IP, the outside route through the uplink.
func (f *Fabric) ensureUplink(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(netnsDir, f.outside)); err != nil {
		return core.Errorf(core.Invalid, "vnet: outside namespace %q not found", f.outside)
	}
	ls, err := links(ctx, f.ns)
	if err != nil {
		return err
	}
	if _, ok := findLink(ls, uplinkName); !ok {
		if _, err := ipIn(ctx, f.ns, "link", "add", uplinkName, "type", "veth",
			"peer", "name", f.outLink, "netns", f.outside); err != nil {
			return err
		}
	}
	if err := sysctl(ctx, f.ns, "net/ipv4/conf/"+uplinkName+"/send_redirects", "0"); err != nil {
		return err
	}
	bits := fmt.Sprint(f.uplink.Bits())
	steps := []struct {
		ns   string
		args []string
	}{
		{f.ns, []string{"addr", "replace", f.inAddr.String() + "/" + bits, "dev", uplinkName}},
		{f.ns, []string{"link", "set", uplinkName, "alias", "hangar:uplink", "up"}},
		{f.ns, []string{"route", "replace", "default", "via", f.outAddr.String(), "dev", uplinkName}},
		{f.outside, []string{"addr", "replace", f.outAddr.String() + "/" + bits, "dev", f.outLink}},
		{f.outside, []string{"link", "set", f.outLink, "alias", "hangar:uplink:" + f.ns, "up"}},
	}
	for _, s := range steps {
		if _, err := ipIn(ctx, s.ns, s.args...); err != nil {
			return err
		}
	}
	ms, err := f.Mappings(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if err := f.routePublic(ctx, m.Public); err != nil {
			return err
		}
	}
	return nil
}

// Namespace returns the name of the fabric's network namespace.
func (f *Fabric) Namespace() string { return f.ns }

// OutsideLink returns the name of the uplink's end in the outside namespace ("" without one).
func (f *Fabric) OutsideLink() string {
	if f.outside == "" {
		return ""
	}
	return f.outLink
}

// OutsideAddr returns the outside end's address on the uplink transfer network.
func (f *Fabric) OutsideAddr() netip.Addr { return f.outAddr }

// Command returns a command that runs name inside the fabric's namespace (through
// `ip netns exec`, which execs name in place, so the process id is name's own). Set
// SysProcAttr.Setsid to let the process outlive Hangar.
func (f *Fabric) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", f.ns, name}, args...)...)
}

// Exec runs name inside the fabric's namespace and returns its combined output.
func (f *Fabric) Exec(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", f.ns, name}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("vnet: %s in %s: %w: %s", name, f.ns, err, out)
	}
	return out, nil
}

// Destroy removes everything the fabric created: its links (taps, veths, bridges, the
// uplink and its outside end with the routes through it) and the namespace. Processes
// still running in the namespace keep it alive anonymously, so stop the VMs first.
func (f *Fabric) Destroy(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.outside != "" {
		if ls, err := links(ctx, f.outside); err == nil {
			if _, ok := findLink(ls, f.outLink); ok {
				if err := delLink(ctx, f.outside, f.outLink); err != nil {
					return err
				}
			}
		}
	}
	if _, err := os.Stat(filepath.Join(netnsDir, f.ns)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	ls, err := links(ctx, f.ns)
	if err != nil {
		return err
	}
	// Ports first, then bridges, so that nothing is left attached in a namespace that
	// lingers because a process still holds it.
	for _, pass := range []func(link) bool{isPort, isBridge, func(l link) bool { return l.Name == uplinkName }} {
		for _, l := range ls {
			if pass(l) {
				if err := delLink(ctx, f.ns, l.Name); err != nil {
					return err
				}
			}
		}
	}
	_, err = run(ctx, "", "ip", "netns", "del", f.ns)
	return err
}

func isPort(l link) bool {
	_, ok := aliasID(l.Alias, aliasVM)
	return ok
}

func isBridge(l link) bool {
	_, ok := aliasID(l.Alias, aliasNet)
	return ok && l.LinkInfo.Kind == "bridge"
}
