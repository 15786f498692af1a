package testimage

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// cpio modes of the entries an initramfs needs.
const (
	modeDir     = 0o040000
	modeFile    = 0o100000
	modeSymlink = 0o120000
	modeCharDev = 0o020000
)

// cpioEntry is one file of an initramfs.
type cpioEntry struct {
	Name  string // without leading slash
	Mode  uint32 // type bits | permissions
	Data  []byte // file content or symlink target
	Major uint32 // device numbers, for character devices
	Minor uint32
}

// writeCPIO writes entries as a "newc" cpio archive, sorted by name, with zero times and
// owners so that the same entries always give the same bytes.
func writeCPIO(w io.Writer, entries []cpioEntry) error {
	sorted := append([]cpioEntry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for i, e := range sorted {
		if err := writeCPIOEntry(w, uint32(i+1), e); err != nil {
			return err
		}
	}
	return writeCPIOEntry(w, 0, cpioEntry{Name: "TRAILER!!!"})
}

func writeCPIOEntry(w io.Writer, ino uint32, e cpioEntry) error {
	name := strings.TrimPrefix(e.Name, "/")
	nlink := uint32(1)
	if e.Mode&0o170000 == modeDir {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, e.Mode, 0, 0, nlink, 0, len(e.Data), 0, 0, e.Major, e.Minor, len(name)+1, 0)
	if _, err := io.WriteString(w, hdr+name+"\x00"+pad(len(hdr)+len(name)+1)); err != nil {
		return err
	}
	if _, err := w.Write(e.Data); err != nil {
		return err
	}
	_, err := io.WriteString(w, pad(len(e.Data)))
	return err
}

// pad returns the NULs that align n bytes to 4.
func pad(n int) string { return strings.Repeat("\x00", (4-n%4)%4) }
