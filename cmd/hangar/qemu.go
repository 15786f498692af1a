package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"hangar/api"
	"hangar/internal/core"
	"hangar/internal/httpapi"
	"hangar/internal/hypervisor"
	"hangar/internal/hypervisor/qemu"
	"hangar/internal/hypervisor/sim"
	"hangar/internal/service"
	"hangar/internal/vnet"
)

// QEMUFlags are the serve flags of the qemu driver.
type QEMUFlags struct {
	Accel        string        `default:"auto" enum:"auto,kvm,tcg" env:"HANGAR_QEMU_ACCEL" help:"Accelerator: auto uses KVM only after a short probe boot under KVM succeeds, else TCG; kvm fails to start without a working KVM; tcg never tries KVM."`
	ProbeKernel  string        `type:"path" env:"HANGAR_QEMU_PROBE_KERNEL" help:"Kernel booted for at most 10s under KVM to decide whether KVM works (without it, auto means TCG)."`
	ProbeInitrd  string        `type:"path" env:"HANGAR_QEMU_PROBE_INITRD" help:"Initrd of the probe boot."`
	MaxCPUs      int           `name:"max-cpus" env:"HANGAR_QEMU_MAX_CPUS" help:"Cap on the vCPUs of one VM (0: as the machine type says), for small hosts."`
	MaxRAMMB     int           `name:"max-ram-mb" env:"HANGAR_QEMU_MAX_RAM_MB" help:"Cap on the RAM of one VM in MiB (0: as the machine type says), for small hosts."`
	GPU          []string      `name:"gpu" sep:"none" placeholder:"MODEL=PCI" env:"HANGAR_QEMU_GPU" help:"A GPU of this host passed through with VFIO, e.g. --qemu-gpu 'Quadro P4000=0000:65:00.0'; repeat for each GPU. MODEL is the catalog's GPU name."`
	Host         string        `env:"HANGAR_QEMU_HOST" help:"Name of this host in the host listing (default: the system host name)."`
	Region       string        `default:"East Coast (NY2)" env:"HANGAR_QEMU_REGION" help:"Region of this host."`
	Slots        int           `default:"8" env:"HANGAR_QEMU_SLOTS" help:"Slots of every CPU machine type when the host is first registered (change later with hangar admin hosts update)."`
	Net          string        `default:"vnet" enum:"vnet,none" env:"HANGAR_QEMU_NET" help:"Machine networking: vnet (a Hangar-owned network namespace with a bridge per private network; needs root, ip and nft) or none (VMs without a NIC)."`
	OutsideNetns string        `name:"outside-netns" env:"HANGAR_QEMU_OUTSIDE_NETNS" help:"Named network namespace (under /run/netns) from which public IPs are reachable through 1:1 NAT; without it public IPs are not routed."`
	Watch        time.Duration `name:"watch-interval" default:"5s" env:"HANGAR_QEMU_WATCH_INTERVAL" help:"How often running machines are checked for a VM that stopped on its own (recorded as off with a stop event in error)."`
	VMDir        string        `name:"vm-dir" env:"HANGAR_QEMU_VM_DIR" help:"Directory of the machines' disks, seeds, sockets and serial logs (default <data>/vms)."`
}

// drivers is the hypervisor driver serve runs with; exactly one of sim and qemu is set.
type drivers struct {
	drv           hypervisor.Driver
	sim           *sim.Driver
	qemu          *qemu.Driver
	templateCheck func(core.Template) error
}

var pciAddr = regexp.MustCompile(`^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$`)

