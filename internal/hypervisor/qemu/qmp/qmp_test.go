package qmp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"hangar/internal/waittest"
)

// TestQMP talks to a real QEMU without a guest (-M none): capabilities, query-status, an
// error answer, a command with arguments, and quit.
func TestQMP(t *testing.T) {
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		if os.Getenv("HANGAR_REQUIRE_TOOLS") == "1" {
			t.Fatal("qemu-system-x86_64 is missing")
		}
		t.Skip("qemu-system-x86_64 is missing (scripts/install-test-deps installs it)")
	}
	dir, err := os.MkdirTemp("", "qmp")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "qmp.sock")
	cmd := exec.Command(qemu, "-M", "none", "-nodefaults", "-no-user-config", "-nographic", "-S",
		"-qmp", "unix:"+sock+",server=on,wait=off")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var c *Client
	waittest.Eventually(t, 30*time.Second, func() (err error) { // until QEMU listens
		if c, err = Dial(ctx, sock); err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		return nil
	})
	defer c.Close()
	st, err := c.QueryStatus(ctx)
	if err != nil || st.Running || st.Status != "prelaunch" {
		t.Fatalf("query-status = %+v, %v; want prelaunch (started with -S)", st, err)
	}
	var qerr *Error
	if err := c.Execute(ctx, "no-such-command", nil, nil); !errors.As(err, &qerr) || qerr.Class != "CommandNotFound" {
		t.Fatalf("unknown command: %v", err)
	}
	var obj []struct {
		Name string `json:"name"`
	}
	if err := c.Execute(ctx, "qom-list", map[string]string{"path": "/machine"}, &obj); err != nil || len(obj) == 0 {
		t.Fatalf("qom-list /machine = %v, %v", obj, err)
	}
	if err := c.Execute(ctx, "quit", nil, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("QEMU exited after quit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("QEMU did not quit")
	}
}
