package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"hangar/internal/agent"
	"hangar/internal/cli"
	"hangar/internal/core"
	"hangar/internal/hypervisor/sim"
)

// AgentCmd is `hangar agent`: run this host's machines for a control plane.
type AgentCmd struct {
	Server    string         `required:"" env:"HANGAR_AGENT_SERVER" placeholder:"URL" help:"URL of the control plane (hangar serve), e.g. https://hangar.example.com. Plain http:// only on loopback or with --allow-http."`
	Token     string         `env:"HANGAR_AGENT_TOKEN" placeholder:"TOKEN" help:"Join token (hangar admin hosts tokens create); needed on the first start only: the credential it is exchanged for is kept in --data."`
	Data      string         `default:"./hangar-agent" env:"HANGAR_AGENT_DATA" help:"Data directory: the host's credential (agent.json, 0600), the journal of operations, and the VMs of --driver qemu."`
	Name      string         `required:"" env:"HANGAR_AGENT_NAME" help:"Name of this host in the control plane's host listing."`
	Driver    string         `default:"sim" enum:"sim,qemu" env:"HANGAR_AGENT_DRIVER" help:"Hypervisor driver: sim (simulated machines) or qemu (real VMs on this host)."`
	Capacity  map[string]int `placeholder:"TYPE=N" env:"HANGAR_AGENT_CAPACITY" help:"Slots per machine type, repeatable (--capacity C5=4 --capacity P4000=1). Default: sim as a default-fleet host of the region's types (64 per CPU type, 8 per GPU type); qemu --qemu-slots of every CPU type and one slot per --qemu-gpu."`
	Listen    string         `env:"HANGAR_AGENT_LISTEN" placeholder:"ADDR" help:"Serve the agent's status (GET /status, JSON) on this address, e.g. 127.0.0.1:3103. The control plane never connects to it."`
	AllowHTTP bool           `name:"allow-http" env:"HANGAR_AGENT_ALLOW_HTTP" help:"Allow a plain http:// --server that is not on loopback (the credential then crosses the network in clear)."`

	SimTimeScale       float64       `default:"1.0" env:"HANGAR_SIM_TIME_SCALE" help:"Multiply the simulated state durations (sim driver)."`
	SimServiceReadyMin time.Duration `name:"sim-serviceready-min" default:"6s" env:"HANGAR_SIM_SERVICEREADY_MIN" help:"Shortest serviceready dwell (sim driver)."`
	PrivateRange       string        `default:"10.128.0.0/12" env:"HANGAR_PRIVATE_RANGE" help:"Private range of machines created without a network (qemu driver), as the control plane's."`

	QEMU QEMUFlags `embed:"" prefix:"qemu-"`

	LogLevel string `default:"info" enum:"debug,info,warn,error" env:"HANGAR_LOG_LEVEL" help:"Log level."`
}

// Run runs the agent until the context given to kong is cancelled.
func (c *AgentCmd) Run(g *cli.Globals) error {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel))
	log := slog.New(slog.NewTextHandler(g.Stderr, &slog.HandlerOptions{Level: level}))
	if err := core.CheckName("--name", c.Name); err != nil || strings.TrimSpace(c.Name) == "" {
		return errors.New("--name: give this host a name (letters, digits, dots, dashes)")
	}
	cat := core.DefaultCatalog()
	cfg := agent.Config{Server: c.Server, AllowHTTP: c.AllowHTTP, Token: c.Token, Data: c.Data, Name: c.Name,
		DriverName: c.Driver, Version: version(), Logger: log, WatchInterval: c.QEMU.Watch}
	for t, n := range c.Capacity {
		if _, ok := cat.Type(t); !ok {
			return fmt.Errorf("--capacity: unknown machine type %q", t)
		}
		if n < 0 {
			return fmt.Errorf("--capacity %s=%d: cannot be negative", t, n)
		}
	}
	ctx := g.Ctx
	if c.Driver == "qemu" {
		private, err := netip.ParsePrefix(c.PrivateRange)
		if err != nil {
			return fmt.Errorf("--private-range: %w", err)
		}
		s := &ServeCmd{Driver: "qemu", Data: c.Data, QEMU: c.QEMU}
		d, err := s.drivers(ctx, cat, private, log)
		if err != nil {
			return err
		}
		cfg.Driver, cfg.Accelerator, cfg.GPUs = d.qemu, string(d.qemu.Accel()), d.qemu.GPUs()
		cfg.Capacity = qemuCapacity(cat, c.QEMU.Slots, cfg.GPUs)
	} else {
		if c.SimTimeScale < 0 {
			return errors.New("--sim-time-scale cannot be negative")
		}
		cfg.Driver = sim.New(sim.DefaultTimings().Scaled(c.SimTimeScale, c.SimServiceReadyMin), cat)
		cfg.Capacity = simCapacity(cat)
	}
	if len(c.Capacity) > 0 {
		cfg.Capacity = c.Capacity
	}
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return dataErr(c.Data, err)
	}
	unlock, err := lockDataDir(c.Data) // one agent per data directory
	if err != nil {
		return err
	}
	defer func() { _ = unlock() }()
	a, err := agent.New(cfg)
	if err != nil {
		return err
	}
	if c.Listen != "" {
		stop, err := serveStatus(c.Listen, a, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	return a.Run(ctx)
}

// simCapacity is the capacity of a default-fleet sim host: 64 slots of every CPU type and 8
// of every other type (the region's own list is the control plane's to enforce).
func simCapacity(cat *core.Catalog) map[string]int {
	out := map[string]int{}
	for name, t := range cat.Types {
		if t.Class == "cpu" {
			out[name] = 64
		} else {
			out[name] = 8
		}
	}
	return out
}

// qemuCapacity is service.RegisterLocalHost's capacity: slots of every CPU type, and as many
// slots of each GPU type as the host has GPUs of its model.
func qemuCapacity(cat *core.Catalog, slots int, gpus map[string][]string) map[string]int {
	out := map[string]int{}
	for name, t := range cat.Types {
		switch {
		case t.Class == "cpu":
			out[name] = slots
		case t.Class == "gpu" && t.GPU != nil:
			out[name] = len(gpus[*t.GPU])
		}
	}
	return out
}

// serveStatus serves GET /status on addr until the returned stop is called.
func serveStatus(addr string, a *agent.Agent, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(a.Status())
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("agent: status server", "err", err)
		}
	}()
	log.Info("agent: status on", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
	}, nil
}
