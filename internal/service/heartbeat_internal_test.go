package service

import (
	"testing"
	"time"

	"hangar/internal/core"
)

// A steady agent's sync writes its heartbeat only when the recorded one is a third of the
// host timeout old; anything else a sync carries or changes still writes.
func TestHeartbeatDue(t *testing.T) {
	s := &Service{cfg: Config{HostTimeout: 30 * time.Second}}
	now := time.Unix(1000, 0)
	seen := func(ago time.Duration) core.HostLoad {
		at := now.Add(-ago)
		return core.HostLoad{Host: core.Host{Agent: core.HostAgent{Driver: "sim", Version: "v1", LastSeen: &at}}}
	}
	inv := []string{}
	unreachable := seen(time.Second)
	unreachable.Agent.Unreachable = true
	never := seen(0)
	never.Agent.LastSeen = nil
	for _, c := range []struct {
		name string
		host core.HostLoad
		sync AgentSync
		want bool
	}{
		{"recent heartbeat", seen(5 * time.Second), AgentSync{Version: "v1"}, false},
		{"a third of the timeout old", seen(10 * time.Second), AgentSync{Version: "v1"}, true},
		{"results", seen(time.Second), AgentSync{Version: "v1", Results: map[string][]byte{"op": []byte(`{}`)}}, true},
		{"inventory", seen(time.Second), AgentSync{Version: "v1", Inventory: &inv}, true},
		{"unreachable host", unreachable, AgentSync{Version: "v1"}, true},
		{"new agent version", seen(time.Second), AgentSync{Version: "v2"}, true},
		{"never seen", never, AgentSync{Version: "v1"}, true},
	} {
		if got := s.heartbeatDue(c.host, c.sync, now); got != c.want {
			t.Errorf("%s: heartbeatDue = %v, want %v", c.name, got, c.want)
		}
	}
	// Without a configured timeout the default (30 s) applies.
	if (&Service{}).heartbeatDue(seen(9*time.Second), AgentSync{Version: "v1"}, now) {
		t.Error("default timeout: a 9 s old heartbeat was due")
	}
}
