package main

import (
	"fmt"
	"testing"
	"time"
)

// TestQEMUDefaultNetworkPerTeam: machines created without a private network are on their
// team's default segment. A machine of team A reaches a teammate's machine at its private
// address, but not team B's machine, although all three have addresses of the same default
// range.
func TestQEMUDefaultNetworkPerTeam(t *testing.T) {
	t.Parallel() // at most -parallel (GOMAXPROCS) real-VM tests at once, after the serial tests
	e := requireVMs(t)
	ts := startServerIn(t, vmData(t, e), qemuFlags(e)...)
	tmpl := kernelTemplate(t, ts, e)
	acme := ts.newAccount(t, ts.newTeam(t, "Acme"), "ada@acme.test", true).Key
	globex := ts.newAccount(t, ts.newTeam(t, "Globex"), "gus@globex.test", true).Key

	a1 := createVM(t, ts, acme, map[string]any{"templateId": tmpl, "machineName": "a1"})
	b1 := createVM(t, ts, globex, map[string]any{"templateId": tmpl, "machineName": "b1"})
	waitVM(t, ts, acme, a1["id"].(string), "ready", 3*time.Minute)
	waitVM(t, ts, globex, b1["id"].(string), "ready", 3*time.Minute)
	script := createScript(t, ts, acme, "probe", fmt.Sprintf("#!/bin/sh\n"+
		"if ping -c 1 -W 5 %s >/dev/null; then echo reachable; else echo unreachable; fi > teammate\n"+
		"if ping -c 1 -W 2 %s >/dev/null; then echo reachable; else echo unreachable; fi > other-team\n",
		a1["privateIpAddress"], b1["privateIpAddress"]))
	a2 := createVM(t, ts, acme, map[string]any{"templateId": tmpl, "machineName": "a2", "assignPublicIp": true, "scriptId": script})
	waitVM(t, ts, acme, a2["id"].(string), "ready", 3*time.Minute)
	pub := a2["publicIpAddress"].(string)
	if got := fetch(t, e, pub, "teammate"); got != "reachable\n" {
		t.Errorf("a2 -> a1, both on team A's default network: %q", got)
	}
	if got := fetch(t, e, pub, "other-team"); got != "unreachable\n" {
		t.Errorf("a2 -> b1 on team B's default network: %q, want unreachable", got)
	}
	for _, m := range []struct {
		key string
		vm  map[string]any
	}{{acme, a1}, {acme, a2}, {globex, b1}} {
		if st := ts.do(t, m.key, "POST", "/machines/"+m.vm["id"].(string)+"/destroyMachine", nil, nil); st != 204 {
			t.Errorf("destroy %s: HTTP %d", m.vm["id"], st)
		}
	}
}
