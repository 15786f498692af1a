package qemu

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// vmDir holds the files of one machine under the driver's directory.
type vmDir string

func (d vmDir) path(name string) string { return filepath.Join(string(d), name) }
func (d vmDir) disk() string            { return d.path("disk.qcow2") }
func (d vmDir) seed() string            { return d.path("seed.iso") }
func (d vmDir) qmp() string             { return d.path("qmp.sock") }
func (d vmDir) serial() string          { return d.path("serial.log") }
func (d vmDir) pidfile() string         { return d.path("qemu.pid") }
func (d vmDir) stderr() string          { return d.path("qemu.log") }
func (d vmDir) qga() string             { return d.path("qga.sock") }
func (d vmDir) efivars() string         { return d.path("efivars.fd") }

// serialTail returns the last n non-empty lines of the serial log, without terminal escapes.
func (d vmDir) serialTail(n int) []string {
	f, err := os.Open(d.serial())
	if err != nil {
		return nil
	}
	defer f.Close()
	const window = 16 << 10
	if st, err := f.Stat(); err == nil && st.Size() > window {
		_, _ = f.Seek(st.Size()-window, 0)
	}
	b, _ := io.ReadAll(f)
	b = ansiEscape.ReplaceAll(b, nil)
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, l))
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines[max(0, len(lines)-n):]
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[a-zA-Z]`)

// copyFile copies src to dst (created 0600) atomically.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// readMark returns the content of a small bookkeeping file ("" if absent).
func (d vmDir) readMark(name string) string {
	b, _ := os.ReadFile(d.path(name))
	return strings.TrimSpace(string(b))
}

// writeMark writes a small bookkeeping file atomically.
func (d vmDir) writeMark(name, v string) error {
	tmp := d.path("." + name + ".tmp")
	if err := os.WriteFile(tmp, []byte(v+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, d.path(name))
}

// pid returns the pid of the machine's running QEMU, or 0 when none runs. A pid is only
// trusted when /proc shows a live (not zombie) process whose command line names this
// machine's QMP socket, so a recycled pid is never mistaken for the VM.
func (d vmDir) pid() int {
	pid, err := strconv.Atoi(d.readMark("qemu.pid"))
	if err != nil || pid <= 0 {
		return 0
	}
	if !alive(pid) {
		return 0
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || !bytes.Contains(cmdline, []byte(d.qmp())) {
		return 0
	}
	return pid
}

// alive reports whether pid is a running process that is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) S ...: the state follows the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	st := b[i+2]
	return st != 'Z' && st != 'X'
}

// logSize is the current size of the serial log (0 if absent).
func (d vmDir) logSize() int64 {
	st, err := os.Stat(d.serial())
	if err != nil {
		return 0
	}
	return st.Size()
}

// markers returns the marker lines the guest printed on the serial console after offset.
func (d vmDir) markers(offset int64) ([]string, error) {
	f, err := os.Open(d.serial())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		return nil, err
	}
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "HANGAR-") {
			out = append(out, line)
		}
	}
	return out, nil
}

// kill sends sig to pid, ignoring a process that is already gone.
func kill(pid int, sig syscall.Signal) {
	if pid > 0 {
		_ = syscall.Kill(pid, sig)
	}
}
