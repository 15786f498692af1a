package testimage

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// kernelPackage is the Debian package the builder resolves.
type kernelPackage struct {
	Name    string // linux-image-6.1.0-56-amd64
	Version string // 6.1.192-2
	Release string // 6.1.0-56-amd64, the kernel's uname -r
}

// resolveKernel asks apt which ABI package linux-image-amd64 currently depends on, and its
// version; the ABI name changes with security updates. One apt-cache call: without a
// pkgcache (Debian's container images disable it) each call parses all package lists.
func resolveKernel(ctx context.Context) (kernelPackage, error) {
	out, err := run(ctx, "", "apt-cache", "show", "--no-all-versions", "linux-image-amd64")
	if err != nil {
		return kernelPackage{}, fmt.Errorf("%w (are the apt lists there? run apt-get update)", err)
	}
	k, ok := parseMetaDepends(out)
	if !ok {
		return k, fmt.Errorf("apt-cache show linux-image-amd64 names no linux-image-* dependency:\n%s", out)
	}
	if k.Version != "" {
		return k, nil
	}
	if out, err = run(ctx, "", "apt-cache", "show", "--no-all-versions", k.Name); err != nil {
		return k, err
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Version: "); ok {
			k.Version = strings.TrimSpace(v)
			return k, nil
		}
	}
	return k, fmt.Errorf("apt-cache show %s gives no version", k.Name)
}

// parseMetaDepends reads the kernel package from the metapackage's record, whose Depends
// line looks like "Depends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)"; Version is empty
// when the dependency is not pinned.
func parseMetaDepends(record string) (kernelPackage, bool) {
	for _, line := range strings.Split(record, "\n") {
		deps, ok := strings.CutPrefix(line, "Depends: ")
		if !ok {
			continue
		}
		for _, dep := range strings.Split(deps, ",") {
			f := strings.Fields(dep)
			if len(f) == 0 || !strings.HasPrefix(f[0], "linux-image-") {
				continue
			}
			k := kernelPackage{Name: f[0], Release: strings.TrimPrefix(f[0], "linux-image-")}
			if len(f) == 3 && f[1] == "(=" {
				k.Version = strings.TrimSuffix(f[2], ")")
			}
			return k, true
		}
	}
	return kernelPackage{}, false
}

// fetchKernel downloads the package into dir and unpacks it into dir/root.
func fetchKernel(ctx context.Context, k kernelPackage, dir string) (root string, err error) {
	if _, err := run(ctx, dir, "apt-get", "download", "-q", k.Name+"="+k.Version); err != nil {
		return "", err
	}
	debs, _ := filepath.Glob(filepath.Join(dir, k.Name+"_*.deb"))
	if len(debs) != 1 {
		return "", fmt.Errorf("apt-get download %s left %d .deb files in %s", k.Name, len(debs), dir)
	}
	root = filepath.Join(dir, "root")
	if _, err := run(ctx, "", "dpkg-deb", "-x", debs[0], root); err != nil {
		return "", err
	}
	return root, os.Remove(debs[0])
}

// xzMagic starts the xz stream inside Debian's bzImage.
var xzMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}

// extractVmlinux writes the uncompressed ELF kernel inside bzImage to dst and checks that it
// can boot through PVH (it carries the XEN_ELFNOTE_PHYS32_ENTRY note). The stream uses xz's x86
// BCJ filter, so the xz tool decodes it.
func extractVmlinux(ctx context.Context, bzImage, dst string) error {
	data, err := os.ReadFile(bzImage)
	if err != nil {
		return err
	}
	i := bytes.Index(data, xzMagic)
	if i < 0 {
		return fmt.Errorf("%s holds no xz stream (is the kernel compressed otherwise?)", bzImage)
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.CommandContext(ctx, "xz", "-dc", "--single-stream")
	cmd.Stdin = bytes.NewReader(data[i:])
	cmd.Stdout = out
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("xz -dc of %s: %v: %s", bzImage, err, stderr.Bytes())
	}
	if err := out.Close(); err != nil {
		return err
	}
	return checkPVH(dst)
}

