// Package reqid carries the id of the request being served through a context, so that the
// HTTP layer, the service and the logs name the same request.
package reqid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
)

type key struct{}

// With returns a copy of ctx that carries id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// From returns the request id carried by ctx, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// MaxLen is the longest request id accepted from a client.
const MaxLen = 128

// New returns a fresh request id: 16 random bytes in hex.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Valid reports whether a client-sent id may be echoed and logged: 1 to MaxLen characters,
// each an ASCII letter or digit or one of - _ . : / + =. Anything else (spaces, quotes,
// control characters, non-ASCII) could forge or break log lines and is replaced.
func Valid(id string) bool {
	if len(id) == 0 || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '/', c == '+', c == '=':
		default:
			return false
		}
	}
	return true
}

// Attr is the log attribute name of the request id.
const Attr = "request_id"

// handler adds the request id of the record's context to every record.
type handler struct{ slog.Handler }

// NewHandler wraps h so that every record logged with a context that carries a request id
// (logger.InfoContext(ctx, …)) gets it as the request_id attribute.
func NewHandler(h slog.Handler) slog.Handler { return handler{h} }

// Handle implements slog.Handler.
func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if id := From(ctx); id != "" {
		r = r.Clone()
		r.AddAttrs(slog.String(Attr, id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h handler) WithAttrs(as []slog.Attr) slog.Handler { return handler{h.Handler.WithAttrs(as)} }

// WithGroup implements slog.Handler.
func (h handler) WithGroup(name string) slog.Handler { return handler{h.Handler.WithGroup(name)} }
