package qga

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeAgent serves one connection like qemu-ga: it first sends stale bytes (an answer meant
// for an earlier client), then answers guest-sync-delimited with 0xFF and the id, and serves
// guest-ping and a file from files.
func fakeAgent(t *testing.T, files map[string]string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "qga.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = conn.Write([]byte("{\"return\": 7}\n\xff{\"return\": 7}\n"))
		r := bufio.NewReader(conn)
		open := ""
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			var req struct {
				Execute   string         `json:"execute"`
				Arguments map[string]any `json:"arguments"`
			}
			if err := json.Unmarshal([]byte(strings.TrimLeft(line, string([]byte{0xff}))), &req); err != nil {
				_, _ = conn.Write([]byte(`{"error":{"class":"GenericError","desc":"bad json"}}` + "\n"))
				continue
			}
			answer := func(v any) {
				b, _ := json.Marshal(map[string]any{"return": v})
				_, _ = conn.Write(append(b, '\n'))
			}
			switch req.Execute {
			case "guest-sync-delimited":
				b, _ := json.Marshal(map[string]any{"return": req.Arguments["id"]})
				_, _ = conn.Write(append(append([]byte{0xff}, b...), '\n'))
			case "guest-ping":
				answer(map[string]any{})
			case "guest-file-open":
				p, _ := req.Arguments["path"].(string)
				if _, ok := files[p]; !ok {
					_, _ = conn.Write([]byte(`{"error":{"class":"GenericError","desc":"failed to open file '` + p + `' (mode: 'r'): No such file or directory"}}` + "\n"))
					continue
				}
				open = p
				answer(1000)
			case "guest-file-read":
				data := files[open]
				files[open] = ""
				answer(map[string]any{"count": len(data), "buf-b64": base64.StdEncoding.EncodeToString([]byte(data)), "eof": data == ""})
			case "guest-file-close":
				answer(map[string]any{})
			default:
				_, _ = conn.Write([]byte(`{"error":{"class":"CommandNotFound","desc":"unknown"}}` + "\n"))
			}
		}
	}()
	return sock
}

func TestClient(t *testing.T) {
	sock := fakeAgent(t, map[string]string{"/run/x": "rc=0 time=5\n"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping after stale bytes: %v", err)
	}
	b, err := c.ReadFile(ctx, "/run/x", 1<<20)
	if err != nil || string(b) != "rc=0 time=5\n" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
	if _, err := c.ReadFile(ctx, "/run/none", 1<<20); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReadFile of a missing file: %v, want ErrNotFound", err)
	}
	var e *Error
	if err := c.Execute(ctx, "guest-nothing", nil, nil); !errors.As(err, &e) || e.Class != "CommandNotFound" {
		t.Errorf("unknown command: %v", err)
	}
}

// TestDialNoAgent: a socket whose guest has no agent yet (QEMU accepts, nobody answers)
// fails within the deadline.
func TestDialNoAgent(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "qga.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if conn, err := l.Accept(); err == nil {
			defer conn.Close()
			_, _ = bufio.NewReader(conn).ReadString(0) // reads, never answers
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if c, err := Dial(ctx, sock); err == nil {
		c.Close()
		t.Fatal("Dial succeeded without an agent")
	}
}
