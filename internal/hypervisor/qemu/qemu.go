// Package qemu is the hypervisor driver that runs every machine as a real QEMU virtual machine
// on this host.
//
// Each machine has a directory <dir>/<machine id>/ holding its qcow2 overlay (disk.qcow2), its
// NoCloud seed (seed.iso), the QMP socket, QEMU's pidfile, the serial console log (serial.log,
// appended across boots) and small bookkeeping files that make every step idempotent. QEMU
// runs detached in its own session, so stopping or killing hangar leaves VMs running; the
// next driver finds them again through their pidfiles and QMP sockets.
//
// States are honest: provisioning ends when the disk and seed exist; starting ends when the
// guest is up, serviceready when it has finished its boot-time configuration, each learnt
// from what any guest gives without being made for Hangar:
//
//   - a stock cloud image (any image with cloud-init and qemu-guest-agent, which Debian's and
//     Ubuntu's cloud images have): starting ends when the guest agent answers guest-ping on
//     its virtio-serial port; serviceready when /run/cloud-init/result.json exists (cloud-init
//     writes it when its final stage is done on this boot, after the startup script), read
//     through the agent's guest-file-* commands, as is the script's exit status and time from
//     cidata.StatusFile, written by the seed's script wrapper;
//   - Hangar's busybox test template: HANGAR-KERNEL-UP, HANGAR-SCRIPT-RAN rc=N and
//     HANGAR-READY on its serial console.
//
// Image templates boot through UEFI firmware (OVMF) when it is installed. Stop is an ACPI
// power-down, then QMP quit, then SIGKILL; restart is a real reset.
package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"hangar/internal/cidata"
	"hangar/internal/core"
	"hangar/internal/hypervisor"
	"hangar/internal/hypervisor/qemu/qga"
	"hangar/internal/hypervisor/qemu/qmp"
)

// Config configures the driver.
type Config struct {
	// Dir holds one directory per machine (usually <data>/vms).
	Dir string
	// QEMU and QemuImg are the programs (default: found on PATH); genisoimage must be on PATH.
	QEMU, QemuImg string
	Accel         Accel
	// MaxCPUs and MaxRAMMB cap what a machine type asks for (0: no cap), for small hosts.
	MaxCPUs, MaxRAMMB int
	// DefaultCPUs and DefaultRAMMB are used for machine types whose specs are unknown
	// (default 1 and 256).
	DefaultCPUs, DefaultRAMMB int
	// GPUs is the host's GPU inventory: GPU model (as in the catalog, e.g. "Quadro P4000") to
	// the PCI addresses passed through with VFIO.
	GPUs    map[string][]string
	Catalog *core.Catalog
	// Net gives machines their NIC; nil runs machines without one.
	Net    Networker
	Logger *slog.Logger
	// BootTimeout bounds starting and restarting (kernel up) and ReadyTimeout serviceready;
	// StopTimeout is how long an ACPI power-down may take before QMP quit. Defaults depend on
	// the accelerator (TCG is about ten times slower).
	BootTimeout, ReadyTimeout, StopTimeout time.Duration
	// ImageBootTimeout and ImageReadyTimeout replace BootTimeout and ReadyTimeout for image
	// templates, which boot a whole distribution through firmware (systemd, cloud-init):
	// by default 90 s and 120 s under KVM, five times that under TCG.
	ImageBootTimeout, ImageReadyTimeout time.Duration
	// Firmware is the UEFI firmware image templates boot with and FirmwareVars the variable
	// store copied for each machine; by default Debian's ovmf (OVMF_CODE_4M.fd and
	// OVMF_VARS_4M.fd) when installed. "none" boots them with SeaBIOS.
	Firmware, FirmwareVars string
}

// Debian's ovmf package.
const (
	defaultFirmware     = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	defaultFirmwareVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
)

// Networker attaches machines to their networks.
type Networker interface {
	// Plug prepares (idempotently) the NIC of machine m on network n (nil: the default
	// network) and returns how QEMU must run to use it.
	Plug(ctx context.Context, m core.Machine, n *core.Network) (Plug, error)
	// Unplug removes what Plug created for machine m; p is what Plug returned (zero if
	// unknown). Idempotent.
	Unplug(ctx context.Context, m core.Machine, p Plug) error
}

