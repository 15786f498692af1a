package main

import (
	"os"
	"path/filepath"
	"testing"
)

// fakeHangar writes an executable whose "serve --help" prints help.
func fakeHangar(t *testing.T, help string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hangar")
	script := "#!/bin/sh\n[ \"$1\" = serve ] && [ \"$2\" = --help ] && printf '%s\\n' '" + help + "'\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHasQuotas(t *testing.T) {
	if !hasQuotas(fakeHangar(t, "  --quota KIND=N   default per-team quota")) {
		t.Error("a serve that lists --quota: hasQuotas = false")
	}
	if hasQuotas(fakeHangar(t, "  --listen ADDR")) {
		t.Error("a serve without --quota: hasQuotas = true")
	}
	if hasQuotas(filepath.Join(t.TempDir(), "missing")) {
		t.Error("a missing binary: hasQuotas = true")
	}
}
