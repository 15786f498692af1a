package scheduler

import (
	"testing"

	"hangar/internal/core"
)

func host(id, region string, avail bool, capacity, used int) core.HostLoad {
	return core.HostLoad{
		Host: core.Host{ID: id, Name: id, Region: region, Available: avail, Capacity: map[string]int{"P4000": capacity}},
		Used: map[string]int{"P4000": used},
	}
}

func TestPick(t *testing.T) {
	const ny = "East Coast (NY2)"
	tests := []struct {
		name      string
		hosts     []core.HostLoad
		preferred string
		want      string
		wantErr   bool
	}{
		{"no hosts", nil, "", "", true},
		{"full", []core.HostLoad{host("a", ny, true, 2, 2)}, "", "", true},
		{"unavailable host", []core.HostLoad{host("a", ny, false, 2, 0)}, "", "", true},
		{"other region", []core.HostLoad{host("a", "Europe (AMS1)", true, 2, 0)}, "", "", true},
		{"most free wins", []core.HostLoad{host("a", ny, true, 4, 3), host("b", ny, true, 4, 1)}, "", "b", false},
		{"tie by name", []core.HostLoad{host("b", ny, true, 4, 0), host("a", ny, true, 4, 0)}, "", "a", false},
		{"preferred with room", []core.HostLoad{host("a", ny, true, 4, 3), host("b", ny, true, 4, 0)}, "a", "a", false},
		{"preferred full", []core.HostLoad{host("a", ny, true, 4, 4), host("b", ny, true, 4, 0)}, "a", "b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Pick("P4000", ny, tt.preferred, tt.hosts)
			if tt.wantErr {
				if core.ErrorCode(err) != core.Unavailable {
					t.Fatalf("err = %v, want Unavailable", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Pick = %q, %v; want %q", got, err, tt.want)
			}
			if !Available("P4000", ny, tt.hosts) {
				t.Fatal("Available = false with a pick")
			}
		})
	}
}
