package testimage

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// BuildTools are the host commands Build needs.
var BuildTools = []string{"apt-cache", "apt-get", "dpkg-deb", "xz", "busybox"}

// BootTools are the host commands a test needs to boot the image.
var BootTools = []string{"qemu-system-x86_64", "qemu-img", "genisoimage"}

// Ensure returns the test template for a test, building it on first use (about 10-20 s) and
// reusing the cached one afterwards. HANGAR_TEST_IMAGE_DIR overrides the output directory.
// Without the tools (BuildTools and BootTools) the test is skipped, or fails when
// HANGAR_REQUIRE_TOOLS=1; a build that fails with the tools present fails the test.
func Ensure(tb testing.TB) Image {
	tb.Helper()
	RequireTools(tb, append(append([]string(nil), BuildTools...), BootTools...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log strings.Builder
	img, err := Build(ctx, Options{OutDir: os.Getenv("HANGAR_TEST_IMAGE_DIR"), Log: &log})
	if err != nil {
		tb.Fatalf("building the test image: %v\n%s", err, log.String())
	}
	if img.Built {
		tb.Logf("built the test image in %s:\n%s", img.Dir, log.String())
	}
	return img
}

// RequireTools skips the test when one of the commands is not on PATH, or fails it when
// HANGAR_REQUIRE_TOOLS=1 (scripts/test sets it after installing them).
func RequireTools(tb testing.TB, commands ...string) {
	tb.Helper()
	var missing []string
	for _, c := range commands {
		if _, err := exec.LookPath(c); err != nil {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "missing " + strings.Join(missing, ", ") + " (scripts/install-test-deps installs them)"
	if os.Getenv("HANGAR_REQUIRE_TOOLS") == "1" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}