// Plug is a machine's NIC as a Networker prepared it.
type Plug struct {
	Tap, MAC    string
	NetworkID   string // the network as the Networker names it
	IP, Gateway string // guest address in CIDR form and its gateway
	// Wrap is prepended to QEMU's command line (e.g. ip netns exec NAME); nil for none.
	Wrap []string
}

// Driver runs machines as QEMU VMs.
type Driver struct {
	cfg Config
	log *slog.Logger
	mu  sync.Mutex // serialises GPU assignment and launches
}

var (
	_ hypervisor.Driver      = (*Driver)(nil)
	_ hypervisor.Snapshotter = (*Driver)(nil)
	_ hypervisor.Watcher     = (*Driver)(nil)
)

// New returns a driver; it creates cfg.Dir.
func New(cfg Config) (*Driver, error) {
	if cfg.Dir == "" {
		return nil, errors.New("qemu: no directory")
	}
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	cfg.Dir = abs
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	// The QMP socket path must fit sun_path (108 bytes).
	if n := len(vmDir(filepath.Join(cfg.Dir, "ps0000000000")).qmp()); n > 104 {
		return nil, fmt.Errorf("qemu: machine directory %s is too long for QMP sockets (%d bytes); use a shorter --data", cfg.Dir, n)
	}
	genisoimage := "genisoimage"
	for p, def := range map[*string]string{&cfg.QEMU: "qemu-system-x86_64", &cfg.QemuImg: "qemu-img", &genisoimage: "genisoimage"} {
		if *p == "" {
			*p = def
		}
		path, err := exec.LookPath(*p)
		if err != nil {
			return nil, fmt.Errorf("qemu: %s not found (install qemu-system-x86, qemu-utils and genisoimage): %w", *p, err)
		}
		*p = path
	}
	if cfg.Accel == "" {
		cfg.Accel = AccelTCG
	}
	if cfg.DefaultCPUs <= 0 {
		cfg.DefaultCPUs = 1
	}
	if cfg.DefaultRAMMB <= 0 {
		cfg.DefaultRAMMB = 256
	}
	slow := time.Duration(1)
	if cfg.Accel == AccelTCG {
		slow = 4
	}
	if cfg.BootTimeout <= 0 {
		cfg.BootTimeout = 30 * time.Second * slow
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 30 * time.Second * slow
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 10 * time.Second * slow
	}
	imageSlow := time.Duration(1)
	if cfg.Accel == AccelTCG {
		imageSlow = 5
	}
	if cfg.ImageBootTimeout <= 0 {
		cfg.ImageBootTimeout = 90 * time.Second * imageSlow
	}
	if cfg.ImageReadyTimeout <= 0 {
		cfg.ImageReadyTimeout = 120 * time.Second * imageSlow
	}
	switch cfg.Firmware {
	case "none":
		cfg.Firmware, cfg.FirmwareVars = "", ""
	case "":
		if fileExists(defaultFirmware) && fileExists(defaultFirmwareVars) {
			cfg.Firmware, cfg.FirmwareVars = defaultFirmware, defaultFirmwareVars
		}
	default:
		if !fileExists(cfg.Firmware) || !fileExists(cfg.FirmwareVars) {
			return nil, fmt.Errorf("qemu: firmware %s or its variable store %q not found", cfg.Firmware, cfg.FirmwareVars)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Catalog == nil {
		cfg.Catalog = core.DefaultCatalog()
	}
	return &Driver{cfg: cfg, log: cfg.Logger}, nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// Name implements hypervisor.Driver.
func (d *Driver) Name() string { return "qemu" }

// timeouts returns the boot and ready timeouts of template t's machines.
func (d *Driver) timeouts(t core.Template) (boot, ready time.Duration) {
	if t.Image != "" {
		return d.cfg.ImageBootTimeout, d.cfg.ImageReadyTimeout
	}
	return d.cfg.BootTimeout, d.cfg.ReadyTimeout
}

// Accel returns the accelerator VMs run with.
func (d *Driver) Accel() Accel { return d.cfg.Accel }

// GPUs returns the GPU inventory (model to PCI addresses).
func (d *Driver) GPUs() map[string][]string { return d.cfg.GPUs }

// Expect implements hypervisor.Driver: how soon the engine first looks at a machine. Every
// state starts real work at once (launch, reset, power-down) and is then polled.
func (d *Driver) Expect(core.State) time.Duration { return 0 }

// poll is how often a waiting state is looked at again.
const poll = 100 * time.Millisecond

func (d *Driver) dir(m core.Machine) vmDir { return vmDir(filepath.Join(d.cfg.Dir, m.ID)) }

// Advance implements hypervisor.Driver.
func (d *Driver) Advance(ctx context.Context, req hypervisor.Request) (hypervisor.Result, error) {
	switch req.Machine.State {
	case core.StateProvisioning:
		return d.provision(ctx, req)
	case core.StateStarting:
		return d.boot(ctx, req, false)
	case core.StateRestarting:
		return d.boot(ctx, req, true)
	case core.StateServiceReady:
		return d.waitReady(ctx, req)
	case core.StateStopping:
		return d.stop(ctx, req)
	}
	return hypervisor.Result{Done: true}, nil
}

// CheckTemplate says whether the driver can run machines of template t.
func CheckTemplate(t core.Template) error {
	if t.Image == "" && t.Kernel == "" {
		return fmt.Errorf("template %s has no image: the qemu driver needs a template created with --image (qcow2) or --kernel and --initrd", t.ID)
	}
	return nil
}

// sizing returns the vCPUs and RAM (MiB) of a machine type after the host's caps.
func (d *Driver) sizing(machineType string) (cpus, ramMB int) {
	cpus, ramMB = d.cfg.DefaultCPUs, d.cfg.DefaultRAMMB
	if mt, ok := d.cfg.Catalog.Type(machineType); ok {
		if mt.CPUs != nil {
			cpus = *mt.CPUs
		}
		if mt.RAM != nil {
			ramMB = int(*mt.RAM >> 20)
		}
	}
	if d.cfg.MaxCPUs > 0 {
		cpus = min(cpus, d.cfg.MaxCPUs)
	}
	if d.cfg.MaxRAMMB > 0 {
		ramMB = min(ramMB, d.cfg.MaxRAMMB)
	}
	return max(cpus, 1), max(ramMB, 64)
}

// gpuModel is the GPU model a machine type needs ("" for none).
func (d *Driver) gpuModel(machineType string) string {
	if mt, ok := d.cfg.Catalog.Type(machineType); ok && mt.GPU != nil && mt.Class == "gpu" {
		return *mt.GPU
	}
	return ""
}

func (d *Driver) provision(ctx context.Context, req hypervisor.Request) (hypervisor.Result, error) {
	m, t := req.Machine, req.Template
	if err := CheckTemplate(t); err != nil {
		return hypervisor.Result{}, hypervisor.Permanentf("%s", err.Error())
	}
	vd := d.dir(m)
	if err := os.MkdirAll(string(vd), 0o700); err != nil {
		return hypervisor.Result{}, err
	}
	if _, err := os.Stat(vd.disk()); errors.Is(err, os.ErrNotExist) {
		if err := d.createDisk(ctx, vd, t, m.SizeGB); err != nil {
			return hypervisor.Result{}, err
		}
	}
	if err := d.writeSeed(ctx, vd, req); err != nil {
		return hypervisor.Result{}, err
	}
	// What the machine boots, should its template be deleted later.
	src, _ := json.Marshal(core.Template{Image: t.Image, Kernel: t.Kernel, Initrd: t.Initrd})
	if err := vd.writeMark("template", string(src)); err != nil {
		return hypervisor.Result{}, err
	}
	facts, err := d.facts(ctx, vd, m, t)
	if err != nil {
		return hypervisor.Result{}, err
	}
	return hypervisor.Result{Done: true, Facts: facts}, nil
}

// createDisk creates the machine's overlay on the template image, or a blank disk for
// direct-boot templates, sized size GB (at least the image's own size).
func (d *Driver) createDisk(ctx context.Context, vd vmDir, t core.Template, sizeGB int) error {
	size := int64(max(sizeGB, 1)) << 30
	args := []string{"create", "-q", "-f", "qcow2"}
	if t.Image != "" {
		info, err := d.imageInfo(ctx, t.Image)
		if err != nil {
			return hypervisor.Permanentf("template image %s: %v", t.Image, err)
		}
		size = max(size, info.VirtualSize)
		args = append(args, "-b", t.Image, "-F", info.Format)
	}
	tmp := vd.disk() + ".tmp"
	args = append(args, tmp, strconv.FormatInt(size, 10))
	if out, err := exec.CommandContext(ctx, d.cfg.QemuImg, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("qemu-img create: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return os.Rename(tmp, vd.disk())
}

// ImageInfo is what qemu-img info says about an image.
type ImageInfo struct {
	Format      string `json:"format"`
	VirtualSize int64  `json:"virtual-size"`
	ActualSize  int64  `json:"actual-size"`
	Snapshots   []struct {
		Name string `json:"name"`
	} `json:"snapshots"`
}

func (d *Driver) imageInfo(ctx context.Context, path string) (ImageInfo, error) {
	// -U: the image may be open in a running QEMU.
	out, err := exec.CommandContext(ctx, d.cfg.QemuImg, "info", "-U", "--output=json", path).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ImageInfo{}, fmt.Errorf("qemu-img info: %s", strings.TrimSpace(string(ee.Stderr)))
		}
		return ImageInfo{}, err
	}
	var info ImageInfo
	return info, json.Unmarshal(out, &info)
}

func (d *Driver) facts(ctx context.Context, vd vmDir, m core.Machine, t core.Template) (hypervisor.Facts, error) {
	info, err := d.imageInfo(ctx, vd.disk())
	if err != nil {
		return hypervisor.Facts{}, err
	}
	cpus, ramMB := d.sizing(m.MachineType)
	ram := int64(ramMB) << 20
	os := t.OS
	f := hypervisor.Facts{OS: &os, CPUs: cpus, RAM: &ram, StorageTotal: &info.VirtualSize, StorageUsed: &info.ActualSize}
	if g := d.gpuModel(m.MachineType); g != "" {
		f.GPU = &g
	}
	return f, nil
}

// writeSeed writes the machine's seed as it must be for this boot.
func (d *Driver) writeSeed(ctx context.Context, vd vmDir, req hypervisor.Request) error {
	m := req.Machine
	s := cidata.Seed{MachineID: m.ID, Hostname: Hostname(m.Name, m.ID), User: req.UserEmail, SSHKeys: req.SSHKeys}
	if req.Script != nil {
		s.Script, s.RunOnce = req.Script.Text, req.Script.RunOnce
	}
	var p Plug
	if mark := vd.readMark("net"); mark != "" && json.Unmarshal([]byte(mark), &p) == nil {
		s.IP, _ = netip.ParsePrefix(p.IP)
		s.Gateway, _ = netip.ParseAddr(p.Gateway)
		s.MAC = p.MAC
	} else if m.PrivateIP != nil && req.Network != nil {
		s.IP = withPrefix(*m.PrivateIP, req.Network.CIDR)
	}
	return writeSeed(ctx, vd.seed(), s)
}

// boot launches the VM unless it runs, resets it once for a restart, and completes when the
// guest kernel reports on the serial console after that boot began.
func (d *Driver) boot(ctx context.Context, req hypervisor.Request, restart bool) (hypervisor.Result, error) {
	vd := d.dir(req.Machine)
	op := strconv.FormatInt(req.Since.UnixNano(), 10)
	pid := vd.pid()
	switch {
	case pid == 0 && vd.readMark("launched") == op:
		// It ran for this operation and is gone: the guest or QEMU died during boot.
		return hypervisor.Result{}, d.failBoot(vd, "the virtual machine exited while booting")
	case pid == 0:
		if err := d.launch(ctx, vd, req); err != nil {
			return hypervisor.Result{}, err
		}
		if err := vd.writeMark("launched", op); err != nil {
			return hypervisor.Result{}, err
		}
		if restart { // a fresh boot is the reboot
			if err := vd.writeMark("reset", op); err != nil {
				return hypervisor.Result{}, err
			}
		}
	case restart && vd.readMark("reset") != op:
		if err := vd.writeMark("boot", strconv.FormatInt(vd.logSize(), 10)); err != nil {
			return hypervisor.Result{}, err
		}
		// A guest with an agent reboots cleanly (its page cache reaches the disk); the
		// new boot is the one with another boot id. Others get a hard reset.
		how := "reset"
		if id, ok := d.agentBootID(ctx, vd); ok && d.bootTemplate(vd, req.Template).Image != "" {
			if err := vd.writeMark("bootid", id); err != nil {
				return hypervisor.Result{}, err
			}
			if err := d.agentReboot(ctx, vd); err != nil {
				return hypervisor.Result{}, err
			}
			how = "guest reboot"
		} else if err := d.qmpDo(ctx, vd, "system_reset"); err != nil {
			return hypervisor.Result{}, err
		}
		if err := vd.writeMark("reset", op); err != nil {
			return hypervisor.Result{}, err
		}
		d.log.Info("qemu: restart", "machine", req.Machine.ID, "how", how)
	}
	seen, err := d.seen(vd, "HANGAR-KERNEL-UP")
	if err != nil {
		return hypervisor.Result{}, err
	}
	t := d.bootTemplate(vd, req.Template)
	// Only images run a guest agent: direct-boot templates report on the console alone.
	if seen {
		return hypervisor.Result{Done: true}, nil
	}
	if t.Image != "" {
		if id, ok := d.agentBootID(ctx, vd); ok && id != vd.readMark("bootid") {
			return hypervisor.Result{Done: true}, nil
		}
	}
	if timeout, _ := d.timeouts(t); req.Now.Sub(req.Since) > timeout {
		d.kill(ctx, vd)
		return hypervisor.Result{}, d.failBoot(vd, fmt.Sprintf("the guest did not boot within %s", timeout))
	}
	return hypervisor.Result{RetryAfter: poll}, nil
}

// bootTemplate is what the machine boots: its template, or what the template was when the
// machine was provisioned if it has since been deleted.
func (d *Driver) bootTemplate(vd vmDir, t core.Template) core.Template {
	if t.Image == "" && t.Kernel == "" {
		if mark := vd.readMark("template"); mark != "" {
			_ = json.Unmarshal([]byte(mark), &t)
		}
	}
	return t
}

// agentTimeout bounds one conversation with a guest agent; a guest whose agent does not run
// yet costs the engine this long per look.
const agentTimeout = 2 * time.Second

// agentBootID asks the guest agent for the guest kernel's boot id (a new one every boot);
// ok is false while no agent answers.
func (d *Driver) agentBootID(ctx context.Context, vd vmDir) (id string, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, agentTimeout)
	defer cancel()
	c, err := qga.Dial(ctx, vd.qga())
	if err != nil {
		return "", false
	}
	defer c.Close()
	if c.Ping(ctx) != nil {
		return "", false
	}
	b, err := c.ReadFile(ctx, "/proc/sys/kernel/random/boot_id", 64)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

// agentReboot asks the guest agent to reboot the guest cleanly.
func (d *Driver) agentReboot(ctx context.Context, vd vmDir) error {
	ctx, cancel := context.WithTimeout(ctx, agentTimeout)
	defer cancel()
	c, err := qga.Dial(ctx, vd.qga())
	if err != nil {
		return fmt.Errorf("guest agent: %w", err)
	}
	defer c.Close()
	return c.Shutdown(ctx, "reboot")
}

// cloudInitDone asks the guest agent whether cloud-init has finished on this boot (its
// result.json, under /run, exists) and returns the startup script's status file ("" when
// the script did not run on this boot). ok is false while cloud-init runs or the agent does
// not answer.
func (d *Driver) cloudInitDone(ctx context.Context, vd vmDir) (result, status string, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, agentTimeout)
	defer cancel()
	c, err := qga.Dial(ctx, vd.qga())
	if err != nil {
		return "", "", false
	}
	defer c.Close()
	res, err := c.ReadFile(ctx, "/run/cloud-init/result.json", 64<<10)
	if err != nil {
		return "", "", false
	}
	st, err := c.ReadFile(ctx, cidata.StatusFile, 4<<10)
	if err != nil && !errors.Is(err, qga.ErrNotFound) {
		return "", "", false
	}
	return string(res), string(st), true
}

// parseScriptStatus reads "rc=N time=UNIX" (cidata.StatusFile).
func parseScriptStatus(s string) (rc int, at time.Time, ok bool) {
	var sec int64
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "rc=%d time=%d", &rc, &sec); err != nil {
		return 0, time.Time{}, false
	}
	return rc, time.Unix(sec, 0).UTC(), true
}

// failBoot returns the permanent error of a failed boot with the end of QEMU's own output
// and the last lines of the guest's serial console (also logged).
func (d *Driver) failBoot(vd vmDir, msg string) error {
	if b, err := os.ReadFile(vd.stderr()); err == nil {
		if s := strings.TrimSpace(string(b)); s != "" {
			lines := strings.Split(s, "\n")
			msg += ": " + strings.Join(lines[max(0, len(lines)-3):], " / ")
		}
	}
	if tail := vd.serialTail(5); len(tail) > 0 {
		d.log.Warn("qemu: failed boot", "dir", string(vd), "err", msg, "serial", strings.Join(tail, "\n"))
		msg += "; last console lines: " + strings.Join(tail, " / ")
	}
	return hypervisor.Permanentf("%s", msg)
}

// seen reports whether the guest printed marker since the current boot began.
func (d *Driver) seen(vd vmDir, marker string) (bool, error) {
	ms, err := d.markersSinceBoot(vd)
	return slices.Contains(ms, marker), err
}

func (d *Driver) markersSinceBoot(vd vmDir) ([]string, error) {
	off, _ := strconv.ParseInt(vd.readMark("boot"), 10, 64)
	return vd.markers(off)
}

// launch starts QEMU detached for machine m.
func (d *Driver) launch(ctx context.Context, vd vmDir, req hypervisor.Request) error {
	m := req.Machine
	d.mu.Lock() // also keeps Destroy from removing the directory under a launch
	defer d.mu.Unlock()
	if _, err := os.Stat(vd.disk()); err != nil {
		return hypervisor.Permanentf("the machine's disk is missing: %v", err)
	}
	t := d.bootTemplate(vd, req.Template)
	var plug Plug
	if d.cfg.Net != nil {
		p, err := d.cfg.Net.Plug(ctx, m, req.Network)
		if err != nil {
			return fmt.Errorf("network: %w", err)
		}
		plug = p
		b, _ := json.Marshal(p)
		if err := vd.writeMark("net", string(b)); err != nil {
			return err
		}
	}
	if err := d.writeSeed(ctx, vd, req); err != nil {
		return err
	}
	gpus, err := d.assignGPUs(vd, m)
	if err != nil {
		return err
	}
	cpus, ramMB := d.sizing(m.MachineType)
	spec := Spec{Accel: d.cfg.Accel, CPUs: cpus, RAMMB: ramMB, Disk: vd.disk(), Seed: vd.seed(),
		QMP: vd.qmp(), Serial: vd.serial(), Pidfile: vd.pidfile(), Tap: plug.Tap, MAC: plug.MAC, GPUs: gpus,
		Name: "hangar-" + m.ID, GuestAgent: vd.qga()}
	if t.Image != "" && d.cfg.Firmware != "" {
		// The variable store is the machine's (boot entries the guest writes persist).
		if _, err := os.Stat(vd.efivars()); errors.Is(err, os.ErrNotExist) {
			if err := copyFile(d.cfg.FirmwareVars, vd.efivars()); err != nil {
				return fmt.Errorf("firmware variables: %w", err)
			}
		}
		spec.Firmware, spec.FirmwareVars = d.cfg.Firmware, vd.efivars()
	}
	if t.Image == "" {
		spec.Kernel, spec.Initrd = t.Kernel, t.Initrd
		spec.Microvm = len(gpus) == 0 && isELF(t.Kernel)
		spec.Append = KernelAppend(d.cfg.Accel, spec.Microvm)
	}
	_ = os.Remove(vd.qmp())
	_ = os.Remove(vd.qga())
	_ = os.Remove(vd.pidfile())
	if err := vd.writeMark("boot", strconv.FormatInt(vd.logSize(), 10)); err != nil {
		return err
	}
	argv := append(slices.Clone(plug.Wrap), d.cfg.QEMU)
	argv = append(argv, Args(spec)...)
	stderr, err := os.OpenFile(vd.stderr(), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer stderr.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = string(vd)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // survives hangar and its signals
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start qemu: %w", err)
	}
	go func() { _ = cmd.Wait() }() // reap it if it exits while hangar runs
	if err := vd.writeMark("qemu.pid", strconv.Itoa(cmd.Process.Pid)); err != nil {
		return err
	}
	// QEMU rewrites the pidfile itself; wait for its QMP socket so that the next step can talk
	// to it, and report an immediate failure (bad option, missing device) right here. The wait
	// ends with ctx too (the engine's deadline for the step): the VM is launched either way,
	// and the next step finds it running, or gone and fails the boot.
	for time.Since(started) < 10*time.Second && ctx.Err() == nil {
		// The child's own pid, not vd.pid(): until exec its command line is hangar's.
		if !alive(cmd.Process.Pid) {
			return d.failBoot(vd, "QEMU did not start")
		}
		if c, err := qmp.Dial(ctx, vd.qmp()); err == nil {
			c.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.log.Info("qemu: started", "machine", m.ID, "pid", cmd.Process.Pid, "accel", d.cfg.Accel,
		"cpus", cpus, "ram_mb", ramMB, "microvm", spec.Microvm, "tap", plug.Tap, "gpus", gpus)
	return nil
}

// isELF reports whether path is an uncompressed ELF kernel (booted through PVH on microvm).
func isELF(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [4]byte
	_, err = f.Read(b[:])
	return err == nil && string(b[:]) == "\x7fELF"
}

// assignGPUs picks free GPUs of the machine type's model for vd (keeping an earlier choice).
// The caller holds d.mu.
func (d *Driver) assignGPUs(vd vmDir, m core.Machine) ([]string, error) {
	model := d.gpuModel(m.MachineType)
	if model == "" {
		return nil, nil
	}
	inUse := map[string]bool{}
	entries, _ := os.ReadDir(d.cfg.Dir)
	for _, e := range entries {
		other := vmDir(filepath.Join(d.cfg.Dir, e.Name()))
		if e.Name() == m.ID || other.pid() == 0 {
			continue
		}
		for _, g := range strings.Fields(other.readMark("gpus")) {
			inUse[g] = true
		}
	}
	for _, g := range d.cfg.GPUs[model] {
		if !inUse[g] {
			return []string{g}, vd.writeMark("gpus", g)
		}
	}
	return nil, hypervisor.Permanentf("There are not enough resources available to start your machine at this time. Please try again later. (no free %s GPU on this host)", model)
}

func (d *Driver) waitReady(ctx context.Context, req hypervisor.Request) (hypervisor.Result, error) {
	vd := d.dir(req.Machine)
	ms, err := d.markersSinceBoot(vd)
	if err != nil {
		return hypervisor.Result{}, err
	}
	res := hypervisor.Result{Done: true}
	ready := slices.Contains(ms, "HANGAR-READY") // the test template
	if ready {
		for _, mk := range ms {
			if rc, ok := strings.CutPrefix(mk, "HANGAR-SCRIPT-RAN rc="); ok {
				now := req.Now
				res.Facts.ScriptRan = &now
				d.scriptExit(req.Machine, rc)
			}
		}
	} else if d.bootTemplate(vd, req.Template).Image != "" {
		var result, status string
		if result, status, ready = d.cloudInitDone(ctx, vd); ready {
			if !strings.Contains(result, `"errors": []`) {
				d.log.Warn("qemu: cloud-init reported errors", "machine", req.Machine.ID, "result", result)
			}
			if rc, at, ok := parseScriptStatus(status); ok {
				res.Facts.ScriptRan = &at
				d.scriptExit(req.Machine, strconv.Itoa(rc))
			}
		}
	}
	if ready {
		if info, err := d.imageInfo(ctx, vd.disk()); err == nil {
			res.Facts.StorageUsed = &info.ActualSize
		}
		return res, nil
	}
	if vd.pid() == 0 {
		return hypervisor.Result{}, d.failBoot(vd, "the virtual machine exited before it was ready")
	}
	if _, timeout := d.timeouts(d.bootTemplate(vd, req.Template)); req.Now.Sub(req.Since) > timeout {
		d.kill(ctx, vd)
		return hypervisor.Result{}, d.failBoot(vd, fmt.Sprintf("the guest did not report ready within %s", timeout))
	}
	return hypervisor.Result{RetryAfter: poll}, nil
}

// scriptExit records the startup script's exit status of this boot in the machine's
// directory (script-exit) and the log.
func (d *Driver) scriptExit(m core.Machine, rc string) {
	d.log.Info("qemu: startup script ran", "machine", m.ID, "exit", rc)
	_ = d.dir(m).writeMark("script-exit", rc)
}

// ScriptExit returns the exit status of the machine's startup script on its latest boot
// that ran it ("" if none did).
func (d *Driver) ScriptExit(m core.Machine) string { return d.dir(m).readMark("script-exit") }

// stop powers the VM down through ACPI, then quits it over QMP, then kills it.
func (d *Driver) stop(ctx context.Context, req hypervisor.Request) (hypervisor.Result, error) {
	vd := d.dir(req.Machine)
	pid := vd.pid()
	if pid == 0 {
		// Off: its tap and public IP mapping go (a dynamic IP is released at off); start
		// plugs them in again.
		if err := d.unplug(ctx, vd, req.Machine); err != nil {
			return hypervisor.Result{}, err
		}
		return hypervisor.Result{Done: true}, nil
	}
	op := strconv.FormatInt(req.Since.UnixNano(), 10)
	waited := req.Now.Sub(req.Since)
	switch {
	case vd.readMark("powerdown") != op:
		if err := d.qmpDo(ctx, vd, "system_powerdown"); err != nil {
			return hypervisor.Result{}, err
		}
		if err := vd.writeMark("powerdown", op); err != nil {
			return hypervisor.Result{}, err
		}
	case waited > d.cfg.StopTimeout+5*time.Second:
		d.log.Warn("qemu: VM ignored quit, killing it", "machine", req.Machine.ID, "pid", pid)
		kill(pid, syscall.SIGKILL)
	case waited > d.cfg.StopTimeout:
		d.log.Warn("qemu: guest ignored the ACPI power-down, quitting", "machine", req.Machine.ID)
		_ = d.qmpDo(ctx, vd, "quit")
	}
	return hypervisor.Result{RetryAfter: poll}, nil
}

// unplug removes the machine's NIC as the last launch plugged it.
func (d *Driver) unplug(ctx context.Context, vd vmDir, m core.Machine) error {
	if d.cfg.Net == nil {
		return nil
	}
	var p Plug
	if mark := vd.readMark("net"); mark != "" {
		_ = json.Unmarshal([]byte(mark), &p)
	}
	return d.cfg.Net.Unplug(ctx, m, p)
}

// qmpDo runs one QMP command on the machine's VM.
func (d *Driver) qmpDo(ctx context.Context, vd vmDir, command string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := qmp.Dial(ctx, vd.qmp())
	if err != nil {
		return fmt.Errorf("qmp %s: %w", command, err)
	}
	defer c.Close()
	return c.Execute(ctx, command, nil, nil)
}

// kill ends the VM at once: QMP quit, then SIGKILL, and waits until the process is gone.
func (d *Driver) kill(ctx context.Context, vd vmDir) {
	pid := vd.pid()
	if pid == 0 {
		return
	}
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_ = d.qmpDo(qctx, vd, "quit")
	cancel()
	for i := 0; vd.pid() != 0; i++ {
		if i == 20 {
			kill(pid, syscall.SIGKILL)
		}
		if i > 200 || ctx.Err() != nil {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Destroy implements hypervisor.Driver: it kills the VM and deletes its disk, seed,
// snapshots (inside the qcow2), logs and NIC.
func (d *Driver) Destroy(ctx context.Context, m core.Machine) error {
	vd := d.dir(m)
	d.mu.Lock() // not while a launch of it is under way
	defer d.mu.Unlock()
	d.kill(ctx, vd)
	if pid := vd.pid(); pid != 0 {
		return fmt.Errorf("qemu: VM of %s (pid %d) does not die", m.ID, pid)
	}
	if err := d.unplug(ctx, vd, m); err != nil {
		return err
	}
	d.log.Info("qemu: destroyed", "machine", m.ID)
	return os.RemoveAll(string(vd))
}

// Lost implements hypervisor.Watcher: the machine's QEMU does not run (it crashed, was
// killed, or the guest powered itself off). Its NIC is removed first; start plugs it again.
func (d *Driver) Lost(ctx context.Context, m core.Machine) bool {
	vd := d.dir(m)
	if vd.pid() != 0 {
		return false
	}
	if err := d.unplug(ctx, vd, m); err != nil {
		d.log.Warn("qemu: unplug of a lost VM", "machine", m.ID, "err", err)
		return false
	}
	d.log.Warn("qemu: VM is gone", "machine", m.ID)
	return true
}

// Running reports the pid of the machine's VM (0 when it does not run).
func (d *Driver) Running(m core.Machine) int { return d.dir(m).pid() }

// SerialLog returns the path of the machine's serial console log.
func (d *Driver) SerialLog(m core.Machine) string { return d.dir(m).serial() }

func (d *Driver) qemuImg(ctx context.Context, args ...string) error {
	if out, err := exec.CommandContext(ctx, d.cfg.QemuImg, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("qemu-img %s: %v: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}
