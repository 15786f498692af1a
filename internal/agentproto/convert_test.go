package agentproto

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"hangar/api"
	"hangar/internal/core"
	"hangar/internal/hypervisor"
)

// An operation survives the wire: what the control plane's driver would have been given is
// what the agent's driver gets, the assigned user's SSH keys included.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	since := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	now := since.Add(time.Second)
	net, ip, pub := "nabc123", "10.0.0.5", "198.18.0.9"
	req := hypervisor.Request{Attempt: 2, Since: since, Now: now, UserEmail: "ada@acme.test",
		SSHKeys: []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHg ada@laptop"},
		Machine: core.Machine{ID: "psabc", Name: "box", State: core.StateStarting, MachineType: "C5", Region: "East Coast (NY2)",
			TemplateID: "tdebian", SizeGB: 50, CPUs: 2, NetworkID: &net, PrivateIP: &ip, PublicIP: &pub, PhaseSince: since},
		Template: core.Template{ID: "tdebian", Name: "Debian 12", OS: "Debian 12", Image: "/data/images/debian.qcow2"},
		Script:   &core.Script{ID: "sc1", Text: "#!/bin/sh\necho hi\n", RunOnce: true, Enabled: true},
		Network:  &core.Network{ID: net, CIDR: "10.0.0.0/24", VLAN: 7}}
	b, err := json.Marshal(Encode("op1", core.OpAdvance, req, ""))
	if err != nil {
		t.Fatal(err)
	}
	var wire api.AgentOp
	if err := json.Unmarshal(b, &wire); err != nil {
		t.Fatal(err)
	}
	got := Decode(wire, now)
	if !reflect.DeepEqual(got, req) {
		t.Errorf("after the wire:\n got %+v\nwant %+v", got, req)
	}
}
