package vnet

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hangar/internal/core"
)

func TestNames(t *testing.T) {
	a, err := Config{DataDir: "/var/lib/hangar"}.Namespace()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Config{DataDir: "/var/lib/hangar/"}.Namespace()
	c, _ := Config{Prefix: "x", DataDir: "/var/lib/other"}.Namespace()
	if a != b || !strings.HasPrefix(a, "hangar-") || len(a) != len("hangar-")+8 {
		t.Errorf("namespace of /var/lib/hangar = %q and %q, want one hangar-<8 hex>", a, b)
	}
	if !strings.HasPrefix(c, "x-") || c[2:] == a[7:] {
		t.Errorf("namespace of another dir with prefix x = %q (first %q)", c, a)
	}
	if _, err := (Config{}).Namespace(); core.ErrorCode(err) != core.Invalid {
		t.Errorf("no data dir: %v, want Invalid", err)
	}
	for _, p := range []string{bridgePrefix, tapPrefix, vethPrefix, outPrefix} {
		n := linkName(p, "ps1234567")
		if len(n) > 15 || n != linkName(p, "ps1234567") || n == linkName(p, "ps1234568") {
			t.Errorf("linkName(%s) = %q: not short, stable and distinct", p, n)
		}
	}
}

func TestIsolation(t *testing.T) {
	b := setup(t)
	na := b.mustNetwork(t, "net-a", "10.77.1.0/24")
	nb := b.mustNetwork(t, "default:East Coast (NY2)", "10.77.2.0/28") // any string is an id
	if na.Gateway.String() != "10.77.1.1" || nb.Gateway.String() != "10.77.2.1" {
		t.Fatalf("gateways %s, %s; want the first usable addresses", na.Gateway, nb.Gateway)
	}
	a1 := b.fakeVM(t, "a1", "net-a", "10.77.1.2")
	b.fakeVM(t, "a2", "net-a", "10.77.1.3")
	b1 := b.fakeVM(t, "b1", nb.ID, "10.77.2.2")

	mustPing(t, a1, "10.77.1.3") // same network
	mustPing(t, a1, "10.77.1.1") // own gateway
	mustPing(t, b1, "10.77.2.1")
	mustNotPing(t, a1, "10.77.2.2") // other network
	mustNotPing(t, b1, "10.77.1.2")
	mustNotPing(t, a1, "10.77.2.1")                // other network's gateway
	mustNotPing(t, a1, b.f.OutsideAddr().String()) // no public IP: no way out
	mustNotPing(t, b.outside, "10.77.1.2")         // and no way in

	listenIn(t, a1, "0.0.0.0:7000")
	if _, err := dialFrom(b.ctx, b1, "10.77.1.2:7000"); err == nil {
		t.Error("TCP from network b to a machine of network a connected")
	}
	if got, err := dialFrom(b.ctx, b.fakeVM(t, "a3", "net-a", "10.77.1.4"), "10.77.1.2:7000"); err != nil || got != "10.77.1.4" {
		t.Errorf("TCP within network a: peer %q, %v", got, err)
	}
}

