package vnet

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The tests run parts of themselves inside namespaces by starting the test binary again
// there (`ip netns exec NS <test binary> -test.run=^TestHelperProcess$`) with the mode in
// HANGAR_VNET_HELPER:
//
//	listen ADDR   accept TCP connections on ADDR, answer each with the peer's address
//	hold ADDR     the same, but never close the connections (until the helper ends)
//	dial ADDR [PORT]  connect to ADDR (from local PORT) and print the line the server sends
//	echo ADDR     accept TCP connections on ADDR and echo every line
//	converse ADDR connect to ADDR, then send each stdin line and print the answer (or
//	              "error …" when none comes)
//	tap NAME MAC IP GW   open tap NAME like QEMU does and resolve GW by ARP (tap_test.go)
const helperEnv = "HANGAR_VNET_HELPER"

// TestHelperProcess is not a test: it is the body of the helper processes.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process only")
	}
	args := strings.Fields(mode)
	var err error
	switch args[0] {
	case "listen":
		err = helperListen(args[1], false)
	case "hold":
		err = helperListen(args[1], true)
	case "dial":
		err = helperDial(args[1], args[2:]...)
	case "echo":
		err = helperEcho(args[1])
	case "converse":
		err = helperConverse(args[1])
	case "tap":
		err = helperTap(args[1], args[2], args[3], args[4])
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func helperListen(addr string, hold bool) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println("ready")
	go func() { // ends when the test closes stdin
		_, _ = io.Copy(io.Discard, os.Stdin)
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil
		}
		fmt.Fprintln(c, c.RemoteAddr().(*net.TCPAddr).IP)
		if !hold {
			c.Close()
		}
	}
}

func helperEcho(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println("ready")
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil
		}
		go func() {
			defer c.Close()
			_, _ = io.Copy(c, c)
		}()
	}
}

func helperConverse(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println("ready")
	in, r := bufio.NewScanner(os.Stdin), bufio.NewReader(c)
	for in.Scan() {
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := fmt.Fprintln(c, in.Text()); err != nil {
			fmt.Println("error", err)
			continue
		}
		line, err := r.ReadString('\n')
		if err != nil {
			fmt.Println("error", err)
			continue
		}
		fmt.Print(line)
	}
	return nil
}

func helperDial(addr string, localPort ...string) error {
	d := net.Dialer{Timeout: 3 * time.Second}
	if len(localPort) > 0 {
		la, err := net.ResolveTCPAddr("tcp", ":"+localPort[0])
		if err != nil {
			return err
		}
		d.LocalAddr = la
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	fmt.Print(line)
	return nil
}

// helperCmd returns the command running the helper in mode inside namespace ns.
func helperCmd(ctx context.Context, ns, mode string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	return cmd
}

// listenIn starts a TCP server in ns on addr that answers every connection with the
// peer's address; it stops when the test ends.
func listenIn(t *testing.T, ns, addr string) {
	t.Helper()
	startHelper(t, ns, "listen "+addr)
}

// startHelper starts a helper in ns, waits for its "ready" line and returns its stdin and
// stdout; closing stdin ends it.
func startHelper(t *testing.T, ns, mode string) (io.WriteCloser, *bufio.Reader) {
	t.Helper()
	cmd := helperCmd(context.Background(), ns, mode)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper %q in %s did not start: %q %v", mode, ns, line, err)
	}
	return stdin, out
}

// dialFrom connects from ns to addr and returns the peer address the server saw.
func dialFrom(ctx context.Context, ns, addr string) (string, error) {
	out, err := helperCmd(ctx, ns, "dial "+addr).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("dial %s from %s: %v: %s", addr, ns, err, out)
	}
	return strings.TrimSpace(string(out)), nil
}
