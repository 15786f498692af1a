package reqid

import (
	"context"
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
