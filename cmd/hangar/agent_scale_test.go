package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hangar/internal/agent"
	"hangar/internal/core"
	"hangar/internal/hypervisor/sim"
)

// TestAgentScale is the fleet benchmark of BENCHMARKS.md: HANGAR_AGENT_SCALE_HOSTS agents
// (e.g. 1000; the test is skipped without it) run in this process, each a real agent.Agent with
// the sim driver, joined to a `hangar serve` process and heartbeating at the default interval.
// It measures the control plane's CPU while they only heartbeat, then the latency of creates
// spread over them (each create places the machine inside its transaction), and fails if a
// host goes unavailable or a create fails.
func TestAgentScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("HANGAR_AGENT_SCALE_HOSTS"))
	if n <= 0 {
		t.Skip("set HANGAR_AGENT_SCALE_HOSTS=1000 to run the fleet benchmark")
	}
	data := t.TempDir()
	cp := startProc(t, data, "--no-default-fleet", "--sim-time-scale", "0.05", "--sim-serviceready-min", "200ms",
		"--key-rate", "0", "--address-rate", "0", "--quota", "machines=-1", "--quota", "running=-1")
	ts := cp.ts(readKey(t, data))
	admin := newTeamAdmin(t, ts)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	cat := core.DefaultCatalog()
	for i := range n {
		a, err := agent.New(agent.Config{Server: cp.url, Token: joinToken(t, ts, ny2, "1h"), Data: t.TempDir(),
			Name: fmt.Sprintf("s%04d", i), DriverName: "sim", Version: "scale",
			Driver: sim.New(sim.DefaultTimings().Scaled(0.05, 200*time.Millisecond), cat), Capacity: map[string]int{"C5": 2}})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if err := a.Run(ctx); err != nil {
				t.Errorf("agent: %v", err)
			}
		})
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		up := 0
		for _, h := range hostsByName(t, ts) {
			if h.State == "up" {
				up++
			}
		}
		if up == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d hosts up", up, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(6 * time.Second) // every agent in its steady long poll
	const window = 30 * time.Second
	before := cpuTicks(t, cp.cmd.Process.Pid)
	time.Sleep(window)
	used := time.Duration(cpuTicks(t, cp.cmd.Process.Pid)-before) * 10 * time.Millisecond
	t.Logf("%d hosts heartbeating (5 s long poll): control plane CPU %.1f%% of one core over %v",
		n, 100*used.Seconds()/window.Seconds(), window)

	const creates = 500
	lat := make([]time.Duration, creates)
	var cw sync.WaitGroup
	sem := make(chan struct{}, 16)
	start := time.Now()
	for i := range creates {
		cw.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			t0 := time.Now()
			var m map[string]any
			if st := ts.do(t, admin, "POST", "/machines/createSingleMachinePublic", createBody(fmt.Sprint("s", i)), &m); st != 200 {
				t.Errorf("create: %d %v", st, m)
			}
			lat[i] = time.Since(t0)
		})
	}
	cw.Wait()
	took := time.Since(start)
	slices.Sort(lat)
	t.Logf("%d creates over %d hosts, 16 at a time: %.0f/s; create (placement in its transaction) p50 %v p99 %v",
		creates, n, float64(creates)/took.Seconds(), lat[creates/2], lat[creates*99/100])
	for _, h := range hostsByName(t, ts) {
		if h.State != "up" {
			t.Errorf("host %s is %s", h.Name, h.State)
		}
	}
}

// cpuTicks is the user+system CPU of process pid in clock ticks (1/100 s on Linux).
func cpuTicks(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}
