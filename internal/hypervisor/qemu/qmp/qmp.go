// Package qmp is a minimal client of the QEMU Machine Protocol over a Unix socket: it
// negotiates capabilities and runs commands one at a time. Asynchronous events are read and
// dropped; callers observe their effects through commands (query-status) instead.
package qmp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Client is a QMP connection. It is safe for concurrent use; commands are serialised.
type Client struct {
	mu   sync.Mutex
	conn net.Conn
	r    *bufio.Reader
}

// Error is an error answer of QEMU.
type Error struct {
	Class string `json:"class"`
	Desc  string `json:"desc"`
}

// Error implements error.
func (e *Error) Error() string { return "qmp: " + e.Class + ": " + e.Desc }

type message struct {
	QMP    json.RawMessage `json:"QMP"`
	Return json.RawMessage `json:"return"`
	Error  *Error          `json:"error"`
	Event  string          `json:"event"`
}

// Dial connects to the QMP socket at path and negotiates capabilities.
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn, r: bufio.NewReader(conn)}
	if err := c.withDeadline(ctx, func() error {
		var greet message
		if err := c.read(&greet); err != nil {
			return err
		}
		if greet.QMP == nil {
			return errors.New("qmp: no greeting")
		}
		return c.exec("qmp_capabilities", nil, nil)
	}); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Execute runs command with args (nil for none) and decodes its return value into out (nil
// to ignore it).
func (c *Client) Execute(ctx context.Context, command string, args any, out any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.withDeadline(ctx, func() error { return c.exec(command, args, out) })
}

func (c *Client) withDeadline(ctx context.Context, f func() error) error {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(10 * time.Second)
	}
	if err := c.conn.SetDeadline(dl); err != nil {
		return err
	}
	return f()
}

func (c *Client) exec(command string, args any, out any) error {
	req := map[string]any{"execute": command}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := c.conn.Write(append(b, '\n')); err != nil {
		return err
	}
	for {
		var m message
		if err := c.read(&m); err != nil {
			return err
		}
		switch {
		case m.Event != "":
			continue
		case m.Error != nil:
			return m.Error
		case m.Return != nil:
			if out == nil {
				return nil
			}
			return json.Unmarshal(m.Return, out)
		}
	}
}

func (c *Client) read(m *message) error {
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("qmp: read: %w", err)
	}
	return json.Unmarshal(line, m)
}

// Status is the answer of query-status.
type Status struct {
	Running bool   `json:"running"`
	Status  string `json:"status"`
}

// QueryStatus runs query-status.
func (c *Client) QueryStatus(ctx context.Context) (Status, error) {
	var s Status
	return s, c.Execute(ctx, "query-status", nil, &s)
}
