package main

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// agentProc is a `hangar agent` running as a child process.
type agentProc struct {
	cmd    *exec.Cmd
	name   string
	stderr *syncBuffer
	done   chan struct{}
}

// startAgent starts hangar agent for server with data and name; token may be "" on a data
// directory that has a credential. It does not wait for the join.
func startAgent(t *testing.T, server, token, data, name string, extra ...string) *agentProc {
	t.Helper()
	args := []string{"agent", "--server", server, "--data", data, "--name", name,
		"--sim-time-scale", "0.05", "--sim-serviceready-min", "200ms", "--log-level", "info"}
	if token != "" {
		args = append(args, "--token", token)
	}
	cmd := exec.Command(hangarBinary(t), append(args, extra...)...)
	a := &agentProc{cmd: cmd, name: name, stderr: &syncBuffer{}, done: make(chan struct{})}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			fmt.Fprintln(a.stderr, sc.Text())
			if testing.Verbose() {
				t.Log(name+":", sc.Text())
			}
		}
		_ = cmd.Wait()
		close(a.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-a.done
	})
	return a
}

func (a *agentProc) kill9(t *testing.T) {
	t.Helper()
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done
}

// exit waits for the agent to exit by itself and returns its exit code and stderr.
func (a *agentProc) exit(t *testing.T, within time.Duration) (int, string) {
	t.Helper()
	select {
	case <-a.done:
	case <-time.After(within):
		t.Fatalf("agent %s still runs after %v\n%s", a.name, within, a.stderr.String())
	}
	return a.cmd.ProcessState.ExitCode(), a.stderr.String()
}

var finishedRe = regexp.MustCompile(`msg="agent: operation finished" op=(\S+)`)

// finishedOps returns the ids of the operations the agent's log says it finished.
func (a *agentProc) finishedOps() []string {
	var out []string
	for _, m := range finishedRe.FindAllStringSubmatch(a.stderr.String(), -1) {
		out = append(out, m[1])
	}
	return out
}

// freeAddr returns a loopback address with a port nobody listens on now, for a control plane
// that must come back on the same address after a restart.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// joinToken creates a join token for region through the operator API.
func joinToken(t *testing.T, ts *testServer, region, ttl string) string {
	t.Helper()
	var tok map[string]any
	if st := ts.do(t, ts.Key, "POST", "/hangar/v1/hosts/tokens", map[string]any{"region": region, "ttl": ttl}, &tok); st != 200 {
		t.Fatalf("token: %d %v", st, tok)
	}
	return tok["token"].(string)
}

type hostView struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	State    string         `json:"state"`
	Driver   string         `json:"driver"`
	Capacity map[string]int `json:"capacity"`
	Used     map[string]int `json:"used"`
	Agent    *struct {
		Version  string  `json:"version"`
		LastSeen *string `json:"lastSeen"`
	} `json:"agent"`
}

func hostsByName(t *testing.T, ts *testServer) map[string]hostView {
	t.Helper()
	var hs []hostView
	if st := ts.do(t, ts.Key, "GET", "/hangar/v1/hosts", nil, &hs); st != 200 {
		t.Fatalf("hosts: %d", st)
	}
	out := map[string]hostView{}
	for _, h := range hs {
		out[h.Name] = h
	}
	return out
}

// waitHost waits until host name is in state.
func waitHost(t *testing.T, ts *testServer, name, state string, within time.Duration) hostView {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		h, ok := hostsByName(t, ts)[name]
		if ok && h.State == state {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("host %s not %s within %v: %+v", name, state, within, h)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// machineHosts maps each machine id of the admin's list to its host name, through the
// hosts' usage: it reads each machine's events and the operator's host list.
func eventsOf(t *testing.T, ts *testServer, key, id string) (string, map[string]int, []map[string]any) {
	t.Helper()
	var m map[string]any
	if st := ts.do(t, key, "GET", "/machines/getMachinePublic?machineId="+id, nil, &m); st != 200 {
		t.Fatalf("show %s: %d %v", id, st, m)
	}
	count := map[string]int{}
	var evs []map[string]any
	if list, ok := m["events"].([]any); ok {
		for _, e := range list {
			ev := e.(map[string]any)
			count[fmt.Sprint(ev["name"])]++
			evs = append(evs, ev)
		}
	}
	return fmt.Sprint(m["state"]), count, evs
}
