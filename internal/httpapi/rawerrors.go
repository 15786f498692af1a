package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"hangar/api"
)

// ShapeServerErrors wraps ln so that the answers net/http's server writes by itself, before any
// handler runs — a malformed request line or header (400), headers over the limit (431), an
// unsupported transfer encoding (501), an unsupported HTTP version (505) — carry the Paperspace
// error body in JSON instead of a line of plain text, as every other error does.
//
// net/http writes each of these with one Write of a fixed form (its errorHeaders: a text/plain
// Content-Type, Connection: close, no Date); the connection rewrites exactly that form and
// passes every other write through untouched.
func ShapeServerErrors(ln net.Listener) net.Listener { return shapedListener{ln} }

type shapedListener struct{ net.Listener }

func (l shapedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &shapedConn{Conn: c}, nil
}

// shapedConn rewrites net/http's own error answers (shapeServerError).
type shapedConn struct{ net.Conn }

func (c *shapedConn) Write(p []byte) (int, error) {
	if out, ok := shapeServerError(p); ok {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// CloseWrite keeps the half-close net/http does before it hangs up on a request it refused.
func (c *shapedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// serverErrorHeaders are the headers net/http's server writes with its own error answers.
const serverErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// maxServerError bounds the writes shapeServerError looks at: net/http's own error answers are
// a status line and a short text.
const maxServerError = 512

// shapeServerError returns the Paperspace-shaped form of p if p is one of net/http's own error
// answers ("HTTP/1.1 NNN Reason[: detail]" + serverErrorHeaders + a text), else false.
func shapeServerError(p []byte) ([]byte, bool) {
	const proto = "HTTP/1.1 "
	if len(p) > maxServerError || !bytes.HasPrefix(p, []byte(proto)) {
		return nil, false
	}
	i := bytes.Index(p, []byte(serverErrorHeaders))
	if i < 0 || len(p[len(proto):i]) < 3 {
		return nil, false
	}
	status, err := strconv.Atoi(string(p[len(proto) : len(proto)+3]))
	if err != nil || status < 400 || status > 599 || http.StatusText(status) == "" {
		return nil, false
	}
	text := string(bytes.TrimPrefix(p[i+len(serverErrorHeaders):], []byte(strconv.Itoa(status)+" ")))
	body, err := json.Marshal(api.ErrorBody{Error: api.ErrorDetail{Name: "Error", Message: text, Status: status}})
	if err != nil {
		return nil, false
	}
	out := fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n"+
		"Content-Length: %d\r\n\r\n", status, http.StatusText(status), len(body)+1)
	out = append(out, body...)
	return append(out, '\n'), true
}
