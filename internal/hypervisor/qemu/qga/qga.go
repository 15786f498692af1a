// Package qga is a minimal client of the QEMU guest agent (qemu-ga, Debian's and Ubuntu's
// qemu-guest-agent package) over the host end of its virtio-serial port, a Unix socket that
// QEMU serves (-chardev socket,server=on,wait=off plus a virtserialport named
// org.qemu.guest_agent.0).
//
// The port is a byte stream with no session: commands written before the agent runs wait in
// the guest's buffer and are answered (or dropped) later, and answers to an earlier client's
// commands may still arrive. Every session therefore starts with guest-sync-delimited and a
// fresh id: the agent flushes its input, answers with 0xFF followed by the id, and the
// client discards everything up to that answer.
package qga

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"
)

// Client is one session with a guest agent. It is not safe for concurrent use (the port
// has one reader).
type Client struct {
	conn net.Conn
	r    *bufio.Reader
}

// Error is an error answer of the agent.
type Error struct {
	Class string `json:"class"`
	Desc  string `json:"desc"`
}

// Error implements error.
func (e *Error) Error() string { return "qga: " + e.Class + ": " + e.Desc }

type reply struct {
	Return json.RawMessage `json:"return"`
	Error  *Error          `json:"error"`
}

// Dial connects to the agent's socket at path and synchronises with the agent; it fails
// (after ctx's deadline, default 3 s) when no agent answers, e.g. while the guest boots.
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn, r: bufio.NewReader(conn)}
	if err := c.sync(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the session.
func (c *Client) Close() error { return c.conn.Close() }

func (c *Client) deadline(ctx context.Context) error {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(3 * time.Second)
	}
	return c.conn.SetDeadline(dl)
}

func (c *Client) sync(ctx context.Context) error {
	if err := c.deadline(ctx); err != nil {
		return err
	}
	id := rand.Int64N(1 << 40)
	// 0xFF first resets the agent's JSON parser after a half-written command.
	req, _ := json.Marshal(map[string]any{"execute": "guest-sync-delimited", "arguments": map[string]any{"id": id}})
	if _, err := c.conn.Write(append([]byte{0xff}, append(req, '\n')...)); err != nil {
		return err
	}
	for {
		// The answer starts after a 0xFF; earlier bytes are stale.
		if _, err := c.r.ReadBytes(0xff); err != nil {
			return fmt.Errorf("qga: no answer to guest-sync: %w", err)
		}
		line, err := c.r.ReadBytes('\n')
		if err != nil {
			return fmt.Errorf("qga: no answer to guest-sync: %w", err)
		}
		var r reply
		var got int64
		if json.Unmarshal(bytes.TrimSpace(line), &r) == nil && r.Return != nil &&
			json.Unmarshal(r.Return, &got) == nil && got == id {
			return nil
		}
	}
}

// Execute runs command with args (nil for none) and decodes its return value into out (nil
// to ignore it).
func (c *Client) Execute(ctx context.Context, command string, args, out any) error {
	if err := c.deadline(ctx); err != nil {
		return err
	}
	msg := map[string]any{"execute": command}
	if args != nil {
		msg["arguments"] = args
	}
	req, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if _, err := c.conn.Write(append(req, '\n')); err != nil {
		return err
	}
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("qga: %s: %w", command, err)
	}
	var r reply
	if err := json.Unmarshal(bytes.TrimLeft(line, "\xff"), &r); err != nil {
		return fmt.Errorf("qga: %s: bad answer %q: %w", command, line, err)
	}
	if r.Error != nil {
		return r.Error
	}
	if out != nil && r.Return != nil {
		return json.Unmarshal(r.Return, out)
	}
	return nil
}

// Shutdown runs guest-shutdown with mode "powerdown", "halt" or "reboot". The agent answers
// nothing when it succeeds (the guest goes down), so only the command is sent.
func (c *Client) Shutdown(ctx context.Context, mode string) error {
	if err := c.deadline(ctx); err != nil {
		return err
	}
	req, err := json.Marshal(map[string]any{"execute": "guest-shutdown", "arguments": map[string]any{"mode": mode}})
	if err != nil {
		return err
	}
	_, err = c.conn.Write(append(req, '\n'))
	return err
}

// Ping runs guest-ping.
func (c *Client) Ping(ctx context.Context) error { return c.Execute(ctx, "guest-ping", nil, nil) }

// ErrNotFound is returned by ReadFile for a file the guest does not have.
var ErrNotFound = errors.New("qga: no such file in the guest")

// ReadFile returns the contents of a file in the guest (at most max bytes), or ErrNotFound.
func (c *Client) ReadFile(ctx context.Context, path string, max int) ([]byte, error) {
	var handle int64
	if err := c.Execute(ctx, "guest-file-open", map[string]any{"path": path, "mode": "r"}, &handle); err != nil {
		var e *Error
		// qemu-ga reports a missing file as GenericError "... No such file or directory".
		if errors.As(err, &e) && bytes.Contains([]byte(e.Desc), []byte("No such file")) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	defer func() {
		_ = c.Execute(ctx, "guest-file-close", map[string]any{"handle": handle}, nil)
	}()
	var data []byte
	for len(data) < max {
		var r struct {
			Count int    `json:"count"`
			Buf   string `json:"buf-b64"`
			EOF   bool   `json:"eof"`
		}
		if err := c.Execute(ctx, "guest-file-read", map[string]any{"handle": handle, "count": min(max-len(data), 48<<10)}, &r); err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(r.Buf)
		if err != nil {
			return nil, fmt.Errorf("qga: guest-file-read: %w", err)
		}
		data = append(data, b...)
		if r.EOF || r.Count == 0 {
			break
		}
	}
	return data, nil
}

// HostName runs guest-get-host-name.
func (c *Client) HostName(ctx context.Context) (string, error) {
	var r struct {
		HostName string `json:"host-name"`
	}
	err := c.Execute(ctx, "guest-get-host-name", nil, &r)
	return r.HostName, err
}
