package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hangar/internal/cidata"
	"hangar/internal/testimage"
)

// BenchmarkQEMUCreateToReady compares create → ready through the Paperspace API of
// `hangar serve --driver qemu` (HTTP create, then polling getMachinePublic every 10 ms) with
// launching the same image with plain QEMU (exec → HANGAR-READY on the serial console, the
// command line of testimage.Boot), alternating the two in each iteration so both see the same
// load. Both guests are microvm, TCG, 1 vCPU, 256 MiB, a fresh 50G qcow2 disk, a cidata seed
// and a NIC (the API's on the vnet fabric, plain QEMU's on restricted user-mode networking).
//
//	go test -run '^$' -bench QEMUCreateToReady -benchtime 5x ./cmd/hangar
//
// Metrics: s/api-ready, s/plain-ready, x-plain (their ratio; the target is ≤ 1.15).
func BenchmarkQEMUCreateToReady(b *testing.B) {
	e := requireVMs(b)
	data := vmData(b, e)
	ts := startServerIn(b, data, append(qemuFlags(e), "--qemu-max-ram-mb", "256")...)
	tmpl := kernelTemplate(b, ts, e)
	key := newTeamAdminTB(b, ts)
	img := testimage.Image{Kernel: e.kernel, Initrd: e.initrd}
	var api, plain time.Duration
	b.ResetTimer()
	for i := range b.N {
		viaAPI := func() {
			start := time.Now()
			id := createVM(b, ts, key, map[string]any{"templateId": tmpl, "machineName": fmt.Sprintf("bench-%d", i)})["id"].(string)
			waitVM(b, ts, key, id, "ready", 3*time.Minute)
			api += time.Since(start)
			b.Logf("API boot %d: ready after %v", i, time.Since(start))
			destroyAndWait(b, ts, key, data, id)
		}
		// Alternate which goes first, so that neither always follows the other's teardown.
		if i%2 == 0 {
			plain += plainBoot(b, img, i)
			viaAPI()
		} else {
			viaAPI()
			plain += plainBoot(b, img, i)
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(api.Seconds()/n, "s/api-ready")
	b.ReportMetric(plain.Seconds()/n, "s/plain-ready")
	b.ReportMetric(api.Seconds()/plain.Seconds(), "x-plain")
}

// BenchmarkQEMUParallel10 creates 10 machines at once through the API and waits until all are
// ready; then it measures each VM's proportional set size (PSS) while they idle.
//
//	go test -run '^$' -bench QEMUParallel10 -benchtime 1x ./cmd/hangar
//
// Metrics: s/first-ready, s/last-ready, MiB-PSS/vm (mean), MiB-RSS/vm (mean).
func BenchmarkQEMUParallel10(b *testing.B) {
	e := requireVMs(b)
	data := vmData(b, e)
	ts := startServerIn(b, data, append(qemuFlags(e), "--qemu-max-ram-mb", "128")...)
	tmpl := kernelTemplate(b, ts, e)
	key := newTeamAdminTB(b, ts)
	var first, last time.Duration
	var pss, rss float64
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		ids := make([]string, 10)
		for j := range ids {
			ids[j] = createVM(b, ts, key, map[string]any{"templateId": tmpl, "machineName": fmt.Sprintf("p%d-%d", i, j)})["id"].(string)
		}
		var mu sync.Mutex
		var took []time.Duration
		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Go(func() {
				waitVM(b, ts, key, id, "ready", 5*time.Minute)
				mu.Lock()
				took = append(took, time.Since(start))
				mu.Unlock()
			})
		}
		wg.Wait()
		sort.Slice(took, func(a, c int) bool { return took[a] < took[c] })
		first += took[0]
		last += took[len(took)-1]
		time.Sleep(2 * time.Second) // idle, as a machine sits after boot
		pids := qemuPids(data)
		for _, pid := range pids {
			p, r := memOf(b, pid)
			pss += p / float64(len(pids))
			rss += r / float64(len(pids))
		}
		for _, id := range ids {
			destroyAndWait(b, ts, key, data, id)
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(first.Seconds()/n, "s/first-ready")
	b.ReportMetric(last.Seconds()/n, "s/last-ready")
	b.ReportMetric(pss/n, "MiB-PSS/vm")
	b.ReportMetric(rss/n, "MiB-RSS/vm")
}

// plainBoot launches the test image with plain QEMU and returns exec → HANGAR-READY.
func plainBoot(b *testing.B, img testimage.Image, i int) time.Duration {
	b.Helper()
	dir, err := os.MkdirTemp("", "hqp")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	disk := filepath.Join(dir, "disk.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", disk, "50G").CombinedOutput(); err != nil {
		b.Fatalf("qemu-img create: %v: %s", err, out)
	}
	iso := filepath.Join(dir, "seed.iso")
	if err := (cidata.Seed{MachineID: fmt.Sprintf("psplain%d", i), Hostname: "plain"}).WriteISO(context.Background(), iso); err != nil {
		b.Fatal(err)
	}
	boot := testimage.Boot{Image: img, Disk: disk, Seed: iso, Netdev: "user,restrict=on", QMP: filepath.Join(dir, "qmp.sock")}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	vm, err := testimage.Start(ctx, boot)
	if err != nil {
		b.Fatal(err)
	}
	defer vm.Kill()
	l, err := vm.Next(testimage.MarkerReady, 3*time.Minute)
	if err != nil {
		b.Fatalf("plain boot: %v\n%s", err, vm.Log())
	}
	b.Logf("plain boot %d: ready after %v", i, l.At)
	return l.At
}

func destroyAndWait(b testing.TB, ts *testServer, key, data, id string) {
	b.Helper()
	if st := ts.do(b, key, "POST", "/machines/"+id+"/destroyMachine", nil, nil); st != 204 {
		b.Fatalf("destroy %s: %d", id, st)
	}
	for deadline := time.Now().Add(time.Minute); ; {
		if _, err := os.Stat(filepath.Join(data, "vms", id)); os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("destroy of %s did not finish", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// memOf returns a process's PSS and RSS in MiB (from /proc/<pid>/smaps_rollup).
func memOf(b testing.TB, pid int) (pss, rss float64) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "Pss:":
			pss = kb / 1024
		case "Rss:":
			rss = kb / 1024
		}
	}
	return pss, rss
}

// newTeamAdminTB is newTeamAdmin for benchmarks: a team with an admin and its API key.
func newTeamAdminTB(b testing.TB, ts *testServer) string {
	b.Helper()
	team := ts.newTeam(b, "Bench")
	return ts.newAccount(b, team, "bench@example.com", true).Key
}
