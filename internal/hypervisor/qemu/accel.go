package qemu

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Probe is how the accelerator is chosen.
type Probe struct {
	QEMU string // qemu-system-x86_64
	// Kernel (and Initrd) are booted with KVM for at most Timeout (default 10 s); KVM is used
	// only if the kernel prints its banner in that time.
	Kernel, Initrd string
	Timeout        time.Duration
	// SkipCPUCheck probes even when /proc/cpuinfo shows no vmx/svm flag.
	SkipCPUCheck bool
}

// ChooseAccel returns KVM only after a short probe boot under KVM succeeded, else TCG, with
// the reason. A /dev/kvm that opens is not enough: on nested PVM hosts (kvm_pvm) it accepts
// VMs but cannot run stock kernels.
func ChooseAccel(ctx context.Context, p Probe) (Accel, string) {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return AccelTCG, "no usable /dev/kvm: " + err.Error()
	}
	f.Close()
	if !p.SkipCPUCheck {
		if b, err := os.ReadFile("/proc/cpuinfo"); err == nil && !cpuHasVirt(b) {
			reason := "the CPU shows no vmx/svm flag"
			if _, err := os.Stat("/sys/module/kvm_pvm"); err == nil {
				reason += " (/dev/kvm is nested PVM, which cannot boot stock kernels)"
			}
			return AccelTCG, reason
		}
	}
	if p.Kernel == "" {
		return AccelTCG, "no probe kernel configured (--qemu-probe-kernel), so KVM was not tried"
	}
	if err := probeBoot(ctx, p); err != nil {
		return AccelTCG, "the KVM probe boot failed: " + err.Error()
	}
	return AccelKVM, "the KVM probe boot succeeded"
}

func cpuHasVirt(cpuinfo []byte) bool {
	for _, line := range bytes.Split(cpuinfo, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("flags")) {
			for _, f := range strings.Fields(string(line)) {
				if f == "vmx" || f == "svm" {
					return true
				}
			}
			return false
		}
	}
	return false
}

// probeBoot boots p.Kernel under KVM and waits for the kernel's "Linux version" banner.
func probeBoot(ctx context.Context, p Probe) error {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	qemu := p.QEMU
	if qemu == "" {
		qemu = "qemu-system-x86_64"
	}
	machine := "q35"
	if isELF(p.Kernel) {
		machine = "microvm"
	}
	args := []string{"-nodefaults", "-no-user-config", "-nographic", "-M", machine, "-accel", "kvm", "-cpu", "host",
		"-m", "256", "-smp", "1", "-no-reboot", "-serial", "stdio", "-kernel", p.Kernel,
		"-append", "console=ttyS0 earlyprintk=serial panic=-1"}
	if p.Initrd != "" {
		args = append(args, "-initrd", p.Initrd)
	}
	cmd := exec.Command(qemu, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	found := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Linux version") {
				found <- true
				return
			}
		}
		found <- false
	}()
	var ok bool
	select {
	case ok = <-found:
	case <-ctx.Done():
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if ok {
		return nil
	}
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		if i := strings.IndexByte(msg, '\n'); i > 0 {
			msg = msg[:i]
		}
		return fmt.Errorf("no kernel output (%s)", msg)
	}
	return fmt.Errorf("no kernel output within %s", timeout)
}