func TestPublicIP(t *testing.T) {
	b := setup(t)
	b.mustNetwork(t, "net-p", "10.78.0.0/24")
	p := b.fakeVM(t, "p", "net-p", "10.78.0.2")
	q := b.fakeVM(t, "q", "net-p", "10.78.0.3")
	// MapPublic finds the network itself; MapPublicOn names it.
	if err := b.f.MapPublic(b.ctx, mustAddr("198.51.100.10"), mustAddr("10.78.0.2")); err != nil {
		t.Fatalf("MapPublic: %v", err)
	}
	if err := b.f.MapPublicOn(b.ctx, mapping("198.51.100.10", "net-p", "10.78.0.2")); err != nil {
		t.Fatalf("MapPublicOn the same: %v", err)
	}
	if err := b.f.MapPublic(b.ctx, mustAddr("198.51.100.11"), mustAddr("10.99.0.2")); core.ErrorCode(err) != core.Invalid {
		t.Errorf("MapPublic of an address in no network = %v, want Invalid", err)
	}
	for _, c := range []struct {
		m    Mapping
		code core.Code
	}{
		{mapping("198.51.100.10", "net-p", "10.78.0.3"), core.Conflict},
		{mapping("198.51.100.11", "net-p", "10.78.0.2"), core.Conflict},
		{mapping("198.51.100.11", "net-p", "10.99.0.2"), core.Invalid},
		{mapping("198.51.100.11", "net-x", "10.78.0.2"), core.NotFound},
	} {
		if err := b.f.MapPublicOn(b.ctx, c.m); core.ErrorCode(err) != c.code {
			t.Errorf("MapPublicOn(%+v) = %v, want %s", c.m, err, c.code)
		}
	}

	mustPing(t, b.outside, "198.51.100.10")
	mustNotPing(t, b.outside, "198.51.100.11") // nobody's
	mustNotPing(t, b.outside, "10.78.0.3")
	// Even when the outside routes whole ranges to the fabric, the fabric lets in the
	// mapped address only.
	for _, r := range []string{"198.51.100.0/24", "10.78.0.0/24"} {
		if _, err := ipIn(b.ctx, b.outside, "route", "add", r, "via", b.f.inAddr.String()); err != nil {
			t.Fatal(err)
		}
	}
	mustNotPing(t, b.outside, "198.51.100.11")
	mustNotPing(t, b.outside, "10.78.0.3")
	mustNotPing(t, b.outside, "10.78.0.2")
	mustPing(t, b.outside, "198.51.100.10")
	listenIn(t, p, "0.0.0.0:7000")
	listenIn(t, q, "0.0.0.0:7000")
	got, err := dialFrom(b.ctx, b.outside, "198.51.100.10:7000")
	if err != nil || got != b.f.OutsideAddr().String() {
		t.Errorf("TCP from outside to the public IP: machine saw %q, %v; want %s", got, err, b.f.OutsideAddr())
	}

	// Connections the machine opens leave with its public address; q has none.
	listenIn(t, b.outside, b.f.OutsideAddr().String()+":7001")
	if got, err := dialFrom(b.ctx, p, b.f.OutsideAddr().String()+":7001"); err != nil || got != "198.51.100.10" {
		t.Errorf("TCP from the mapped machine: outside saw %q, %v; want 198.51.100.10", got, err)
	}
	if _, err := dialFrom(b.ctx, q, b.f.OutsideAddr().String()+":7001"); err == nil {
		t.Error("a machine without public IP connected to the outside")
	}

	ms, err := b.f.Mappings(b.ctx)
	if err != nil || len(ms) != 1 || ms[0] != mapping("198.51.100.10", "net-p", "10.78.0.2") {
		t.Fatalf("Mappings = %v, %v", ms, err)
	}
	// A connection open across UnmapPublic is cut too.
	startHelper(t, p, "echo 0.0.0.0:7002")
	conv, replies := startHelper(t, b.outside, "converse 198.51.100.10:7002")
	say := func(s string) string {
		fmt.Fprintln(conv, s)
		line, _ := replies.ReadString('\n')
		return strings.TrimSpace(line)
	}
	if got := say("before"); got != "before" {
		t.Fatalf("echo through the public IP = %q", got)
	}
	if err := b.f.UnmapPublic(b.ctx, mustAddr("198.51.100.10")); err != nil {
		t.Fatalf("UnmapPublic: %v", err)
	}
	if got := say("after"); !strings.HasPrefix(got, "error") {
		t.Errorf("open connection after UnmapPublic answered %q, want it cut", got)
	}
	if err := b.f.UnmapPublic(b.ctx, mustAddr("198.51.100.10")); err != nil {
		t.Fatalf("UnmapPublic again: %v", err)
	}
	mustNotPing(t, b.outside, "198.51.100.10")
	if ms, err := b.f.Mappings(b.ctx); err != nil || len(ms) != 0 {
		t.Errorf("Mappings after unmap = %v, %v", ms, err)
	}
	// The address is free again for another machine.
	if err := b.f.MapPublicOn(b.ctx, mapping("198.51.100.10", "net-p", "10.78.0.3")); err != nil {
		t.Fatalf("MapPublic to q: %v", err)
	}
	if got, err := dialFrom(b.ctx, b.outside, "198.51.100.10:7000"); err != nil || got != b.f.OutsideAddr().String() {
		t.Errorf("TCP to the remapped IP: %q, %v", got, err)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	b := setup(t)
	b.mustNetwork(t, "net-r", "10.79.0.0/24")
	r1 := b.fakeVM(t, "r1", "net-r", "10.79.0.2")
	b.fakeVM(t, "r2", "net-r", "10.79.0.3")
	tap, err := b.f.AddTap(b.ctx, "r3", "net-r")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.f.MapPublicOn(b.ctx, mapping("198.51.100.20", "net-r", "10.79.0.2")); err != nil {
		t.Fatal(err)
	}
	nets1, _ := b.f.Networks(b.ctx)
	ports1, _ := b.f.Ports(b.ctx)

	// A restarted Hangar opens the same fabric again; nothing is torn down in between.
	f2, err := Open(b.ctx, b.cfg)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if f2.Namespace() != b.f.Namespace() {
		t.Fatalf("reopened namespace %s, want %s", f2.Namespace(), b.f.Namespace())
	}
	nets2, err := f2.Networks(b.ctx)
	if err != nil || !equal(nets1, nets2) || len(nets2) != 1 {
		t.Errorf("networks after reopen = %v (%v), before %v", nets2, err, nets1)
	}
	ports2, err := f2.Ports(b.ctx)
	if err != nil || !equal(ports1, ports2) || len(ports2) != 3 {
		t.Errorf("ports after reopen = %v (%v), before %v", ports2, err, ports1)
	}
	if name, err := f2.AddTap(b.ctx, "r3", "net-r"); err != nil || name != tap {
		t.Errorf("AddTap again = %q, %v; want %q", name, err, tap)
	}
	if _, err := f2.EnsureNetwork(b.ctx, "net-r", "10.79.0.0/24"); err != nil {
		t.Errorf("EnsureNetwork again: %v", err)
	}
	mustPing(t, r1, "10.79.0.3")
	mustPing(t, b.outside, "198.51.100.20")
	if ms, err := f2.Mappings(b.ctx); err != nil || len(ms) != 1 {
		t.Errorf("mappings after reopen = %v, %v", ms, err)
	}
	// Both fabric values may be used; the test's cleanup destroys it once.
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNetworkErrors(t *testing.T) {
	b := setup(t)
	b.mustNetwork(t, "net-e", "10.80.0.0/24")
	for _, c := range []struct {
		id, cidr string
		code     core.Code
	}{
		{"x", "10.80.0.0/30", core.Invalid}, // too small for a gateway and a machine
		{"x", "fd00::/64", core.Invalid},
		{"x", "nonsense", core.Invalid},
		{"net-e", "10.81.0.0/24", core.Conflict},     // same id, other cidr
		{"net-u", "169.254.254.0/24", core.Conflict}, // overlaps the uplink
	} {
		if _, err := b.f.EnsureNetwork(b.ctx, c.id, c.cidr); core.ErrorCode(err) != c.code {
			t.Errorf("EnsureNetwork(%s, %s) = %v, want %s", c.id, c.cidr, err, c.code)
		}
	}
	if _, err := b.f.AddTap(b.ctx, "vm", "nope"); core.ErrorCode(err) != core.NotFound {
		t.Errorf("AddTap on an unknown network = %v, want NotFound", err)
	}
	if _, err := b.f.AddTap(b.ctx, "vm", "net-e"); err != nil {
		t.Fatal(err)
	}
	if err := b.f.RemoveNetwork(b.ctx, "net-e"); core.ErrorCode(err) != core.Conflict {
		t.Errorf("RemoveNetwork with a tap = %v, want Conflict", err)
	}
	if err := b.f.RemoveTap(b.ctx, "vm"); err != nil {
		t.Fatal(err)
	}
	if err := b.f.MapPublicOn(b.ctx, mapping("198.51.100.40", "net-e", "10.80.0.9")); err != nil {
		t.Fatal(err)
	}
	if err := b.f.RemoveNetwork(b.ctx, "net-e"); core.ErrorCode(err) != core.Conflict {
		t.Errorf("RemoveNetwork with a public IP = %v, want Conflict", err)
	}
	if err := b.f.UnmapPublic(b.ctx, mustAddr("198.51.100.40")); err != nil {
		t.Fatal(err)
	}
	if err := b.f.RemoveTap(b.ctx, "vm"); err != nil {
		t.Errorf("RemoveTap twice: %v", err)
	}
	if err := b.f.RemoveNetwork(b.ctx, "net-e"); err != nil {
		t.Fatalf("RemoveNetwork: %v", err)
	}
	if err := b.f.RemoveNetwork(b.ctx, "net-e"); err != nil {
		t.Errorf("RemoveNetwork twice: %v", err)
	}
	if nets, err := b.f.Networks(b.ctx); err != nil || len(nets) != 0 {
		t.Errorf("networks after remove = %v, %v", nets, err)
	}
	// The name is free again.
	b.mustNetwork(t, "net-e", "10.81.0.0/24")
}

func TestTapOpenedThroughCommand(t *testing.T) {
	b := setup(t)
	n := b.mustNetwork(t, "net-t", "10.82.0.0/24")
	name, err := b.f.AddTap(b.ctx, "ps-tap", "net-t")
	if err != nil {
		t.Fatal(err)
	}
	taps, err := b.f.Taps(b.ctx)
	if err != nil || len(taps) != 1 || taps[0] != (Port{VMID: "ps-tap", Name: name, Kind: "tap", NetworkID: "net-t"}) {
		t.Fatalf("Taps = %v, %v", taps, err)
	}

	// The process plays QEMU: started through Command, it opens the tap by name and talks
	// to the gateway through the bridge.
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	cmd := b.f.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"=tap "+name+" 52:54:00:00:00:02 10.82.0.2 "+n.Gateway.String())
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { <-ctx.Done(); _ = cmd.Process.Kill() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "arp-reply ") {
		t.Fatalf("guest side of the tap: %q, %v", line, err)
	}
	if taps, _ := b.f.Taps(b.ctx); len(taps) != 1 || !taps[0].Up {
		t.Errorf("tap with an open process = %v, want Up", taps)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("tap helper: %v", err)
	}
	if err := b.f.RemoveTap(b.ctx, "ps-tap"); err != nil {
		t.Fatal(err)
	}
	if taps, err := b.f.Taps(b.ctx); err != nil || len(taps) != 0 {
		t.Errorf("Taps after RemoveTap = %v, %v", taps, err)
	}
	if out, err := b.f.Exec(b.ctx, "ip", "link", "show", name); err == nil {
		t.Errorf("tap %s still exists: %s", name, out)
	}
}

func TestDestroyLeavesNothing(t *testing.T) {
	b := setup(t)
	b.mustNetwork(t, "net-d", "10.83.0.0/24")
	vm := b.fakeVM(t, "d1", "net-d", "10.83.0.2")
	if _, err := b.f.AddTap(b.ctx, "d2", "net-d"); err != nil {
		t.Fatal(err)
	}
	if err := b.f.MapPublicOn(b.ctx, mapping("198.51.100.30", "net-d", "10.83.0.2")); err != nil {
		t.Fatal(err)
	}
	if err := b.f.Destroy(b.ctx); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if _, err := os.Stat(filepath.Join(netnsDir, b.f.Namespace())); !os.IsNotExist(err) {
		t.Errorf("namespace %s still exists (%v)", b.f.Namespace(), err)
	}
	for _, c := range []struct{ ns, what string }{
		{b.outside, "link"}, {b.outside, "addr"}, {b.outside, "route"}, {vm, "link"},
	} {
		out, err := ipIn(b.ctx, c.ns, c.what)
		if err != nil {
			t.Fatal(err)
		}
		for _, leftover := range []string{b.f.OutsideLink(), "198.51.100.30", "169.254.254", "eth0"} {
			if strings.Contains(string(out), leftover) {
				t.Errorf("ip %s in %s still shows %s after Destroy:\n%s", c.what, c.ns, leftover, out)
			}
		}
	}
	if err := b.f.Destroy(b.ctx); err != nil {
		t.Errorf("Destroy twice: %v", err)
	}
}

func TestConcurrentPorts(t *testing.T) {
	b := setup(t)
	b.mustNetwork(t, "net-c", "10.84.0.0/24")
	const n = 6
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := b.f.AddTap(b.ctx, fmt.Sprintf("vm-%d", i), "net-c")
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	taps, err := b.f.Taps(b.ctx)
	if err != nil || len(taps) != n {
		t.Fatalf("Taps = %v, %v; want %d", taps, err, n)
	}
	for i, p := range taps {
		if p.VMID != fmt.Sprintf("vm-%d", i) || p.NetworkID != "net-c" || p.Kind != "tap" {
			t.Errorf("tap %d = %+v", i, p)
		}
	}
}

func mapping(pub, network, priv string) Mapping {
	return Mapping{Public: mustAddr(pub), NetworkID: network, Private: mustAddr(priv)}
}

// Two teams may pick the same range: equal addresses on two networks are two machines.
func TestOverlappingNetworks(t *testing.T) {
	b := setup(t)
	b.mustNetwork(t, "team-1", "10.90.0.0/24")
	b.mustNetwork(t, "team-2", "10.90.0.0/24")
	b.mustNetwork(t, "team-3", "10.90.0.0/16")
	x1 := b.fakeVM(t, "x1", "team-1", "10.90.0.2")
	y1 := b.fakeVM(t, "y1", "team-1", "10.90.0.3")
	x2 := b.fakeVM(t, "x2", "team-2", "10.90.0.2")
	z3 := b.fakeVM(t, "z3", "team-3", "10.90.0.4")

	mustPing(t, x1, "10.90.0.3")
	mustPing(t, x1, "10.90.0.1")
	mustPing(t, x2, "10.90.0.1")
	mustPing(t, z3, "10.90.0.1")
	// y1's and x1's addresses exist on team-1 only; the others ask their own segment.
	mustNotAnswer(t, x2, "10.90.0.3")
	mustNotAnswer(t, z3, "10.90.0.2")
	mustNotAnswer(t, z3, "10.90.0.3")
	for _, ns := range []string{x1, y1, x2} {
		listenIn(t, ns, "0.0.0.0:7000")
	}
	if got, err := dialFrom(b.ctx, y1, "10.90.0.2:7000"); err != nil || got != "10.90.0.3" {
		t.Errorf("TCP y1 -> x1 = %q, %v", got, err)
	}

	// The same private address on two networks behind two public addresses.
	if err := b.f.MapPublic(b.ctx, mustAddr("198.51.100.51"), mustAddr("10.90.0.2")); core.ErrorCode(err) != core.Conflict {
		t.Errorf("MapPublic of an address of three networks = %v, want Conflict", err)
	}
	if err := b.f.MapPublicOn(b.ctx, mapping("198.51.100.51", "team-1", "10.90.0.2")); err != nil {
		t.Fatal(err)
	}
	if err := b.f.MapPublicOn(b.ctx, mapping("198.51.100.52", "team-2", "10.90.0.2")); err != nil {
		t.Fatal(err)
	}
	listenIn(t, b.outside, b.f.OutsideAddr().String()+":7001")
	for _, c := range []struct{ ns, pub string }{{x1, "198.51.100.51"}, {x2, "198.51.100.52"}} {
		if got, err := dialFrom(b.ctx, c.ns, b.f.OutsideAddr().String()+":7001"); err != nil || got != c.pub {
			t.Errorf("TCP out from %s: outside saw %q, %v; want %s", c.ns, got, err, c.pub)
		}
	}
	// Both connect from the same port to the same server, and the server keeps x1's
	// connection open: two connections identical but for the network, which conntrack must
	// keep apart (conntrack zones).
	startHelper(t, b.outside, "hold "+b.f.OutsideAddr().String()+":7003")
	for _, c := range []struct{ ns, pub string }{{x1, "198.51.100.51"}, {x2, "198.51.100.52"}} {
		if got, err := dialFrom(b.ctx, c.ns, b.f.OutsideAddr().String()+":7003 40000"); err != nil || got != c.pub {
			t.Errorf("TCP out from %s port 40000: outside saw %q, %v; want %s", c.ns, got, err, c.pub)
		}
	}
	if _, err := dialFrom(b.ctx, y1, b.f.OutsideAddr().String()+":7001"); err == nil {
		t.Error("unmapped y1 reached the outside")
	}
	for _, pub := range []string{"198.51.100.51", "198.51.100.52"} {
		if got, err := dialFrom(b.ctx, b.outside, pub+":7000"); err != nil || got != b.f.OutsideAddr().String() {
			t.Errorf("TCP in to %s: %q, %v", pub, got, err)
		}
	}
	if err := b.f.UnmapPublic(b.ctx, mustAddr("198.51.100.51")); err != nil {
		t.Fatal(err)
	}
	if _, err := dialFrom(b.ctx, x1, b.f.OutsideAddr().String()+":7001"); err == nil {
		t.Error("x1 reached the outside after its mapping went")
	}
	if got, err := dialFrom(b.ctx, x2, b.f.OutsideAddr().String()+":7001"); err != nil || got != "198.51.100.52" {
		t.Errorf("x2 after x1's unmap: outside saw %q, %v", got, err)
	}
	ms, err := b.f.Mappings(b.ctx)
	if err != nil || len(ms) != 1 || ms[0] != mapping("198.51.100.52", "team-2", "10.90.0.2") {
		t.Errorf("Mappings = %v, %v", ms, err)
	}
}

// A namespace left by an earlier layout of the table (here: a table without the layout
// marker and a map of another type) is taken over on Open.
func TestOpenReplacesOldLayout(t *testing.T) {
	b := setup(t)
	old := "delete table ip hangar\nadd table ip hangar\nadd map ip hangar priv2pub { type ipv4_addr : ipv4_addr; }\n"
	if err := nft(b.ctx, b.f.Namespace(), old); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(b.ctx, b.cfg); err != nil {
		t.Fatalf("Open over an old layout: %v", err)
	}
	b.mustNetwork(t, "net-l", "10.86.0.0/24")
	vm := b.fakeVM(t, "l1", "net-l", "10.86.0.2")
	mustPing(t, vm, "10.86.0.1")
	if err := b.f.MapPublicOn(b.ctx, mapping("198.51.100.60", "net-l", "10.86.0.2")); err != nil {
		t.Fatal(err)
	}
	mustPing(t, b.outside, "198.51.100.60")
}
