package qemu

import (
	"slices"
	"strings"
	"testing"
)

// opt returns the values following flag in args.
func opt(args []string, flag string) []string {
	var out []string
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			out = append(out, args[i+1])
		}
	}
	return out
}

func TestArgs(t *testing.T) {
	base := Spec{Accel: AccelTCG, CPUs: 2, RAMMB: 512, Disk: "/v/disk.qcow2", Seed: "/v/seed.iso", QMP: "/v/qmp.sock",
		Serial: "/v/serial.log", Pidfile: "/v/qemu.pid", Name: "hangar-ps1"}
	tests := []struct {
		name  string
		spec  func(Spec) Spec
		check func(t *testing.T, a []string)
	}{
		{"microvm direct boot under TCG", func(s Spec) Spec {
			s.Kernel, s.Initrd, s.Microvm, s.Append = "/k/vmlinux", "/k/initrd", true, KernelAppend(AccelTCG, true)
			return s
		}, func(t *testing.T, a []string) {
			want(t, opt(a, "-M"), "microvm")
			want(t, opt(a, "-accel"), "tcg")
			want(t, opt(a, "-cpu")) // TCG keeps QEMU's default CPU model
			want(t, opt(a, "-kernel"), "/k/vmlinux")
			want(t, opt(a, "-initrd"), "/k/initrd")
			want(t, opt(a, "-append"), "console=ttyS0 quiet panic=-1 tsc_early_khz=2000000")
			want(t, opt(a, "-device"), "virtio-blk-device,drive=disk0", "virtio-blk-device,drive=seed")
			want(t, opt(a, "-smp"), "2")
			want(t, opt(a, "-m"), "512")
		}},
		{"UEFI image boot with a guest agent", func(s Spec) Spec {
			s.Firmware, s.FirmwareVars, s.GuestAgent = "/fw/OVMF_CODE_4M.fd", "/v/efivars.fd", "/v/qga.sock"
			return s
		}, func(t *testing.T, a []string) {
			want(t, opt(a, "-M"), "q35")
			want(t, opt(a, "-drive"), "if=pflash,format=raw,unit=0,readonly=on,file=/fw/OVMF_CODE_4M.fd",
				"if=pflash,format=raw,unit=1,file=/v/efivars.fd",
				"if=none,id=disk0,file=/v/disk.qcow2,format=qcow2,cache=writeback,discard=unmap",
				"if=none,id=seed,file=/v/seed.iso,format=raw,readonly=on")
			want(t, opt(a, "-device"), "virtio-blk-pci,drive=disk0", "virtio-blk-pci,drive=seed",
				"virtio-serial-pci,id=vser0", "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0")
			if c := opt(a, "-chardev"); len(c) != 2 || !slices.Contains(c, "socket,id=qga0,path=/v/qga.sock,server=on,wait=off") {
				t.Errorf("chardevs %q, want the serial log and the agent's socket", c)
			}
		}},
		{"direct boot ignores the firmware", func(s Spec) Spec {
			s.Kernel, s.Microvm, s.Firmware, s.GuestAgent = "/k/vmlinux", true, "/fw/OVMF_CODE_4M.fd", "/v/qga.sock"
			return s
		}, func(t *testing.T, a []string) {
			for _, d := range opt(a, "-drive") {
				if strings.Contains(d, "pflash") {
					t.Errorf("direct boot with firmware: %s", d)
				}
			}
			want(t, opt(a, "-device"), "virtio-blk-device,drive=disk0", "virtio-blk-device,drive=seed",
				"virtio-serial-device,id=vser0", "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0")
		}},
		{"q35 image boot under KVM", func(s Spec) Spec { s.Accel = AccelKVM; return s }, func(t *testing.T, a []string) {
			want(t, opt(a, "-M"), "q35")
			want(t, opt(a, "-accel"), "kvm")
			want(t, opt(a, "-cpu"), "host")
			want(t, opt(a, "-kernel"))
			want(t, opt(a, "-append"))
			want(t, opt(a, "-device"), "virtio-blk-pci,drive=disk0", "virtio-blk-pci,drive=seed")
			want(t, opt(a, "-drive"), "if=none,id=disk0,file=/v/disk.qcow2,format=qcow2,cache=writeback,discard=unmap",
				"if=none,id=seed,file=/v/seed.iso,format=raw,readonly=on")
		}},
		{"tap NIC", func(s Spec) Spec { s.Microvm, s.Tap, s.MAC = true, "hq-ps1", "52:54:00:00:00:01"; return s }, func(t *testing.T, a []string) {
			want(t, opt(a, "-netdev"), "tap,id=net0,ifname=hq-ps1,script=no,downscript=no")
			want(t, opt(a, "-device"), "virtio-blk-device,drive=disk0", "virtio-blk-device,drive=seed",
				"virtio-net-device,netdev=net0,mac=52:54:00:00:00:01")
		}},
		{"GPU passthrough", func(s Spec) Spec { s.GPUs = []string{"0000:65:00.0", "0000:b3:00.0"}; return s }, func(t *testing.T, a []string) {
			want(t, opt(a, "-M"), "q35")
			want(t, opt(a, "-device"), "virtio-blk-pci,drive=disk0", "virtio-blk-pci,drive=seed",
				"vfio-pci,host=0000:65:00.0,id=gpu0", "vfio-pci,host=0000:b3:00.0,id=gpu1")
		}},
		{"no seed, odd paths", func(s Spec) Spec { s.Seed, s.Disk, s.CPUs, s.RAMMB = "", "/a,b/disk.qcow2", 0, 0; return s }, func(t *testing.T, a []string) {
			want(t, opt(a, "-drive"), "if=none,id=disk0,file=/a,,b/disk.qcow2,format=qcow2,cache=writeback,discard=unmap")
			want(t, opt(a, "-smp"), "1")
			want(t, opt(a, "-m"), "64")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Args(tc.spec(base))
			// Every variant is detached from a terminal, reboots on reset, and is reachable.
			if slices.Contains(a, "-no-reboot") || slices.Contains(a, "-daemonize") {
				t.Errorf("args contain -no-reboot or -daemonize: %v", a)
			}
			want(t, opt(a, "-qmp"), "unix:/v/qmp.sock,server=on,wait=off")
			if c := opt(a, "-chardev"); !slices.Contains(c, "file,id=serial0,path=/v/serial.log,append=on") {
				t.Errorf("chardevs %q, want the serial log", c)
			}
			want(t, opt(a, "-serial"), "chardev:serial0")
			want(t, opt(a, "-pidfile"), "/v/qemu.pid")
			want(t, opt(a, "-name"), "hangar-ps1")
			tc.check(t, a)
		})
	}
}

func want(t *testing.T, got []string, vals ...string) {
	t.Helper()
	if !slices.Equal(got, vals) {
		t.Errorf("got %q, want %q", got, vals)
	}
}

func TestKernelAppend(t *testing.T) {
	for _, tc := range []struct {
		accel   Accel
		microvm bool
		tsc     bool
	}{{AccelTCG, true, true}, {AccelTCG, false, false}, {AccelKVM, true, false}} {
		got := KernelAppend(tc.accel, tc.microvm)
		if strings.Contains(got, "tsc_early_khz=") != tc.tsc || !strings.HasPrefix(got, "console=ttyS0") {
			t.Errorf("KernelAppend(%s, %t) = %q", tc.accel, tc.microvm, got)
		}
	}
}

func TestHostname(t *testing.T) {
	for in, want := range map[string]string{"My Machine!": "my-machine", "---": "ps9", "a_b.c": "a-b-c",
		strings.Repeat("x", 70): strings.Repeat("x", 63)} {
		if got := Hostname(in, "ps9"); got != want {
			t.Errorf("Hostname(%q) = %q, want %q", in, got, want)
		}
	}
}
