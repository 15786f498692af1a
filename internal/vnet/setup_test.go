package vnet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireTools skips the test unless it runs as root with ip, nft and ping available;
// HANGAR_REQUIRE_TOOLS=1 turns the skip into a failure.
func requireTools(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (network namespaces)")
	}
	for _, tool := range []string{"ip", "nft", "ping"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("vnet tests need %s (scripts/install-test-deps installs the tools)", strings.Join(missing, ", "))
	if os.Getenv("HANGAR_REQUIRE_TOOLS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func uniq() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newNS creates a named network namespace that is deleted when the test ends.
func newNS(t *testing.T, name string) string {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up in %s: %v: %s", name, err, out)
	}
	return name
}

// bundle is what setup gives a test.
type bundle struct {
	ctx     context.Context
	cfg     Config
	f       *Fabric
	outside string // the test's outside namespace
	id      string // unique part of every name of this test
}

// setup opens a fabric with its own outside namespace and checks, when the test ends,
// that Destroy ran and that the root namespace's addresses and routes did not change.
func setup(t *testing.T) *bundle {
	t.Helper()
	requireTools(t)
	before := rootState(t)
	t.Cleanup(func() {
		if after := rootState(t); after != before {
			t.Errorf("root namespace changed:\nbefore %s\nafter  %s", before, after)
		}
	})
	id := uniq()
	b := &bundle{ctx: testCtx(t), id: id, outside: newNS(t, "hgt-out-"+id)}
	b.cfg = Config{Prefix: "hgt", DataDir: filepath.Join(t.TempDir(), "data"), Outside: b.outside}
	f, err := Open(b.ctx, b.cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Destroy(context.Background()); err != nil {
			t.Errorf("Destroy: %v", err)
		}
	})
	b.f = f
	return b
}

// rootState is the root namespace's addresses and routes as ip prints them in JSON,
// without the fields that change by themselves (address lifetimes, route expiry).
func rootState(t *testing.T) string {
	t.Helper()
	var s []string
	for _, args := range [][]string{{"-j", "addr"}, {"-j", "route"}, {"-j", "-6", "route"}} {
		out, err := exec.Command("ip", args...).Output()
		if err != nil {
			t.Fatalf("ip %v: %v", args, err)
		}
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("ip %v: %v", args, err)
		}
		dropVolatile(v)
		norm, _ := json.Marshal(v)
		s = append(s, string(norm))
	}
	return strings.Join(s, "\n")
}

func dropVolatile(v any) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range []string{"valid_life_time", "preferred_life_time", "expires"} {
			delete(v, k)
		}
		for _, e := range v {
			dropVolatile(e)
		}
	case []any:
		for _, e := range v {
			dropVolatile(e)
		}
	}
}

// mustNetwork creates network id with cidr.
func (b *bundle) mustNetwork(t *testing.T, id, cidr string) Network {
	t.Helper()
	n, err := b.f.EnsureNetwork(b.ctx, id, cidr)
	if err != nil {
		t.Fatalf("EnsureNetwork(%s, %s): %v", id, cidr, err)
	}
	return n
}

// fakeVM is a network namespace standing for a VM: it is plugged into network netID with
// AddVeth and configures its eth0 as the guest's /init would (address, default route).
func (b *bundle) fakeVM(t *testing.T, vmID, netID, addr string) string {
	t.Helper()
	ns := newNS(t, "hgt-vm-"+b.id+"-"+vmID)
	if _, err := b.f.AddVeth(b.ctx, vmID, netID, ns); err != nil {
		t.Fatalf("AddVeth(%s): %v", vmID, err)
	}
	n, err := b.f.network(b.ctx, netID)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"addr", "add", fmt.Sprintf("%s/%d", addr, n.CIDR.Bits()), "dev", "eth0"},
		{"link", "set", "eth0", "up"},
		{"route", "add", "default", "via", n.Gateway.String()},
	} {
		if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("fake vm %s: ip %v: %v: %s", vmID, args, err, out)
		}
	}
	return ns
}

// ping sends one echo request from namespace ns to addr and returns ping's output.
// mustNotAnswer checks that nothing answers at addr from ns, for addresses on the sender's
// own segment: the sender asks by ARP and nobody replies, the fabric is not involved.
func mustNotAnswer(t *testing.T, ns, addr string) {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "ping", "-n", "-c", "1", "-W", "1", addr).CombinedOutput()
	if err == nil {
		t.Fatalf("ping %s from %s succeeded, want no answer:\n%s", addr, ns, out)
	}
}

func ping(ns string, addr string) (string, error) {
	out, err := exec.Command("ip", "netns", "exec", ns, "ping", "-n", "-c", "1", "-W", "2", addr).CombinedOutput()
	return string(out), err
}

func mustPing(t *testing.T, ns, addr string) {
	t.Helper()
	if out, err := ping(ns, addr); err != nil {
		t.Fatalf("ping %s from %s failed: %v\n%s", addr, ns, err, out)
	}
}

// mustNotPing checks that addr is unreachable from ns; ping's output must show why
// (filtered by the fabric or no route), so that a broken test setup cannot pass.
func mustNotPing(t *testing.T, ns, addr string) {
	t.Helper()
	out, err := ping(ns, addr)
	if err == nil {
		t.Fatalf("ping %s from %s succeeded, want unreachable:\n%s", addr, ns, out)
	}
	if !strings.Contains(out, "filtered") && !strings.Contains(out, "unreachable") {
		t.Fatalf("ping %s from %s failed for an unexpected reason: %v\n%s", addr, ns, err, out)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
