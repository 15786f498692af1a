package service_test

import (
	"context"
	"os"
	"testing"

	"hangar/internal/core"
	"hangar/internal/service"
)

// TestRegisterLocalHost: the local host is created with the flag's slots for every CPU type
// and one slot per GPU of a GPU type's model; on a later start the CPU slots the operator set
// stay, and the GPU slots follow the inventory.
func TestRegisterLocalHost(t *testing.T) {
	w := newKeyWorld(t)
	ctx := context.Background()
	first, err := w.svc.RegisterLocalHost(ctx, service.LocalHost{Name: "box", Region: "East Coast (NY2)", Slots: 3,
		GPUs: map[string][]string{"Quadro P4000": {"0000:65:00.0", "0000:66:00.0"}}})
	if err != nil {
		t.Fatal(err)
	}
	if first.Name != "box" || first.Region != "East Coast (NY2)" || !first.Available {
		t.Fatalf("host %+v", first.Host)
	}
	for typ, want := range map[string]int{"C1": 3, "C7": 3, "P4000": 2, "P5000": 0, "V100": 0} {
		if got, ok := first.Capacity[typ]; !ok || got != want {
			t.Errorf("first start: capacity of %s = %d (set %v), want %d", typ, got, ok, want)
		}
	}
	if _, ok := first.Capacity["Air"]; ok {
		t.Error("a grid type got capacity on a local host")
	}
	capacity := map[string]int{}
	for k, v := range first.Capacity {
		capacity[k] = v
	}
	capacity["C1"] = 7
	if _, err := w.svc.UpdateHost(ctx, w.ps["operator"], first.ID, service.HostSpec{Capacity: capacity}); err != nil {
		t.Fatal(err)
	}
	again, err := w.svc.RegisterLocalHost(ctx, service.LocalHost{Name: "box", Region: "East Coast (NY2)", Slots: 5,
		GPUs: map[string][]string{"Quadro P5000": {"0000:65:00.0"}}})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID {
		t.Fatalf("a second start registered another host: %s, first %s", again.ID, first.ID)
	}
	for typ, want := range map[string]int{"C1": 7, "C7": 3, "P4000": 0, "P5000": 1} {
		if got := again.Capacity[typ]; got != want {
			t.Errorf("second start: capacity of %s = %d, want %d", typ, got, want)
		}
	}
	if _, err := w.svc.RegisterLocalHost(ctx, service.LocalHost{Name: "x", Region: "Mars"}); core.ErrorCode(err) != core.Invalid {
		t.Fatalf("unknown region: %v", err)
	}
}

// TestLocalHostName: without a name the local host is called after the system.
func TestLocalHostName(t *testing.T) {
	if got := (service.LocalHost{Name: "box"}).HostName(); got != "box" {
		t.Fatalf("HostName %q", got)
	}
	want, err := os.Hostname()
	if err != nil || want == "" {
		want = "qemu-local"
	}
	if got := (service.LocalHost{}).HostName(); got != want {
		t.Fatalf("HostName %q, want %q", got, want)
	}
}