// drivers builds the driver named by --driver.
func (c *ServeCmd) drivers(ctx context.Context, cat *core.Catalog, private netip.Prefix, log *slog.Logger) (drivers, error) {
	if c.Driver != "qemu" {
		d := sim.New(sim.DefaultTimings().Scaled(c.SimTimeScale, c.SimServiceReadyMin), cat)
		return drivers{drv: d, sim: d}, nil
	}
	f := c.QEMU
	gpus, err := parseGPUs(f.GPU, cat)
	if err != nil {
		return drivers{}, err
	}
	accel, reason := qemu.AccelTCG, "--qemu-accel tcg"
	if f.Accel != "tcg" {
		accel, reason = qemu.ChooseAccel(ctx, qemu.Probe{Kernel: f.ProbeKernel, Initrd: f.ProbeInitrd})
		if f.Accel == "kvm" && accel != qemu.AccelKVM {
			return drivers{}, fmt.Errorf("--qemu-accel kvm: %s", reason)
		}
	}
	log.Info("qemu: accelerator chosen", "accel", accel, "reason", reason)
	dir := f.VMDir
	if dir == "" {
		dir = filepath.Join(c.Data, "vms")
	}
	cfg := qemu.Config{Dir: dir, Accel: accel, MaxCPUs: f.MaxCPUs, MaxRAMMB: f.MaxRAMMB, GPUs: gpus,
		Catalog: cat, Logger: log}
	if f.Net == "vnet" {
		fab, err := vnet.Open(ctx, vnet.Config{DataDir: c.Data, Outside: f.OutsideNetns})
		if err != nil {
			return drivers{}, fmt.Errorf("qemu networking (or use --qemu-net none): %w", err)
		}
		cfg.Net = qemu.VNet{Fabric: fab, Default: private}
		log.Info("qemu: network fabric ready", "netns", fab.Namespace(), "outside", f.OutsideNetns)
	}
	d, err := qemu.New(cfg)
	if err != nil {
		return drivers{}, err
	}
	return drivers{drv: d, qemu: d, templateCheck: qemu.CheckTemplate}, nil
}

// parseGPUs reads --qemu-gpu MODEL=PCI values into model -> addresses.
func parseGPUs(vals []string, cat *core.Catalog) (map[string][]string, error) {
	models := map[string]bool{}
	for _, t := range cat.Types {
		if t.GPU != nil && t.Class == "gpu" {
			models[*t.GPU] = true
		}
	}
	out := map[string][]string{}
	seen := map[string]bool{}
	for _, v := range vals {
		model, addr, ok := strings.Cut(v, "=")
		model, addr = strings.TrimSpace(model), strings.ToLower(strings.TrimSpace(addr))
		if !ok || !pciAddr.MatchString(addr) {
			return nil, fmt.Errorf("--qemu-gpu %q: want MODEL=PCI-ADDRESS, e.g. 'Quadro P4000=0000:65:00.0'", v)
		}
		if !models[model] {
			return nil, fmt.Errorf("--qemu-gpu %q: no GPU machine type has the GPU %q", v, model)
		}
		if seen[addr] {
			return nil, fmt.Errorf("--qemu-gpu: %s is given twice", addr)
		}
		seen[addr] = true
		out[model] = append(out[model], addr)
	}
	return out, nil
}

// register registers this host for placement (service.RegisterLocalHost) and returns what the
// operator API's host listing says about it.
func (f *QEMUFlags) register(ctx context.Context, svc *service.Service, d *qemu.Driver, log *slog.Logger) (httpapi.HostInfo, error) {
	h, err := svc.RegisterLocalHost(ctx, service.LocalHost{Name: f.Host, Region: f.Region, Slots: f.Slots, GPUs: d.GPUs()})
	if err != nil {
		return nil, fmt.Errorf("register qemu host: %w", err)
	}
	log.Info("qemu: host registered", "host", h.Name, "region", h.Region, "accel", d.Accel(), "gpus", d.GPUs())
	return qemuHost{name: h.Name, d: d}, nil
}

// qemuHost describes the host the qemu driver runs machines on, by its registered name.
type qemuHost struct {
	name string
	d    *qemu.Driver
}

func (q qemuHost) Hypervisor(name string) (api.HostHypervisor, bool) {
	if name != q.name {
		return api.HostHypervisor{}, false
	}
	return api.HostHypervisor{Driver: "qemu", Accelerator: string(q.d.Accel()), GPUs: q.d.GPUs()}, true
}
