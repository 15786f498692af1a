package cloudimage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hangar/internal/testimage"
)

// BuildTools are the host commands scripts/build-cloud-image needs.
var BuildTools = []string{"mmdebstrap", "sfdisk", "mkfs.fat", "mcopy", "mmd", "mke2fs",
	"grub-mkstandalone", "qemu-img", "apt-cache", "flock"}

// Firmware is the UEFI firmware the image boots with (Debian's ovmf package).
const Firmware = "/usr/share/OVMF/OVMF_CODE_4M.fd"

// Ensure returns the path of the built image for a test, running scripts/build-cloud-image
// (about 1.5 minutes cold, well under a second when its cache is current).
// HANGAR_CLOUD_IMAGE names an image to use instead. Without the tools, root or the firmware
// the test is skipped (failed when HANGAR_REQUIRE_TOOLS=1).
func Ensure(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("HANGAR_CLOUD_IMAGE"); p != "" {
		return p
	}
	testimage.RequireTools(tb, BuildTools...)
	if os.Geteuid() != 0 {
		skipOrFail(tb, "building the cloud image needs root (mmdebstrap, file owners)")
	}
	if _, err := os.Stat(Firmware); err != nil {
		skipOrFail(tb, "no UEFI firmware "+Firmware+" (scripts/install-test-deps installs ovmf)")
	}
	root, err := repoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	start := time.Now()
	path, log, err := Build(ctx, filepath.Join(root, "scripts", "build-cloud-image"))
	if err != nil {
		tb.Fatalf("scripts/build-cloud-image: %v\n%s", err, log)
	}
	if d := time.Since(start); d > 10*time.Second {
		tb.Logf("built the cloud image %s in %s", path, d.Round(time.Second))
	}
	return path
}

// Build runs the build script and returns the path it printed on its last line, and its
// progress output.
func Build(ctx context.Context, script string, args ...string) (path, log string, err error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, script, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", stderr.String(), err
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	path = lines[len(lines)-1]
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		return "", stderr.String(), fmt.Errorf("last line %q is not the image", path)
	}
	return path, stderr.String(), nil
}

func skipOrFail(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("HANGAR_REQUIRE_TOOLS") == "1" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// repoRoot is the directory holding go.mod above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cloudimage: no go.mod above the working directory")
		}
		dir = parent
	}
}
