package testimage_test

import (
	"slices"
	"strings"
	"testing"

	"hangar/internal/testimage"
)

func TestBootArgs(t *testing.T) {
	img := testimage.Image{Kernel: "/k/vmlinux", Initrd: "/k/initrd.img"}
	tests := []struct {
		boot       testimage.Boot
		want, not  []string
		appendWant string
	}{
		{
			boot: testimage.Boot{Image: img, Machine: "microvm", Disk: "/m/disk.qcow2", Seed: "/m/seed.iso", Netdev: "tap,ifname=tap0,script=no,downscript=no", MAC: "52:54:00:00:00:01", QMP: "/m/qmp.sock"},
			want: []string{"-accel tcg", "-M microvm", "-m 256", "-smp 1", "-kernel /k/vmlinux", "-initrd /k/initrd.img",
				"-drive if=none,id=disk0,file=/m/disk.qcow2,format=qcow2,cache=writeback,discard=unmap -device virtio-blk-device,drive=disk0 -drive if=none,id=seed0,file=/m/seed.iso,format=raw,readonly=on -device virtio-blk-device,drive=seed0",
				"-netdev tap,ifname=tap0,script=no,downscript=no,id=net0 -device virtio-net-device,netdev=net0,mac=52:54:00:00:00:01",
				"-qmp unix:/m/qmp.sock,server=on,wait=off"},
			not:        []string{"-no-reboot", "-cpu"},
			appendWant: "console=ttyS0 quiet panic=-1 tsc_early_khz=2000000",
		},
		{
			boot:       testimage.Boot{Image: img, Machine: "q35", Accel: "kvm", CPUs: 2, MemMiB: 512, Disk: "/d.qcow2"},
			want:       []string{"-accel kvm", "-M q35", "-m 512", "-smp 2", "-cpu host", "-device virtio-blk-pci,drive=disk0"},
			not:        []string{"-no-reboot", "-netdev", "-qmp", "seed0"},
			appendWant: "console=ttyS0 quiet panic=-1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.boot.Machine, func(t *testing.T) {
			args := tt.boot.Args()
			line := strings.Join(args, " ")
			for _, w := range tt.want {
				if !strings.Contains(line, w) {
					t.Errorf("command line lacks %q:\n%s", w, line)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(line, n) {
					t.Errorf("command line has %q:\n%s", n, line)
				}
			}
			i := slices.Index(args, "-append")
			if i < 0 || args[i+1] != tt.appendWant {
				t.Errorf("-append %q, want %q", args[i+1], tt.appendWant)
			}
		})
	}
}

// TestBuildIsCached checks that a second build with the same inputs is a no-op.
func TestBuildIsCached(t *testing.T) {
	img := testimage.Ensure(t)
	again, err := testimage.Build(t.Context(), testimage.Options{OutDir: img.Dir})
	if err != nil {
		t.Fatal(err)
	}
	if again.Built || again.Stamp != img.Stamp || again.Kernel != img.Kernel {
		t.Errorf("second build %+v, want the cached %+v", again, img)
	}
}
