package testimage

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCPIOExtracts writes an archive and has busybox cpio extract it; the bytes must not
// depend on the order of the entries.
func TestCPIOExtracts(t *testing.T) {
	RequireTools(t, "busybox")
	entries := withParents([]cpioEntry{
		{Name: "init", Mode: modeFile | 0o755, Data: []byte("#!/bin/sh\necho hi\n")},
		{Name: "bin/busybox", Mode: modeFile | 0o755, Data: []byte("12345")},
		{Name: "usr/bin/odd", Mode: modeSymlink | 0o777, Data: []byte("/bin/busybox")},
		{Name: "data", Mode: modeDir | 0o755},
	})
	var a, b bytes.Buffer
	if err := writeCPIO(&a, entries); err != nil {
		t.Fatal(err)
	}
	reversed := make([]cpioEntry, len(entries))
	for i, e := range entries {
		reversed[len(entries)-1-i] = e
	}
	if err := writeCPIO(&b, reversed); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("archive bytes depend on entry order")
	}
	if a.Len()%4 != 0 {
		t.Errorf("archive length %d not 4-aligned", a.Len())
	}
	dir := t.TempDir()
	cmd := exec.Command("busybox", "cpio", "-i", "-d")
	cmd.Dir, cmd.Stdin = dir, &a
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("busybox cpio -i: %v: %s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "init")); string(got) != "#!/bin/sh\necho hi\n" {
		t.Errorf("init = %q", got)
	}
	if fi, err := os.Stat(filepath.Join(dir, "init")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("init mode: %v %v", fi, err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "usr/bin/odd")); err != nil || target != "/bin/busybox" {
		t.Errorf("symlink: %q %v", target, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "data")); err != nil || !fi.IsDir() {
		t.Errorf("data dir: %v", err)
	}
}

func TestParseMetaDepends(t *testing.T) {
	tests := []struct {
		record string
		want   kernelPackage
		ok     bool
	}{
		{"Package: linux-image-amd64\nVersion: 6.1.192-2\nDepends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)\n",
			kernelPackage{Name: "linux-image-6.1.0-56-amd64", Version: "6.1.192-2", Release: "6.1.0-56-amd64"}, true},
		{"Depends: foo, linux-image-6.12.9-amd64\n",
			kernelPackage{Name: "linux-image-6.12.9-amd64", Release: "6.12.9-amd64"}, true},
		{"Package: linux-image-amd64\n", kernelPackage{}, false},
	}
	for _, tt := range tests {
		got, ok := parseMetaDepends(tt.record)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseMetaDepends(%q) = %+v, %v; want %+v, %v", tt.record, got, ok, tt.want, tt.ok)
		}
	}
}
