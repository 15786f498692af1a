package testimage

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// builderVersion changes whenever the builder makes different images from the same inputs, so
// that cached images are rebuilt.
const builderVersion = "2"

// Modules are the kernel modules the image loads at boot (their dependencies come along):
// virtio over MMIO (microvm) and PCI (q35/pc), disks, network, the seed's ISO 9660, the data
// disk's filesystem, and the ACPI power button with its input events.
var Modules = []string{
	"virtio_mmio", "virtio_pci", "virtio_blk", "virtio_net",
	"isofs", "crc32c_generic", "ext4", "button", "evdev",
}

//go:embed init.sh
var initScript []byte

// Image is a built test template: a PVH kernel and an initramfs.
type Image struct {
	Dir           string // the output directory
	Kernel        string // Dir/vmlinux, uncompressed ELF with a PVH entry
	Initrd        string // Dir/initrd.img, gzip'd newc cpio
	KernelRelease string // e.g. 6.1.0-56-amd64
	KernelPackage string // e.g. linux-image-6.1.0-56-amd64 6.1.192-2
	Stamp         string // hash of everything the image is built from
	Built         bool   // false when the cached image was current
}

// Options tune Build. The zero value builds into DefaultDir.
type Options struct {
	// OutDir receives vmlinux, initrd.img and stamp; default DefaultDir(kernel release).
	OutDir string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// CacheRoot is where images are cached by default: ${XDG_CACHE_HOME:-$HOME/.cache}/hangar/test-image.
func CacheRoot() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "hangar", "test-image"), nil
}

// DefaultDir is the cache directory of the image for one kernel release.
func DefaultDir(release string) (string, error) {
	root, err := CacheRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, release), nil
}

// Build makes the test template from Debian's current linux-image-amd64 and the host's static
// busybox, or returns the cached one when its stamp is current. It needs apt-cache, apt-get,
// dpkg-deb, xz and busybox-static (scripts/install-test-deps installs them).
func Build(ctx context.Context, opt Options) (Image, error) {
	logw := opt.Log
	if logw == nil {
		logw = io.Discard
	}
	busybox, err := findStaticBusybox()
	if err != nil {
		return Image{}, err
	}
	k, err := resolveKernel(ctx)
	if err != nil {
		return Image{}, err
	}
	img := Image{Dir: opt.OutDir, KernelRelease: k.Release, KernelPackage: k.Name + " " + k.Version}
	if img.Dir == "" {
		if img.Dir, err = DefaultDir(k.Release); err != nil {
			return img, err
		}
	}
	img.Kernel = filepath.Join(img.Dir, "vmlinux")
	img.Initrd = filepath.Join(img.Dir, "initrd.img")
	if img.Stamp, err = stamp(k, busybox); err != nil {
		return img, err
	}
	if err := os.MkdirAll(filepath.Dir(img.Dir), 0o755); err != nil {
		return img, err
	}
	unlock, err := lockFile(img.Dir + ".lock")
	if err != nil {
		return img, err
	}
	defer unlock()
	if current(img) {
		return img, nil
	}
	start := time.Now()
	fmt.Fprintf(logw, "build-test-image: building %s from %s into %s\n", k.Release, img.KernelPackage, img.Dir)
	tmp, err := os.MkdirTemp(filepath.Dir(img.Dir), ".build-")
	if err != nil {
		return img, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		return img, err
	}
	root, err := fetchKernel(ctx, k, tmp)
	if err != nil {
		return img, err
	}
	fmt.Fprintf(logw, "build-test-image: kernel package unpacked after %.1fs\n", time.Since(start).Seconds())
	if err := extractVmlinux(ctx, filepath.Join(root, "boot", "vmlinuz-"+k.Release), filepath.Join(out, "vmlinux")); err != nil {
		return img, err
	}
	mods, err := writeInitramfs(filepath.Join(out, "initrd.img"), busybox, filepath.Join(root, "lib", "modules", k.Release), k.Release)
	if err != nil {
		return img, err
	}
	manifest := fmt.Sprintf("kernel-package: %s\nkernel-release: %s\nbusybox: %s\nmodules:\n  %s\n",
		img.KernelPackage, k.Release, busybox, strings.Join(mods, "\n  "))
	if err := os.WriteFile(filepath.Join(out, "manifest"), []byte(manifest), 0o644); err != nil {
		return img, err
	}
	// The stamp is written last: a directory with a matching stamp is complete.
	if err := os.WriteFile(filepath.Join(out, "stamp"), []byte(img.Stamp+"\n"), 0o644); err != nil {
		return img, err
	}
	if err := os.RemoveAll(img.Dir); err != nil {
		return img, err
	}
	if err := os.Rename(out, img.Dir); err != nil {
		return img, err
	}
	img.Built = true
	fmt.Fprintf(logw, "build-test-image: done in %.1fs\n", time.Since(start).Seconds())
	return img, nil
}

