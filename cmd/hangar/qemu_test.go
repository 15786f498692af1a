package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"hangar/internal/testimage"
	"hangar/internal/vnet"
)

// End-to-end tests of `hangar serve --driver qemu` with real guests under TCG: the test
// template (scripts/build-test-image) boots in about 4 s on microvm. They skip when QEMU, the
// image or root (network namespaces) is missing, unless HANGAR_REQUIRE_TOOLS=1.

// vmEnv is what a real-VM test needs.
type vmEnv struct {
	kernel, initrd string
	outside        string // a network namespace standing for the outside world
}

func requireVMs(t testing.TB) vmEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("boots real VMs; skipped with -short")
	}
	missing := func(what string) {
		t.Helper()
		msg := "skipping real-VM test: " + what + " (run scripts/install-test-deps and scripts/build-test-image)"
		if os.Getenv("HANGAR_REQUIRE_TOOLS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if os.Geteuid() != 0 {
		missing("not root (network namespaces need it)")
	}
	testimage.RequireTools(t, "ip", "nft")
	var e vmEnv
	img := testimage.Ensure(t)
	e.kernel, e.initrd = img.Kernel, img.Initrd
	var b [4]byte
	_, _ = rand.Read(b[:])
	e.outside = "hqout-" + hex.EncodeToString(b[:])
	if out, err := exec.Command("ip", "netns", "add", e.outside).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", e.outside).Run() })
	return e
}

// vmData is a data directory with a short path (QMP socket paths are limited) whose network
// fabric is destroyed when the test ends.
func vmData(t testing.TB, e vmEnv) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hq")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Whatever a failed test left running: QEMU of this data directory, then the fabric.
		killVMs(dir)
		if f, err := vnet.Open(context.Background(), vnet.Config{DataDir: dir, Outside: e.outside}); err == nil {
			_ = f.Destroy(context.Background())
		}
		os.RemoveAll(dir)
	})
	return dir
}

// qemuPids returns the pids of QEMU processes whose command line mentions dir.
func qemuPids(dir string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		if st, _ := os.ReadFile("/proc/" + e.Name() + "/stat"); strings.Contains(string(st), ") Z ") {
			continue
		}
		if strings.Contains(string(b), "qemu-system") && strings.Contains(string(b), dir+"/") {
			out = append(out, pid)
		}
	}
	return out
}

