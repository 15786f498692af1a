package reqid

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestWithFrom(t *testing.T) {
	if got := From(context.Background()); got != "" {
		t.Fatalf("From(empty) = %q, want \"\"", got)
	}
	ctx := With(context.Background(), "r-1")
	if got := From(ctx); got != "r-1" {
		t.Fatalf("From = %q, want r-1", got)
	}
	if got := From(With(ctx, "r-2")); got != "r-2" {
		t.Fatalf("inner id = %q, want r-2", got)
	}
}

func TestValid(t *testing.T) {
	for id, want := range map[string]bool{
		"":                            false,
		"abc-123_X.y:z/w+v=":          true,
		strings.Repeat("a", MaxLen):   true,
		strings.Repeat("a", MaxLen+1): false,
		"a b":                         false,
		"a\nlevel=ERROR":              false,
		`a"b`:                         false,
		"é":                           false,
		"a\x00":                       false,
	} {
		if got := Valid(id); got != want {
			t.Errorf("Valid(%q) = %v, want %v", id, got, want)
		}
	}
	a, b := New(), New()
	if !Valid(a) || len(a) != 32 || a == b {
		t.Fatalf("New() = %q, %q: want distinct valid 32-character ids", a, b)
	}
}

func TestHandlerAddsTheRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	log.InfoContext(With(context.Background(), "req-42"), "hello", "n", 1)
	log.Info("no context")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("log %q", buf.String())
	}
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if first[Attr] != "req-42" || first["component"] != "test" || first["n"] != 1.0 {
		t.Fatalf("first line %v", first)
	}
	if _, ok := second[Attr]; ok {
		t.Fatalf("a record without a request id got one: %v", second)
	}
}
