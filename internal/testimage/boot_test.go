package testimage_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hangar/internal/cidata"
	"hangar/internal/testimage"
)

// bootTimeout bounds each wait for a marker; TCG on a busy two-core machine is slow.
const bootTimeout = 3 * time.Minute

type setup struct {
	img  testimage.Image
	dir  string
	boot testimage.Boot
}

// newSetup builds (or reuses) the image, and creates a blank 10G disk and the seed.
func newSetup(t *testing.T, machine string, seed cidata.Seed) setup {
	t.Helper()
	img := testimage.Ensure(t)
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", disk, "10G").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v: %s", err, out)
	}
	iso := filepath.Join(dir, "seed.iso")
	if err := seed.WriteISO(context.Background(), iso); err != nil {
		t.Fatal(err)
	}
	return setup{img: img, dir: dir, boot: testimage.Boot{
		Image: img, Machine: machine, Disk: disk, Seed: iso, QMP: filepath.Join(dir, "qmp.sock"),
	}}
}

func start(t *testing.T, b testimage.Boot) *testimage.VM {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	vm, err := testimage.Start(ctx, b)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		vm.Kill()
		if t.Failed() {
			t.Logf("console:\n%s", vm.Log())
		}
	})
	return vm
}

// markers returns the HANGAR-* lines of one boot, up to and including HANGAR-READY.
func markers(t *testing.T, vm *testimage.VM) []string {
	t.Helper()
	var got []string
	for {
		l, err := vm.Next("HANGAR-", bootTimeout)
		if err != nil {
			t.Fatalf("after markers %q: %v", got, err)
		}
		got = append(got, l.Text)
		if l.Text == testimage.MarkerReady {
			t.Logf("%s at %.2fs", l.Text, l.At.Seconds())
			return got
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	return string(body)
}

func powerdown(t *testing.T, s setup, vm *testimage.VM) {
	t.Helper()
	if _, err := testimage.QMP(s.boot.QMP, "system_powerdown", nil); err != nil {
		t.Fatal(err)
	}
	if err := vm.Wait(time.Minute); err != nil {
		t.Fatalf("qemu after system_powerdown: %v", err)
	}
}

// TestMicrovmBootScriptRunOnceAndPowerdown boots on microvm with a network, checks the
// markers, reads what the startup script wrote on /data through the guest's httpd, reboots
// with system_reset (the runOnce script must not run again, the disk keeps its data) and
// powers off through the ACPI power button.
func TestMicrovmBootScriptRunOnceAndPowerdown(t *testing.T) {
	script := "#!/bin/sh\n" +
		"echo \"$HANGAR_MACHINE_ID $(hostname) $(ip -o -4 addr show dev eth0 | awk '{print $4}') $(ip route | awk '/^default/{print $3}')\" > /data/hello\n" +
		"echo ran >> /data/count\n"
	s := newSetup(t, "microvm", cidata.Seed{
		MachineID: "pstest01", Hostname: "box-one", User: "u1",
		IP: netip.MustParsePrefix("10.0.2.15/24"), Gateway: netip.MustParseAddr("10.0.2.2"),
		Script: script, RunOnce: true,
	})
	port := freePort(t)
	s.boot.Netdev = fmt.Sprintf("user,restrict=on,hostfwd=tcp:127.0.0.1:%d-:80", port)
	vm := start(t, s.boot)

	want := []string{testimage.MarkerKernelUp, testimage.MarkerScriptRan + " rc=0", testimage.MarkerReady}
	if got := markers(t, vm); !slices.Equal(got, want) {
		t.Fatalf("first boot markers %q, want %q", got, want)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d/", port)
	if got, want := get(t, base+"hello"), "pstest01 box-one 10.0.2.15/24 10.0.2.2\n"; got != want {
		t.Errorf("/data/hello = %q, want %q", got, want)
	}

	if _, err := testimage.QMP(s.boot.QMP, "system_reset", nil); err != nil {
		t.Fatal(err)
	}
	want = []string{testimage.MarkerKernelUp, testimage.MarkerReady}
	if got := markers(t, vm); !slices.Equal(got, want) {
		t.Fatalf("markers after system_reset %q, want %q (runOnce script must not run again)", got, want)
	}
	if got := get(t, base+"count"); got != "ran\n" {
		t.Errorf("/data/count after reboot = %q, want one run", got)
	}
	powerdown(t, s, vm)
	if !strings.Contains(vm.Log(), "hangar-init: power button: /data unmounted") {
		t.Errorf("the power button did not unmount /data cleanly; console:\n%s", vm.Log())
	}
}

// TestQ35ScriptEveryBoot boots on q35 (virtio PCI) without a network; a script that is not
// runOnce runs on every boot and its exit status is reported.
func TestQ35ScriptEveryBoot(t *testing.T) {
	s := newSetup(t, "q35", cidata.Seed{
		MachineID: "pstest02", Hostname: "box-two",
		Script: "#!/bin/sh\necho boot >> /data/boots\nexit 3\n",
	})
	vm := start(t, s.boot)
	want := []string{testimage.MarkerKernelUp, testimage.MarkerScriptRan + " rc=3", testimage.MarkerReady}
	for boot := 1; boot <= 2; boot++ {
		if got := markers(t, vm); !slices.Equal(got, want) {
			t.Fatalf("boot %d markers %q, want %q", boot, got, want)
		}
		if boot == 1 {
			if _, err := testimage.QMP(s.boot.QMP, "system_reset", nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if log := vm.Log(); strings.Contains(log, "mke2fs") || strings.Contains(log, "failed") {
		t.Errorf("console reports a failure:\n%s", log)
	}
	powerdown(t, s, vm)
}

// TestTapNetwork boots on microvm with a tap device in a network namespace the test creates
// (the qemu driver's way) and fetches what the startup script wrote from inside that
// namespace at the address the seed assigned.
func TestTapNetwork(t *testing.T) {
	testimage.RequireTools(t, "ip", "busybox")
	if os.Geteuid() != 0 {
		if os.Getenv("HANGAR_REQUIRE_TOOLS") == "1" {
			t.Fatal("network namespaces need root")
		}
		t.Skip("network namespaces need root")
	}
	s := newSetup(t, "microvm", cidata.Seed{
		MachineID: "pstest03", Hostname: "box-three",
		IP: netip.MustParsePrefix("10.99.0.2/24"), Gateway: netip.MustParseAddr("10.99.0.1"),
		Script: "#!/bin/sh\nping -c 1 -W 5 \"$HANGAR_GATEWAY\" >/dev/null && echo gateway-ok > /data/ping\n",
	})
	ns := fmt.Sprintf("hangar-ti-%d", os.Getpid())
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", ns).Run() })
	ip("-n", ns, "link", "set", "lo", "up")
	ip("-n", ns, "tuntap", "add", "dev", "tap0", "mode", "tap")
	ip("-n", ns, "addr", "add", "10.99.0.1/24", "dev", "tap0")
	ip("-n", ns, "link", "set", "tap0", "up")
	s.boot.Netdev, s.boot.MAC = "tap,ifname=tap0,script=no,downscript=no", "52:54:00:99:00:02"
	s.boot.Wrap = []string{"ip", "netns", "exec", ns}
	vm := start(t, s.boot)

	want := []string{testimage.MarkerKernelUp, testimage.MarkerScriptRan + " rc=0", testimage.MarkerReady}
	if got := markers(t, vm); !slices.Equal(got, want) {
		t.Fatalf("markers %q, want %q", got, want)
	}
	// busybox 1.35's wget crashes with -T, so the context bounds it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "busybox", "wget", "-q", "-O", "-", "http://10.99.0.2/ping").CombinedOutput()
	if err != nil || string(out) != "gateway-ok\n" {
		t.Errorf("GET http://10.99.0.2/ping in %s = %q, %v; want the guest to have pinged its gateway", ns, out, err)
	}
	powerdown(t, s, vm)
}
