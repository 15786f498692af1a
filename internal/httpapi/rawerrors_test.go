package httpapi

import (
	"strings"
	"testing"
)

// TestShapeServerErrorOnlyRewritesNetHTTPsOwn: only the exact form net/http writes for its own
// error answers is rewritten; handler answers, whatever their status or type, pass as they are.
func TestShapeServerErrorOnlyRewritesNetHTTPsOwn(t *testing.T) {
	for _, p := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: Thu, 03 Dec 2026 12:00:00 GMT\r\n\r\nok",
		"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nDate: Thu, 03 Dec 2026 12:00:00 GMT\r\n\r\n400 Bad Request",
		"HTTP/1.1 200 OK" + serverErrorHeaders + "200 OK", // not an error status
		"HTTP/1.1 400 Bad Request" + serverErrorHeaders + strings.Repeat("x", maxServerError),
		`{"error":{"name":"Error","message":"HTTP/1.1 400 Bad Request` + serverErrorHeaders + `","status":400}}`,
	} {
		if out, ok := shapeServerError([]byte(p)); ok {
			t.Errorf("rewrote %.80q into %q", p, out)
		}
	}
	out, ok := shapeServerError([]byte("HTTP/1.1 400 Bad Request: missing required Host header" + serverErrorHeaders +
		"400 Bad Request: missing required Host header"))
	want := "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\nContent-Length: 94\r\n\r\n" +
		`{"error":{"name":"Error","message":"Bad Request: missing required Host header","status":400}}` + "\n"
	if !ok || string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}