// xenElfnotePhys32Entry is the ELF note type of the PVH entry point.
const xenElfnotePhys32Entry = 18

// checkPVH reports an error unless the ELF file at path has a PVH entry note.
func checkPVH(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("vmlinux: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		notes := make([]byte, p.Filesz)
		if _, err := p.ReadAt(notes, 0); err != nil {
			return fmt.Errorf("vmlinux notes: %w", err)
		}
		for len(notes) >= 12 {
			namesz := binary.LittleEndian.Uint32(notes[0:])
			descsz := binary.LittleEndian.Uint32(notes[4:])
			typ := binary.LittleEndian.Uint32(notes[8:])
			name := notes[12:min(len(notes), 12+int(namesz))]
			if typ == xenElfnotePhys32Entry && bytes.HasPrefix(name, []byte("Xen")) {
				return nil
			}
			next := 12 + align4(int(namesz)) + align4(int(descsz))
			if next > len(notes) {
				break
			}
			notes = notes[next:]
		}
	}
	return fmt.Errorf("%s has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); QEMU cannot boot it directly", path)
}

func align4(n int) int { return (n + 3) &^ 3 }

// moduleSet finds kernel modules by name under one kernel's /lib/modules/<release>.
type moduleSet struct {
	dir     string            // .../lib/modules/<release>
	paths   map[string]string // name -> path relative to dir
	builtin map[string]bool
}

// normalizeModule spells a module name as the kernel does (dashes become underscores).
func normalizeModule(name string) string { return strings.ReplaceAll(name, "-", "_") }

func loadModuleSet(dir string) (*moduleSet, error) {
	ms := &moduleSet{dir: dir, paths: map[string]string{}, builtin: map[string]bool{}}
	err := filepath.WalkDir(filepath.Join(dir, "kernel"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if strings.HasSuffix(name, ".ko.xz") || strings.HasSuffix(name, ".ko.zst") || strings.HasSuffix(name, ".ko.gz") {
			return fmt.Errorf("%s is compressed; the builder handles only uncompressed modules", path)
		}
		if !d.IsDir() && strings.HasSuffix(name, ".ko") {
			rel, _ := filepath.Rel(dir, path)
			ms.paths[normalizeModule(strings.TrimSuffix(name, ".ko"))] = rel
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if f, err := os.Open(filepath.Join(dir, "modules.builtin")); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			base := filepath.Base(strings.TrimSpace(sc.Text()))
			ms.builtin[normalizeModule(strings.TrimSuffix(base, ".ko"))] = true
		}
	}
	return ms, nil
}

// dependencies reads the depends= field of a module's .modinfo section.
func (ms *moduleSet) dependencies(rel string) ([]string, error) {
	f, err := elf.Open(filepath.Join(ms.dir, rel))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("%s has no .modinfo", rel)
	}
	info, err := sec.Data()
	if err != nil {
		return nil, err
	}
	for _, kv := range bytes.Split(info, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			var deps []string
			for _, d := range strings.Split(string(v), ",") {
				if d != "" {
					deps = append(deps, normalizeModule(d))
				}
			}
			sort.Strings(deps)
			return deps, nil
		}
	}
	return nil, nil
}

// closure returns the modules named plus everything they depend on, as paths relative to the
// module directory, in an order that loads every dependency before its users. Modules built
// into the kernel are left out.
func (ms *moduleSet) closure(names []string) ([]string, error) {
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name, from string) error
	visit = func(name, from string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("module dependency cycle at %s", name)
		case 2:
			return nil
		}
		rel, ok := ms.paths[name]
		if !ok {
			if ms.builtin[name] {
				state[name] = 2
				return nil
			}
			return fmt.Errorf("kernel module %s (needed by %s) is neither in %s nor built in", name, from, ms.dir)
		}
		state[name] = 1
		deps, err := ms.dependencies(rel)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d, name); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, rel)
		return nil
	}
	for _, n := range names {
		if err := visit(normalizeModule(n), "the template"); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// run runs a command in dir and returns its standard output; errors carry standard error.
func run(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), nil
}
