package testimage

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Serial markers /init prints, each on its own line on ttyS0.
const (
	MarkerKernelUp  = "HANGAR-KERNEL-UP"  // first line of /init: the kernel is up
	MarkerScriptRan = "HANGAR-SCRIPT-RAN" // followed by " rc=<exit status>"
	MarkerReady     = "HANGAR-READY"      // network, script, httpd and acpid are done
)

// Boot describes one QEMU launch of a test template: the command line the qemu driver uses.
type Boot struct {
	Image   Image
	Machine string // "microvm" (default) or "q35"
	Accel   string // "tcg" (default) or "kvm"
	CPUs    int    // default 1
	MemMiB  int    // default 256
	Disk    string // qcow2 of the machine's disk (vda); empty for none
	Seed    string // cidata ISO; empty for none
	// Netdev is QEMU's -netdev value without the id, e.g. "tap,ifname=tap0,script=no,downscript=no"
	// or "user,restrict=on"; empty for no network device.
	Netdev string
	MAC    string // of the network device; empty lets QEMU choose
	QMP    string // path of the QMP unix socket; empty for none
	// Wrap is prepended to the QEMU command, e.g. ip netns exec NAME so that a tap device in
	// that namespace can be opened (the qemu driver does the same); nil for none.
	Wrap []string
}

// KernelCmdline is the kernel command line for machine: the serial console, quiet, reboot
// at once on panic, and on microvm a fixed TSC frequency (without it, TCG boots hang on
// calibration about two times in three).
func KernelCmdline(machine string) string {
	cmdline := "console=ttyS0 quiet panic=-1"
	if machine == "" || machine == "microvm" {
		cmdline += " tsc_early_khz=2000000"
	}
	return cmdline
}

// Args returns qemu-system-x86_64's arguments; the serial console is on standard output.
// There is no -no-reboot: a guest reboot or QMP system_reset boots the kernel again.
func (b Boot) Args() []string {
	machine, accel := or(b.Machine, "microvm"), or(b.Accel, "tcg")
	bus := "pci"
	if machine == "microvm" {
		bus = "device"
	}
	args := []string{
		"-accel", accel, "-M", machine,
		"-m", strconv.Itoa(orInt(b.MemMiB, 256)), "-smp", strconv.Itoa(orInt(b.CPUs, 1)),
		"-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
		"-kernel", b.Image.Kernel, "-initrd", b.Image.Initrd, "-append", KernelCmdline(machine),
	}
	if accel == "kvm" {
		args = append(args, "-cpu", "host")
	}
	if b.Disk != "" {
		args = append(args, "-drive", "if=none,id=disk0,file="+b.Disk+",format=qcow2,cache=writeback,discard=unmap",
			"-device", "virtio-blk-"+bus+",drive=disk0")
	}
	if b.Seed != "" {
		args = append(args, "-drive", "if=none,id=seed0,file="+b.Seed+",format=raw,readonly=on",
			"-device", "virtio-blk-"+bus+",drive=seed0")
	}
	if b.Netdev != "" {
		dev := "virtio-net-" + bus + ",netdev=net0"
		if b.MAC != "" {
			dev += ",mac=" + b.MAC
		}
		args = append(args, "-netdev", b.Netdev+",id=net0", "-device", dev)
	}
	if b.QMP != "" {
		args = append(args, "-qmp", "unix:"+b.QMP+",server=on,wait=off")
	}
	return args
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orInt(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

// Line is one line of the serial console and when it arrived.
type Line struct {
	Text string
	At   time.Duration // since exec
}

// VM is a running QEMU process launched from a Boot.
type VM struct {
	Started time.Time
	cmd     *exec.Cmd
	lines   chan Line
	done    chan struct{}
	mu      sync.Mutex
	log     bytes.Buffer
	err     error
}

// Start execs QEMU (behind b.Wrap) with b.Args(); ctx kills it.
func Start(ctx context.Context, b Boot) (*VM, error) {
	argv := append(append(append([]string(nil), b.Wrap...), "qemu-system-x86_64"), b.Args()...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	vm := &VM{cmd: cmd, lines: make(chan Line, 1024), done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{vm: vm}
	vm.Started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go vm.scan(stdout)
	return vm, nil
}

type lockedWriter struct{ vm *VM }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.vm.mu.Lock()
	defer w.vm.mu.Unlock()
	return w.vm.log.Write(p)
}

func (vm *VM) scan(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		text := strings.TrimRight(sc.Text(), "\r")
		vm.mu.Lock()
		vm.log.WriteString(text + "\n")
		vm.mu.Unlock()
		vm.lines <- Line{Text: text, At: time.Since(vm.Started)}
	}
	err := vm.cmd.Wait()
	vm.mu.Lock()
	vm.err = err
	vm.mu.Unlock()
	close(vm.lines)
	close(vm.done)
}

// Next returns the next serial line that starts with prefix, skipping others, or an error if
// QEMU exits or timeout passes first.
func (vm *VM) Next(prefix string, timeout time.Duration) (Line, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case l, ok := <-vm.lines:
			if !ok {
				return Line{}, fmt.Errorf("qemu exited before %q: %v\n%s", prefix, vm.exitErr(), vm.Log())
			}
			if strings.HasPrefix(l.Text, prefix) {
				return l, nil
			}
		case <-timer.C:
			return Line{}, fmt.Errorf("no %q within %s; console so far:\n%s", prefix, timeout, vm.Log())
		}
	}
}

// Log returns the serial console and QEMU's standard error so far.
func (vm *VM) Log() string {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.log.String()
}

func (vm *VM) exitErr() error {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.err
}

// Wait waits up to timeout for QEMU to exit and returns its exit error (nil for status 0).
func (vm *VM) Wait(timeout time.Duration) error {
	go func() {
		for range vm.lines { // keep the console drained
		}
	}()
	select {
	case <-vm.done:
		return vm.exitErr()
	case <-time.After(timeout):
		return fmt.Errorf("qemu still running after %s", timeout)
	}
}

// Kill kills QEMU and waits for it.
func (vm *VM) Kill() {
	_ = vm.cmd.Process.Kill()
	_ = vm.Wait(10 * time.Second)
}

// QMP runs one QMP command on the socket at path (a fresh connection each time) and returns
// its "return" value.
func QMP(path, command string, arguments any) (json.RawMessage, error) {
	conn, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	dec := json.NewDecoder(conn)
	var greeting map[string]json.RawMessage
	if err := dec.Decode(&greeting); err != nil {
		return nil, fmt.Errorf("qmp greeting: %w", err)
	}
	if _, err := qmpExec(conn, dec, "qmp_capabilities", nil); err != nil {
		return nil, err
	}
	return qmpExec(conn, dec, command, arguments)
}

func qmpExec(conn net.Conn, dec *json.Decoder, command string, arguments any) (json.RawMessage, error) {
	req := map[string]any{"execute": command}
	if arguments != nil {
		req["arguments"] = arguments
	}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return nil, err
	}
	for {
		var resp struct {
			Return json.RawMessage `json:"return"`
			Error  *struct {
				Class, Desc string
			} `json:"error"`
			Event string `json:"event"`
		}
		if err := dec.Decode(&resp); err != nil {
			return nil, fmt.Errorf("qmp %s: %w", command, err)
		}
		switch {
		case resp.Error != nil:
			return nil, fmt.Errorf("qmp %s: %s: %s", command, resp.Error.Class, resp.Error.Desc)
		case resp.Event != "":
			continue
		case resp.Return != nil:
			return resp.Return, nil
		default:
			return nil, errors.New("qmp " + command + ": unexpected reply")
		}
	}
}