// current reports whether img.Dir holds a complete image with img's stamp.
func current(img Image) bool {
	got, err := os.ReadFile(filepath.Join(img.Dir, "stamp"))
	if err != nil || strings.TrimSpace(string(got)) != img.Stamp {
		return false
	}
	for _, p := range []string{img.Kernel, img.Initrd} {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			return false
		}
	}
	return true
}

// stamp hashes every input of the image.
func stamp(k kernelPackage, busybox string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "builder %s\nkernel %s %s\nmodules %s\n", builderVersion, k.Name, k.Version, strings.Join(Modules, " "))
	h.Write(initScript)
	f, err := os.Open(busybox)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// findStaticBusybox returns the path of a statically linked busybox.
func findStaticBusybox() (string, error) {
	path, err := exec.LookPath("busybox")
	if err != nil {
		return "", errors.New("busybox not found; install busybox-static (scripts/install-test-deps)")
	}
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("busybox: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", fmt.Errorf("%s is dynamically linked; install busybox-static", path)
		}
	}
	return path, nil
}

// writeInitramfs writes the gzip'd cpio: busybox with its applet links, /init, the modules
// and /etc/hangar/modules listing them in load order. It returns that list.
func writeInitramfs(dst, busybox, modDir, release string) ([]string, error) {
	ms, err := loadModuleSet(modDir)
	if err != nil {
		return nil, err
	}
	mods, err := ms.closure(Modules)
	if err != nil {
		return nil, err
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return nil, err
	}
	files := []cpioEntry{
		{Name: "init", Mode: modeFile | 0o755, Data: initScript},
		{Name: "bin/busybox", Mode: modeFile | 0o755, Data: bb},
		{Name: "dev/console", Mode: modeCharDev | 0o600, Major: 5, Minor: 1},
	}
	for _, d := range []string{"proc", "sys", "tmp", "root", "data", "seed", "etc/acpi", "run", "var/log", "var/run"} {
		files = append(files, cpioEntry{Name: d, Mode: modeDir | 0o755})
	}
	list, err := run(context.Background(), "", busybox, "--list-full")
	if err != nil {
		return nil, err
	}
	for _, applet := range strings.Fields(list) {
		if applet != "bin/busybox" {
			files = append(files, cpioEntry{Name: applet, Mode: modeSymlink | 0o777, Data: []byte("/bin/busybox")})
		}
	}
	var order []string
	for _, rel := range mods {
		data, err := os.ReadFile(filepath.Join(modDir, rel))
		if err != nil {
			return nil, err
		}
		name := release + "/" + filepath.ToSlash(rel)
		files = append(files, cpioEntry{Name: "lib/modules/" + name, Mode: modeFile | 0o644, Data: data})
		order = append(order, name)
	}
	files = append(files, cpioEntry{Name: "etc/hangar/modules", Mode: modeFile | 0o644, Data: []byte(strings.Join(order, "\n") + "\n")})
	files = withParents(files)

	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if err := writeCPIO(zw, files); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return order, os.WriteFile(dst, buf.Bytes(), 0o644)
}

// withParents adds a directory entry for every parent directory not already listed.
func withParents(files []cpioEntry) []cpioEntry {
	have := map[string]bool{}
	for _, f := range files {
		have[f.Name] = true
	}
	out := files
	for _, f := range files {
		for d := filepath.Dir(f.Name); d != "." && d != "/" && !have[d]; d = filepath.Dir(d) {
			have[d] = true
			out = append(out, cpioEntry{Name: d, Mode: modeDir | 0o755})
		}
	}
	return out
}

// lockFile takes an exclusive lock on path, so that parallel test binaries build an image
// once; the returned function releases it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil // Close unlocks too
}
