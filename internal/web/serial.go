package web

import (
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"hangar/internal/core"
)

// Serial console streaming: the driver appends the guest's serial output to a file; a stream
// sends its last serialBacklog bytes, then what is appended, checking the file's size every
// serialPoll while (and only while) someone watches. The console is read-only: the file is
// the driver's only serial device.
const (
	serialBacklog = 64 << 10
	serialChunk   = 32 << 10
	serialPoll    = 250 * time.Millisecond
	// serialRecheck is how often a serial stream checks that its session still stands.
	serialRecheck = 5 * time.Second
)

// ansi matches terminal control sequences (colours, cursor moves), which a <pre> cannot show.
var ansi = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])`)

// cleanSerial makes serial output showable as text: valid UTF-8, no control sequences, no
// carriage returns or other control characters but newlines and tabs.
func cleanSerial(b []byte) string {
	s := ansi.ReplaceAllString(strings.ToValidUTF8(string(b), "\uFFFD"), "")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || (r >= 0x20 && r != 0x7f) {
			return r
		}
		return -1
	}, s)
}

type serialChunkMsg struct {
	Text  string `json:"text"`
	Reset bool   `json:"reset,omitempty"` // the log started over (a new boot): clear first
}

func (s *Server) serialStream(c *call) error {
	ctx := c.r.Context()
	d, err := s.svc.GetMachine(ctx, c.p, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	path, ok := "", false
	if s.cfg.Serial != nil {
		path, ok = s.cfg.Serial.SerialLog(d.Machine)
	}
	if !ok {
		return core.Errorf(core.NotFound, "Machine %s has no serial console here", d.Machine.ID)
	}
	st, err := s.openStream(c)
	if err != nil {
		return nil
	}
	var off int64 = -1 // -1: not opened yet, start from the backlog
	tick := time.NewTicker(serialPoll)
	defer tick.Stop()
	checked := time.Now()
	for {
		n, err := s.sendSerial(st, path, &off)
		if err != nil {
			return nil
		}
		if n == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-s.stop:
				return nil
			case <-tick.C:
			}
		}
		if time.Since(checked) > serialRecheck {
			checked = time.Now()
			if !s.stillSignedIn(c, st) {
				return nil
			}
		}
	}
}

// sendSerial sends what the log holds past *off (at most serialChunk) and advances *off; it
// returns how many bytes it sent. A missing or unreadable log is empty for now; a log
// shorter than *off started over.
func (s *Server) sendSerial(st *stream, path string, off *int64) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, nil
	}
	size, reset := info.Size(), false
	switch {
	case *off < 0:
		*off = max(0, size-serialBacklog)
	case size < *off:
		*off, reset = 0, true
	}
	if size == *off && !reset {
		return 0, nil
	}
	buf := make([]byte, min(size-*off, serialChunk))
	n, err := f.ReadAt(buf, *off)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, nil
	}
	*off += int64(n)
	return n, st.send("serial", serialChunkMsg{Text: cleanSerial(buf[:n]), Reset: reset})
}
