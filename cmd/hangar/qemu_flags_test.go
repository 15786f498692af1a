package main

import (
	"fmt"
	"strings"
	"testing"

	"hangar/internal/core"
)

func TestParseGPUs(t *testing.T) {
	cat := core.DefaultCatalog()
	got, err := parseGPUs([]string{"Quadro P4000=0000:65:00.0", " Quadro P4000 = 0000:B3:00.0", "Tesla V100=0000:17:00.1"}, cat)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "map[Quadro P4000:[0000:65:00.0 0000:b3:00.0] Tesla V100:[0000:17:00.1]]" {
		t.Errorf("got %v", got)
	}
	for in, want := range map[string]string{
		"Quadro P4000":                    "want MODEL=PCI-ADDRESS",
		"Quadro P4000=65:00.0":            "want MODEL=PCI-ADDRESS",
		"Quadro P4000=0000:65:00.9":       "want MODEL=PCI-ADDRESS",
		"GeForce 9999=0000:65:00.0":       "no GPU machine type",
		"GRID K160Q (2GB)=0000:65:00.0":   "no GPU machine type", // Air is a grid type, not passed through
		"Quadro P4000=0000:65:00.0,again": "want MODEL=PCI-ADDRESS",
	} {
		if _, err := parseGPUs([]string{in}, cat); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseGPUs(%q) = %v, want an error with %q", in, err, want)
		}
	}
	if _, err := parseGPUs([]string{"Quadro P4000=0000:65:00.0", "Quadro P5000=0000:65:00.0"}, cat); err == nil {
		t.Error("the same address twice was accepted")
	}
}
