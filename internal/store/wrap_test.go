package store_test

import (
	"context"
	"testing"

	"hangar/internal/store"
)

// genStore is a store (its methods are never called here) with the one-statement read of the
// credential generation.
type genStore struct{ store.Store }

func (genStore) AuthGeneration(context.Context) (int64, error) { return 42, nil }

// wrapper is a store wrapper that embeds the store it wraps, as changes.Track and
// lifecycle.Logged do.
type wrapper struct{ store.Store }

// TestKeepAuthGeneration: a wrapper keeps the AuthGeneration of the store it wraps, which
// embedding alone would hide, and stays a plain wrapper over a store without one.
func TestKeepAuthGeneration(t *testing.T) {
	inner := genStore{}
	if _, ok := store.Store(wrapper{inner}).(store.AuthGenerationReader); ok {
		t.Fatal("embedding alone kept AuthGeneration; the helper would not be needed")
	}
	w := wrapper{inner}
	kept := store.KeepAuthGeneration(w, inner)
	r, ok := kept.(store.AuthGenerationReader)
	if !ok {
		t.Fatal("the wrapped store lost AuthGeneration")
	}
	if g, err := r.AuthGeneration(context.Background()); g != 42 || err != nil {
		t.Fatalf("AuthGeneration = %d, %v; want the inner store's 42", g, err)
	}
	plain := wrapper{}
	if got := store.KeepAuthGeneration(plain, wrapper{}); got != store.Store(plain) {
		t.Fatalf("over a store without AuthGeneration: %#v, want the wrapper itself", got)
	}
}
