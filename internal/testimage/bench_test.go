package testimage_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"hangar/internal/cidata"
	"hangar/internal/testimage"
)

// BenchmarkPlainBoot launches the test template with plain QEMU, using the command line of
// testimage.Boot (a fresh blank 50G qcow2 disk, a cidata seed without a startup script, a
// virtio-net device on a restricted user-mode network), and measures exec → HANGAR-READY:
// the baseline for the qemu driver's create → ready through the API. Each iteration is one
// boot; the disk and seed are made outside the timer and QEMU is quit after the marker.
//
//	go test -run '^$' -bench PlainBoot -benchtime 5x ./internal/testimage
//
// Metrics: s/ready (exec → HANGAR-READY, the ns/op figure in seconds), s/kernel-up (exec →
// HANGAR-KERNEL-UP). HANGAR_BENCH_ACCEL=kvm boots with KVM instead of TCG.
func BenchmarkPlainBoot(b *testing.B) {
	for _, machine := range []string{"microvm", "q35"} {
		b.Run(machine, func(b *testing.B) { benchBoot(b, machine) })
	}
}

func benchBoot(b *testing.B, machine string) {
	img := testimage.Ensure(b)
	var kernelUp, ready time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		boot := benchMachine(b, img, machine, i)
		ctx, cancel := context.WithCancel(context.Background())
		b.StartTimer()
		vm, err := testimage.Start(ctx, boot)
		if err != nil {
			b.Fatal(err)
		}
		up, err := vm.Next(testimage.MarkerKernelUp, bootTimeout)
		if err == nil {
			var l testimage.Line
			l, err = vm.Next(testimage.MarkerReady, bootTimeout)
			ready += l.At
		}
		b.StopTimer()
		kernelUp += up.At
		if err != nil {
			cancel()
			vm.Kill()
			b.Fatal(err)
		}
		if _, err := testimage.QMP(boot.QMP, "quit", nil); err != nil {
			b.Error(err)
		}
		if err := vm.Wait(time.Minute); err != nil {
			b.Error(err)
		}
		cancel()
	}
	b.ReportMetric(kernelUp.Seconds()/float64(b.N), "s/kernel-up")
	b.ReportMetric(ready.Seconds()/float64(b.N), "s/ready")
}

// benchMachine makes the disk and seed of boot i.
func benchMachine(b *testing.B, img testimage.Image, machine string, i int) testimage.Boot {
	b.Helper()
	dir := b.TempDir()
	disk := filepath.Join(dir, "disk.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", disk, "50G").CombinedOutput(); err != nil {
		b.Fatalf("qemu-img create: %v: %s", err, out)
	}
	seed := cidata.Seed{MachineID: fmt.Sprintf("psbench%d", i), Hostname: fmt.Sprintf("bench-%d", i)}
	iso := filepath.Join(dir, "seed.iso")
	if err := seed.WriteISO(context.Background(), iso); err != nil {
		b.Fatal(err)
	}
	return testimage.Boot{
		Image: img, Machine: machine, Accel: os.Getenv("HANGAR_BENCH_ACCEL"),
		Disk: disk, Seed: iso, Netdev: "user,restrict=on", QMP: filepath.Join(dir, "qmp.sock"),
	}
}