func killVMs(dir string) {
	for _, pid := range qemuPids(dir) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// qemuFlags are the serve flags of the real-VM tests: small guests, the outside namespace.
func qemuFlags(e vmEnv) []string {
	return []string{"--driver", "qemu", "--qemu-accel", "auto", "--qemu-max-cpus", "1", "--qemu-max-ram-mb", "160",
		"--qemu-outside-netns", e.outside, "--qemu-host", "vmhost", "--qemu-slots", "12", "--qemu-watch-interval", "500ms"}
}

// kernelTemplate creates the test template through hangar admin and returns its id.
func kernelTemplate(t testing.TB, ts *testServer, e vmEnv) string {
	t.Helper()
	var tmpl struct{ ID string }
	ts.admin(t, &tmpl, "templates", "create", "--name", "Hangar test", "--os", "Hangar test (busybox)",
		"--kernel", e.kernel, "--initrd", e.initrd)
	return tmpl.ID
}

// fetch reads a file a guest serves on port 80, from the outside namespace.
func fetch(t *testing.T, e vmEnv, ip, file string) string {
	t.Helper()
	var out string
	var err error
	for range 20 {
		if out, err = httpGetIn(e.outside, ip, file); err == nil {
			return out
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("fetch http://%s/%s from outside: %v %s", ip, file, err, out)
	return ""
}

// httpGetIn sends GET /file to ip:80 from network namespace ns: the socket is made on an OS
// thread that entered ns (and is thrown away afterwards, as it stays locked).
func httpGetIn(ns, ip, file string) (string, error) {
	type result struct {
		body string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		body, err := func() (string, error) {
			f, err := os.Open("/run/netns/" + ns)
			if err != nil {
				return "", err
			}
			defer f.Close()
			if errno := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); errno != nil {
				return "", errno
			}
			conn, err := net.DialTimeout("tcp", net.JoinHostPort(ip, "80"), 3*time.Second)
			if err != nil {
				return "", err
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(conn, "GET /%s HTTP/1.0\r\nHost: %s\r\n\r\n", file, ip)
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				return "", err
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			if res.StatusCode != 200 {
				return string(b), fmt.Errorf("HTTP %d", res.StatusCode)
			}
			return string(b), err
		}()
		ch <- result{body, err}
	}()
	r := <-ch
	return r.body, r.err
}

func createVM(t testing.TB, ts *testServer, key string, body map[string]any) map[string]any {
	t.Helper()
	req := map[string]any{"region": "East Coast (NY2)", "machineType": "C2", "size": 50, "billingType": "hourly"}
	for k, v := range body {
		req[k] = v
	}
	var m map[string]any
	if st := ts.do(t, key, "POST", "/machines/createSingleMachinePublic", req, &m); st != 200 {
		t.Fatalf("create %v: HTTP %d %v", req, st, m)
	}
	return m
}

func createScript(t *testing.T, ts *testServer, key, name, text string) string {
	t.Helper()
	var sc map[string]any
	if st := ts.do(t, key, "POST", "/scripts/createScript", map[string]any{"scriptName": name, "scriptText": text}, &sc); st != 200 {
		t.Fatalf("createScript: %d %v", st, sc)
	}
	return sc["id"].(string)
}

// TestQEMUMachines runs real machines through the Paperspace API: templates without an image
// are refused; a startup script runs in the guest and its output is read back over HTTP
// through the machine's public IP (1:1 NAT from the outside namespace); machines on one
// network reach each other and not a machine on another network; stop, start and restart are
// real; destroy leaves no process, disk or tap behind.
func TestQEMUMachines(t *testing.T) {
	t.Parallel() // at most -parallel (GOMAXPROCS) real-VM tests at once, after the serial tests
	e := requireVMs(t)
	data := vmData(t, e)
	ts := startServerIn(t, data, qemuFlags(e)...)

	// Templates without an image cannot be created, nor machines made from them.
	var errBody map[string]map[string]any
	if st := ts.do(t, ts.Key, "POST", "/hangar/v1/templates", map[string]any{"name": "empty", "os": "Ubuntu 22.04"}, &errBody); st != 400 ||
		!strings.Contains(fmt.Sprint(errBody["error"]["message"]), "no image") || errBody["error"]["status"] != float64(400) {
		t.Errorf("template without image: HTTP %d %v, want 400 naming the missing image", st, errBody)
	}
	var stdout, stderr syncBuffer
	code := run(context.Background(), []string{"admin", "--url", ts.URL, "--api-key", ts.Key, "templates", "create",
		"--name", "empty", "--os", "Ubuntu 22.04"}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stdout.String()+stderr.String(), "no image") {
		t.Errorf("hangar admin templates create without an image: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	var hosts []map[string]any
	ts.admin(t, &hosts, "hosts", "list")
	if len(hosts) != 1 || hosts[0]["name"] != "vmhost" || fmt.Sprint(hosts[0]["hypervisor"]) != "map[accelerator:tcg driver:qemu]" {
		t.Errorf("hosts = %v, want only vmhost with qemu/tcg (KVM cannot boot stock kernels here)", hosts)
	}

	tmpl := kernelTemplate(t, ts, e)
	team := ts.newTeam(t, "Acme")
	admin := ts.newAccount(t, team, "ada@acme.test", true)
	var netA, netB struct{ ID string }
	ts.admin(t, &netA, "networks", "create", "--team", team, "--name", "a", "--region", "East Coast (NY2)", "--cidr", "10.70.1.0/24")
	ts.admin(t, &netB, "networks", "create", "--team", team, "--name", "b", "--region", "East Coast (NY2)", "--cidr", "10.70.2.0/24")

	var bad map[string]map[string]any
	if st := ts.do(t, admin.Key, "POST", "/machines/createSingleMachinePublic", map[string]any{"region": "East Coast (NY2)",
		"machineType": "C2", "size": 50, "billingType": "hourly", "templateId": "t04azgph", "machineName": "x"}, &bad); st != 400 ||
		!strings.Contains(fmt.Sprint(bad["error"]["message"]), "no image") {
		t.Errorf("create from an imageless template: HTTP %d %v, want 400", st, bad)
	}

	// m1 on network A and m3 on network B come up first; m2 (A, public IP) then pings both.
	m1 := createVM(t, ts, admin.Key, map[string]any{"templateId": tmpl, "networkId": netA.ID, "machineName": "m1"})
	m3 := createVM(t, ts, admin.Key, map[string]any{"templateId": tmpl, "networkId": netB.ID, "machineName": "m3"})
	ip1, ip3 := m1["privateIpAddress"].(string), m3["privateIpAddress"].(string)
	t0 := time.Now()
	script := createScript(t, ts, admin.Key, "probe", fmt.Sprintf("#!/bin/sh\necho \"hello from $(hostname)\" > hello\necho \"$HANGAR_USER\" > user\n"+
		"if ping -c 1 -W 5 %s >/dev/null; then echo reachable; else echo unreachable; fi > same-net\n"+
		"if ping -c 1 -W 2 %s >/dev/null; then echo reachable; else echo unreachable; fi > other-net\n"+
		"n=$(cat boots 2>/dev/null || echo 0); echo $((n+1)) > boots\n", ip1, ip3))
	waitVM(t, ts, admin.Key, m1["id"].(string), "ready", 3*time.Minute)
	waitVM(t, ts, admin.Key, m3["id"].(string), "ready", 3*time.Minute)
	t.Logf("m1 and m3 ready in %v", time.Since(t0).Round(10*time.Millisecond))
	created := time.Now()
	m2 := createVM(t, ts, admin.Key, map[string]any{"templateId": tmpl, "networkId": netA.ID, "machineName": "m2",
		"assignPublicIp": true, "scriptId": script})
	id2 := m2["id"].(string)
	pub := m2["publicIpAddress"].(string)
	seen := map[string]bool{}
	deadline := time.Now().Add(3 * time.Minute)
	for !seen["ready"] && time.Now().Before(deadline) {
		var m map[string]any
		ts.do(t, admin.Key, "GET", "/machines/getMachinePublic?machineId="+id2, nil, &m)
		if st := fmt.Sprint(m["state"]); !seen[st] {
			seen[st] = true
			t.Logf("m2 %s after %v", st, time.Since(created).Round(10*time.Millisecond))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, s := range []string{"starting", "serviceready", "ready"} {
		if !seen[s] {
			t.Errorf("machine never seen %s (seen %v)", s, seen)
		}
	}
	var m map[string]any
	ts.do(t, admin.Key, "GET", "/machines/getMachinePublic?machineId="+id2, nil, &m)
	if m["dtLastRun"] == nil || m["storageTotal"] != "53687091200" || m["cpus"] != float64(1) || m["ram"] != "167772160" ||
		m["os"] != "Hangar test (busybox)" {
		t.Errorf("ready machine: dtLastRun %v storageTotal %v cpus %v ram %v os %v", m["dtLastRun"], m["storageTotal"], m["cpus"], m["ram"], m["os"])
	}
	if got := fetch(t, e, pub, "hello"); got != "hello from m2\n" {
		t.Errorf("hello = %q", got)
	}
	if got := fetch(t, e, pub, "user"); got != "ada@acme.test\n" {
		t.Errorf("the guest's assigned user = %q", got)
	}
	if got := fetch(t, e, pub, "same-net"); got != "reachable\n" {
		t.Errorf("m2 -> m1 on the same network: %q", got)
	}
	if got := fetch(t, e, pub, "other-net"); got != "unreachable\n" {
		t.Errorf("m2 -> m3 on another network: %q", got)
	}
	if out, err := httpGetIn(e.outside, ip1, "hello"); err == nil {
		t.Errorf("machine without public IP reachable from outside: %s", out)
	}

	// stop, start and restart really power the guest: the script counts its boots on disk.
	power := func(action, state string) {
		if st := ts.do(t, admin.Key, "POST", "/machines/"+id2+"/"+action, nil, nil); st != 204 {
			t.Fatalf("%s: HTTP %d", action, st)
		}
		start := time.Now()
		waitVM(t, ts, admin.Key, id2, state, 3*time.Minute)
		t.Logf("%s -> %s in %v", action, state, time.Since(start).Round(10*time.Millisecond))
	}
	pids := qemuPids(data)
	power("stop", "off")
	if len(qemuPids(data)) != len(pids)-1 {
		t.Errorf("after stop: QEMU processes %v, before %v", qemuPids(data), pids)
	}
	power("start", "ready")
	if got := fetch(t, e, pub, "boots"); got != "2\n" {
		t.Errorf("boots after stop/start = %q", got)
	}
	before := qemuPids(data)
	power("restart", "ready")
	if got := fetch(t, e, pub, "boots"); got != "3\n" {
		t.Errorf("boots after restart = %q", got)
	}
	if after := qemuPids(data); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("restart changed the QEMU processes %v -> %v; want a guest reboot", before, after)
	}

	// A VM that dies on its own is shown off, with a stop event in error.
	id1 := m1["id"].(string)
	pid1, _ := strconv.Atoi(strings.TrimSpace(readFileString(filepath.Join(data, "vms", id1, "qemu.pid"))))
	if pid1 == 0 || syscall.Kill(pid1, syscall.SIGKILL) != nil {
		t.Fatalf("cannot kill m1's QEMU (pid %d)", pid1)
	}
	lost := waitVM(t, ts, admin.Key, id1, "off", time.Minute)
	if evs, _ := lost["events"].([]any); len(evs) == 0 || !strings.Contains(fmt.Sprint(evs[0]), "stopped unexpectedly") {
		t.Errorf("events of the lost machine: %v", lost["events"])
	}

	// Destroy leaves nothing behind.
	for _, id := range []string{m1["id"].(string), id2, m3["id"].(string)} {
		if st := ts.do(t, admin.Key, "POST", "/machines/"+id+"/destroyMachine", nil, nil); st != 204 {
			t.Fatalf("destroy %s: HTTP %d", id, st)
		}
	}
	f, err := vnet.Open(context.Background(), vnet.Config{DataDir: data, Outside: e.outside})
	if err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(time.Minute)
	for {
		taps, _ := f.Taps(context.Background())
		vms, _ := os.ReadDir(filepath.Join(data, "vms"))
		maps, _ := f.Mappings(context.Background())
		if len(qemuPids(data)) == 0 && len(taps) == 0 && len(vms) == 0 && len(maps) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after destroy: qemu %v, taps %v, vm dirs %d, public mappings %v", qemuPids(data), taps, len(vms), maps)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitVM waits for a real machine to reach state; on failure it shows the machine with its
// events, the server's log and the guest's serial console.
func waitVM(t testing.TB, ts *testServer, key, id, state string, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	var m map[string]any
	for time.Now().Before(deadline) {
		m = nil
		if ts.do(t, key, "GET", "/machines/getMachinePublic?machineId="+id, nil, &m) == 200 && m["state"] == state {
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
	serial, _ := os.ReadFile(filepath.Join(ts.Data, "vms", id, "serial.log"))
	qlog, _ := os.ReadFile(filepath.Join(ts.Data, "vms", id, "qemu.log"))
	t.Fatalf("machine %s did not reach %s within %v: %v\nserver log:\n%s\nserial:\n%s\nqemu:\n%s", id, state, within, m, ts.out, serial, qlog)
	return nil
}

// TestQEMUReattachAfterKill9 kills hangar serve with SIGKILL while one VM is ready and another
// is booting: both VMs keep running, and the next hangar serve finds them through their
// pidfiles and QMP sockets, finishes the interrupted start without a second QEMU, stops one
// over QMP and destroys both.
func TestQEMUReattachAfterKill9(t *testing.T) {
	t.Parallel() // at most -parallel (GOMAXPROCS) real-VM tests at once, after the serial tests
	e := requireVMs(t)
	data := vmData(t, e)
	p := startProc(t, data, qemuFlags(e)...)
	ts := p.ts(readKey(t, data))
	var tmpl map[string]any
	if st := ts.do(t, ts.Key, "POST", "/hangar/v1/templates", map[string]any{"name": "test", "os": "Hangar test (busybox)",
		"kernel": e.kernel, "initrd": e.initrd}, &tmpl); st != 200 {
		t.Fatalf("template: %d %v", st, tmpl)
	}
	key := newTeamAdmin(t, ts)
	a := createVM(t, ts, key, map[string]any{"templateId": tmpl["id"], "machineName": "a"})["id"].(string)
	waitVM(t, ts, key, a, "ready", 3*time.Minute)
	b := createVM(t, ts, key, map[string]any{"templateId": tmpl["id"], "machineName": "b"})["id"].(string)
	waitVM(t, ts, key, b, "starting", time.Minute)
	for len(qemuPids(data)) < 2 { // b's QEMU is being launched
		time.Sleep(20 * time.Millisecond)
	}
	before := qemuPids(data)
	p.kill9(t)

	time.Sleep(500 * time.Millisecond)
	if got := qemuPids(data); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("QEMU processes after kill -9 of hangar: %v, before %v", got, before)
	}
	p = startProc(t, data, qemuFlags(e)...)
	ts = p.ts(ts.Key)
	waitVM(t, ts, key, b, "ready", 3*time.Minute)
	if got := qemuPids(data); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("QEMU processes after the restart: %v, want the same %v (reattached, not relaunched)", got, before)
	}
	var m map[string]any
	ts.do(t, key, "GET", "/machines/getMachinePublic?machineId="+a, nil, &m)
	if m["state"] != "ready" {
		t.Errorf("a after the restart: %v", m["state"])
	}
	if st := ts.do(t, key, "POST", "/machines/"+a+"/stop", nil, nil); st != 204 {
		t.Fatalf("stop: %d", st)
	}
	waitVM(t, ts, key, a, "off", 2*time.Minute)
	if got := qemuPids(data); len(got) != 1 {
		t.Errorf("after stopping a: QEMU processes %v, want only b's", got)
	}
	for _, id := range []string{a, b} {
		if st := ts.do(t, key, "POST", "/machines/"+id+"/destroyMachine", nil, nil); st != 204 {
			t.Fatalf("destroy %s: %d", id, st)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for {
		vms, _ := os.ReadDir(filepath.Join(data, "vms"))
		if len(qemuPids(data)) == 0 && len(vms) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after destroy: qemu %v, vm dirs %d", qemuPids(data), len(vms))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestQEMUNodeCLI runs the official paperspace CLI scenario once against real VMs: create,
// waitfor ready, stop, waitfor off, start, waitfor ready, destroy.
func TestQEMUNodeCLI(t *testing.T) {
	t.Parallel() // at most -parallel (GOMAXPROCS) real-VM tests at once, after the serial tests
	e := requireVMs(t)
	cli := findPaperspaceCLI(t)
	data := vmData(t, e)
	ts := startServerIn(t, data, qemuFlags(e)...)
	tmpl := kernelTemplate(t, ts, e)
	team := ts.newTeam(t, "Acme")
	admin := ts.newAccount(t, team, "ada@acme.test", true)
	ps := func(args ...string) psResult {
		return cli.exec(t, psOpts{host: ts.URL, key: admin.Key, urgent: true, timeout: 4 * time.Minute}, args...)
	}
	m := checkMachine(t, ps(createArgs("node-qemu", "--templateId", tmpl, "--machineType", "C2")...).object(t))
	id := m["id"].(string)
	want(t, "create", m, "state", "provisioning", "machineType", "C2")
	w := checkMachine(t, ps("machines", "waitfor", "--machineId", id, "--state", "ready").object(t))
	want(t, "waitfor ready", w, "state", "ready", "os", "Hangar test (busybox)", "storageTotal", "53687091200", "cpus", 1)
	if len(qemuPids(data)) != 1 {
		t.Fatalf("ready, but QEMU processes %v", qemuPids(data))
	}
	ps("machines", "stop", "--machineId", id).noContent(t)
	want(t, "waitfor off", ps("machines", "waitfor", "--machineId", id, "--state", "off").object(t), "state", "off")
	if len(qemuPids(data)) != 0 {
		t.Fatalf("off, but QEMU processes %v", qemuPids(data))
	}
	ps("machines", "start", "--machineId", id).noContent(t)
	want(t, "waitfor ready after start", ps("machines", "waitfor", "--machineId", id, "--state", "ready").object(t), "state", "ready")
	ps("machines", "destroy", "--machineId", id).noContent(t)
	ps("machines", "show", "--machineId", id).apiError(t, 404, "not found")
	deadline := time.Now().Add(time.Minute)
	for len(qemuPids(data)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after destroy: QEMU processes %v", qemuPids(data))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestQEMUGPUInventory configures one (absent) P4000 for VFIO passthrough: the host offers
// exactly one P4000 slot and no other GPU type, availability says so, a second P4000 create is
// refused while the first holds the GPU, and the first's start fails because QEMU cannot open
// the device (GPU passthrough is untested without GPUs; this checks what can be checked).
func TestQEMUGPUInventory(t *testing.T) {
	t.Parallel() // at most -parallel (GOMAXPROCS) real-VM tests at once, after the serial tests
	e := requireVMs(t)
	data := vmData(t, e)
	ts := startServerIn(t, data, append(qemuFlags(e), "--qemu-net", "none", "--qemu-gpu", "Quadro P4000=0000:65:00.0")...)
	var hosts []map[string]any
	ts.admin(t, &hosts, "hosts", "list")
	if len(hosts) != 1 {
		t.Fatalf("hosts = %v", hosts)
	}
	capacity, _ := hosts[0]["capacity"].(map[string]any)
	if capacity["P4000"] != float64(1) || capacity["P5000"] != float64(0) || capacity["V100"] != float64(0) || capacity["C2"] != float64(12) {
		t.Errorf("capacity = %v, want P4000=1, other GPU types 0, CPU types 12", capacity)
	}
	if got := fmt.Sprint(hosts[0]["hypervisor"]); got != "map[accelerator:tcg driver:qemu gpus:map[Quadro P4000:[0000:65:00.0]]]" {
		t.Errorf("hypervisor = %s", got)
	}
	tmpl := kernelTemplate(t, ts, e)
	key := newTeamAdmin(t, ts)
	avail := func(mt string) any {
		var a map[string]any
		ts.do(t, key, "GET", "/machines/getAvailability?region=East%20Coast%20(NY2)&machineType="+mt, nil, &a)
		return a["available"]
	}
	if avail("P4000") != true || avail("P5000") != false {
		t.Errorf("availability P4000 %v P5000 %v, want true false", avail("P4000"), avail("P5000"))
	}
	g1 := createVM(t, ts, key, map[string]any{"templateId": tmpl, "machineName": "gpu1", "machineType": "P4000"})["id"].(string)
	var bad map[string]map[string]any
	if st := ts.do(t, key, "POST", "/machines/createSingleMachinePublic", map[string]any{"region": "East Coast (NY2)",
		"machineType": "P4000", "size": 50, "billingType": "hourly", "templateId": tmpl, "machineName": "gpu2"}, &bad); st != 400 {
		t.Errorf("second P4000 while the first holds the only GPU: HTTP %d %v, want 400", st, bad)
	}
	m := waitVM(t, ts, key, g1, "off", 2*time.Minute)
	evs, _ := m["events"].([]any)
	if len(evs) == 0 || !strings.Contains(fmt.Sprint(evs[0]), "error") {
		t.Errorf("events = %v, want the start to have failed", evs)
	}
	qlog, _ := os.ReadFile(filepath.Join(data, "vms", g1, "qemu.log"))
	if !strings.Contains(string(qlog), "0000:65:00.0") {
		t.Errorf("QEMU's error does not name the passed-through device:\n%s\nevents: %v", qlog, evs)
	}
	if avail("P4000") != true {
		t.Error("the failed start did not give the GPU back")
	}
}

func readFileString(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}
