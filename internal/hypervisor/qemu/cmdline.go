package qemu

import (
	"fmt"
	"strconv"
	"strings"
)

// Accel is the accelerator QEMU runs guests with.
type Accel string

// Accelerators.
const (
	AccelKVM Accel = "kvm"
	AccelTCG Accel = "tcg"
)

// Spec is everything the QEMU command line of one machine depends on. Args turns it into the
// command line; it is a pure function so that every variant is unit-tested without QEMU.
type Spec struct {
	Accel Accel
	CPUs  int
	RAMMB int
	// Image boots through firmware on q35 (a qcow2 overlay of it is Disk). Without it, Kernel
	// and Initrd boot directly: on microvm when Microvm is set (PVH/ELF kernels), else q35.
	Kernel, Initrd string
	Append         string // kernel command line (direct boot only)
	Microvm        bool
	Disk           string // the machine's qcow2 overlay (first virtio-blk disk, vda)
	Seed           string // the NoCloud cidata ISO (read-only virtio-blk disk)
	QMP            string // QMP Unix socket path
	Serial         string // serial console log file (appended to)
	Pidfile        string
	// Tap is the tap device of the machine's NIC ("" for no NIC); MAC its address.
	Tap, MAC string
	// GPUs are PCI addresses passed through with VFIO (e.g. 0000:65:00.0).
	GPUs []string
	Name string // shown by ps and in QEMU's messages
	// Firmware is the UEFI firmware (OVMF code, read-only pflash) an image boots with, and
	// FirmwareVars the machine's own copy of its variable store; "" boots with SeaBIOS.
	Firmware, FirmwareVars string
	// GuestAgent is the Unix socket QEMU serves for the guest agent's virtio-serial port
	// (org.qemu.guest_agent.0); "" for none.
	GuestAgent string
}

// GuestAgentPort is the virtio-serial port name qemu-guest-agent opens in the guest.
const GuestAgentPort = "org.qemu.guest_agent.0"

// Args returns the arguments of qemu-system-x86_64 for s (without the program name).
func Args(s Spec) []string {
	machine := "q35"
	dev := func(kind string) string { return "virtio-" + kind + "-pci" }
	if s.Microvm {
		machine = "microvm"
		dev = func(kind string) string { return "virtio-" + kind + "-device" }
	}
	a := []string{"-name", s.Name, "-nodefaults", "-no-user-config", "-nographic",
		"-M", machine, "-accel", string(s.Accel)}
	if s.Accel == AccelKVM {
		a = append(a, "-cpu", "host")
	}
	if s.Firmware != "" && s.Kernel == "" {
		a = append(a, "-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+optEscape(s.Firmware),
			"-drive", "if=pflash,format=raw,unit=1,file="+optEscape(s.FirmwareVars))
	}
	a = append(a, "-smp", strconv.Itoa(max(s.CPUs, 1)), "-m", strconv.Itoa(max(s.RAMMB, 64)))
	if s.Kernel != "" {
		a = append(a, "-kernel", s.Kernel)
		if s.Initrd != "" {
			a = append(a, "-initrd", s.Initrd)
		}
		if s.Append != "" {
			a = append(a, "-append", s.Append)
		}
	}
	a = append(a,
		"-drive", "if=none,id=disk0,file="+optEscape(s.Disk)+",format=qcow2,cache=writeback,discard=unmap",
		"-device", dev("blk")+",drive=disk0")
	if s.Seed != "" {
		a = append(a, "-drive", "if=none,id=seed,file="+optEscape(s.Seed)+",format=raw,readonly=on",
			"-device", dev("blk")+",drive=seed")
	}
	if s.Tap != "" {
		a = append(a, "-netdev", "tap,id=net0,ifname="+s.Tap+",script=no,downscript=no",
			"-device", dev("net")+",netdev=net0,mac="+s.MAC)
	}
	for i, g := range s.GPUs {
		a = append(a, "-device", fmt.Sprintf("vfio-pci,host=%s,id=gpu%d", g, i))
	}
	if s.GuestAgent != "" {
		a = append(a, "-chardev", "socket,id=qga0,path="+optEscape(s.GuestAgent)+",server=on,wait=off",
			"-device", dev("serial")+",id=vser0",
			"-device", "virtserialport,bus=vser0.0,chardev=qga0,name="+GuestAgentPort)
	}
	a = append(a,
		"-chardev", "file,id=serial0,path="+optEscape(s.Serial)+",append=on",
		"-serial", "chardev:serial0",
		"-qmp", "unix:"+optEscape(s.QMP)+",server=on,wait=off",
		"-pidfile", s.Pidfile)
	return a
}

// optEscape escapes commas in a QEMU option value.
func optEscape(v string) string { return strings.ReplaceAll(v, ",", ",,") }

// KernelAppend is the kernel command line of a direct boot: the serial console, a reboot on
// panic, and under TCG on microvm a fixed TSC frequency (microvm has no PIT or HPET to
// calibrate against; without it boots hang most of the time).
func KernelAppend(accel Accel, microvm bool) string {
	s := "console=ttyS0 quiet panic=-1"
	if accel == AccelTCG && microvm {
		s += " tsc_early_khz=2000000"
	}
	return s
}
