package qemu

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestChooseAccelProbesKVM boots the test kernel under KVM even where the CPU check would
// already refuse it: on a nested-PVM host (these CI machines) /dev/kvm opens but the probe
// boot must fail and TCG be chosen; elsewhere KVM is chosen only with a successful probe.
func TestChooseAccelProbesKVM(t *testing.T) {
	kernel, initrd := testImage(t)
	start := time.Now()
	accel, reason := ChooseAccel(context.Background(), Probe{Kernel: kernel, Initrd: initrd, Timeout: 8 * time.Second, SkipCPUCheck: true})
	t.Logf("accel %s after %v: %s", accel, time.Since(start).Round(time.Millisecond), reason)
	if _, err := os.Stat("/sys/module/kvm_pvm"); err == nil && accel != AccelTCG {
		t.Errorf("nested PVM host: got %s (%s), want tcg", accel, reason)
	}
	if accel == AccelKVM && reason != "the KVM probe boot succeeded" {
		t.Errorf("kvm chosen with reason %q", reason)
	}
	if accel == AccelTCG && reason == "" {
		t.Error("tcg chosen without a reason")
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("the probe took %v; it must give up after its timeout", time.Since(start))
	}
	// Without a probe kernel KVM is never assumed.
	if accel, reason := ChooseAccel(context.Background(), Probe{SkipCPUCheck: true}); accel != AccelTCG || !strings.Contains(reason, "kvm") && !strings.Contains(reason, "KVM") {
		t.Errorf("no probe kernel: %s (%s), want tcg", accel, reason)
	}
}

func TestCPUHasVirt(t *testing.T) {
	for in, want := range map[string]bool{
		"processor\t: 0\nflags\t\t: fpu vme de pse svm sse\n": true,
		"flags\t\t: fpu vmx\n":                                true,
		"flags\t\t: fpu vme hypervisor\n":                     false,
		"processor\t: 0\n":                                    false,
	} {
		if got := cpuHasVirt([]byte(in)); got != want {
			t.Errorf("cpuHasVirt(%q) = %t", in, got)
		}
	}
}
