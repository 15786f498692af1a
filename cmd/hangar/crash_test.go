package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// hangarBinary builds the hangar binary once per test process.
func hangarBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hangar-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "hangar")
		out, err := exec.Command("go", "build", "-o", buildPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// proc is a hangar serve running as a child process; its stdout and stderr are kept.
type proc struct {
	cmd            *exec.Cmd
	url            string
	stdout, stderr *syncBuffer
}

var addrRe = regexp.MustCompile(`msg="hangar serving" addr=(\S+)`)

// startProc starts hangar serve on data with extra flags (later flags win) and waits until it
// serves.
func startProc(t *testing.T, data string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data", data, "--sync", "normal", "--log-level", "info"}, extra...)
	cmd := exec.Command(hangarBinary(t), args...)
	p := &proc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	cmd.Stdout = p.stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			fmt.Fprintln(p.stderr, sc.Text())
			if m := addrRe.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
			if testing.Verbose() {
				t.Log("serve:", sc.Text())
			}
		}
	}()
	select {
	case addr := <-found:
		p.url = "http://" + addr
		return p
	case <-time.After(20 * time.Second):
		t.Fatalf("hangar serve did not start\n%s", p.stderr.String())
	}
	return nil
}

// stop ends the server with SIGTERM and waits for it.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("hangar serve exited with %v\n%s", err, p.stderr.String())
	}
}

func (p *proc) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

// client wraps testServer's request helper for a process.
func (p *proc) ts(key string) *testServer { return &testServer{URL: p.url, Key: key} }

// TestCrashRecovery starts creates and power operations, kills the server with SIGKILL while
// they are in flight, restarts it on the same data and checks that every machine converges
// with each operation done exactly once and no capacity leaked.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real hangar processes")
	}
	data := t.TempDir()
	flags := []string{"--sim-time-scale", "0.05", "--sim-serviceready-min", "200ms"}
	p := startProc(t, data, flags...)
	opKey := readKey(t, data)
	ts := p.ts(opKey)
	admin := newTeamAdmin(t, ts)

	const n = 24
	ids := make([]string, n)
	wantOff := map[string]bool{}
	for i := range n {
		body := createBody(fmt.Sprintf("crash-%d", i))
		if i%4 == 3 {
			body["startOnCreate"] = false
			wantOff[fmt.Sprint(i)] = true
		}
		var m map[string]any
		if st := ts.do(t, admin, "POST", "/machines/createSingleMachinePublic", body, &m); st != 200 {
			t.Fatalf("create %d: %d %v", i, st, m)
		}
		ids[i] = m["id"].(string)
	}
	// Let the first machines reach ready, then stop or restart them so that provisioning,
	// starting, stopping and restarting are all in flight at the kill.
	time.Sleep(3500 * time.Millisecond)
	restarts, stops := map[string]int{}, map[string]int{}
	for i, id := range ids[:n/2] {
		var m map[string]any
		ts.do(t, admin, "GET", "/machines/getMachinePublic?machineId="+id, nil, &m)
		st := m["state"]
		switch {
		case i%2 == 0 && (st == "ready" || st == "serviceready"):
			if ts.do(t, admin, "POST", "/machines/"+id+"/restart", nil, nil) == 204 {
				restarts[id]++
			}
		case st == "ready" || st == "serviceready" || st == "starting":
			if ts.do(t, admin, "POST", "/machines/"+id+"/stop", nil, nil) == 204 {
				stops[id]++
			}
		}
	}
	time.Sleep(300 * time.Millisecond)
	inFlight := 0
	var all []map[string]any
	ts.do(t, admin, "GET", "/machines/getMachines", nil, &all)
	for _, m := range all {
		if s := m["state"]; s != "ready" && s != "off" {
			inFlight++
		}
	}
	if inFlight == 0 {
		t.Fatal("nothing was in flight at the kill; the test proves nothing")
	}
	p.kill9(t)
	t.Logf("killed with %d of %d machines in flight", inFlight, n)

	p = startProc(t, data, flags...)
	ts = p.ts(opKey)
	waitSettled(t, ts, admin, n)
	powered := 0
	for i, id := range ids {
		var m struct {
			State  string `json:"state"`
			Events []struct {
				Name, State string
				DtFinished  *string
			} `json:"events"`
		}
		if st := ts.do(t, admin, "GET", "/machines/getMachinePublic?machineId="+id, nil, &m); st != 200 {
			t.Fatalf("show %s: %d", id, st)
		}
		count := map[string]int{}
		for _, e := range m.Events {
			count[e.Name]++
			if e.State == "in progress" || e.DtFinished == nil {
				t.Errorf("%s: event %s left %s", id, e.Name, e.State)
			}
		}
		if count["create"] != 1 {
			t.Errorf("%s: %d create events", id, count["create"])
		}
		if count["restart"] != restarts[id] || count["stop"] != stops[id] {
			t.Errorf("%s: events %v, want %d restart and %d stop", id, count, restarts[id], stops[id])
		}
		wantState := "ready"
		if stops[id] > 0 || wantOff[fmt.Sprint(i)] {
			wantState = "off"
		}
		if m.State != wantState {
			t.Errorf("%s: state %s, want %s (events %v)", id, m.State, wantState, count)
		}
		if m.State == "ready" {
			powered++
		}
	}
	var hosts []struct {
		Used map[string]int `json:"used"`
	}
	ts.do(t, opKey, "GET", "/hangar/v1/hosts", nil, &hosts)
	used := 0
	for _, h := range hosts {
		used += h.Used["C5"]
	}
	if used != powered {
		t.Errorf("hosts count %d C5 slots in use, %d machines are powered on", used, powered)
	}
}

// waitSettled waits up to a minute for the team of admin to have exactly n machines, each
// ready or off, and fails the test with their states otherwise.
func waitSettled(t *testing.T, ts *testServer, admin string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var all []map[string]any
		ts.do(t, admin, "GET", "/machines/getMachines", nil, &all)
		settled := len(all) == n
		for _, m := range all {
			settled = settled && (m["state"] == "ready" || m["state"] == "off")
		}
		if settled {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("machines did not converge after the restart: %v", states(all))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func states(ms []map[string]any) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%v=%v ", m["id"], m["state"])
	}
	return b.String()
}

func readKey(t *testing.T, data string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "operator.key"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func createBody(name string) map[string]any {
	return map[string]any{"region": "East Coast (NY2)", "machineType": "C5", "size": 50,
		"billingType": "hourly", "machineName": name, "templateId": "t04azgph"}
}

// newTeamAdmin creates a team with an admin user through the operator API and returns the
// admin's API key.
func newTeamAdmin(t *testing.T, ts *testServer) string {
	t.Helper()
	var team, user, key map[string]any
	if st := ts.do(t, ts.Key, "POST", "/hangar/v1/teams", map[string]any{"name": "Acme"}, &team); st != 200 {
		t.Fatalf("team: %d %v", st, team)
	}
	if st := ts.do(t, ts.Key, "POST", "/hangar/v1/users", map[string]any{"team": team["id"],
		"email": fmt.Sprintf("admin-%s@example.com", team["id"]), "password": "correct horse",
		"firstName": "Ada", "lastName": "Admin", "admin": true}, &user); st != 200 {
		t.Fatalf("user: %d %v", st, user)
	}
	if st := ts.do(t, ts.Key, "POST", "/hangar/v1/keys", map[string]any{"user": user["id"]}, &key); st != 200 {
		t.Fatalf("key: %d %v", st, key)
	}
	return key["key"].(string)
}

// TestConcurrentCreatesNeverOversubscribe fires many creates at once against a few slots.
func TestConcurrentCreatesNeverOversubscribe(t *testing.T) {
	ts := startServer(t, "--no-default-fleet")
	admin := newTeamAdmin(t, ts)
	for i, slots := range []int{3, 2} {
		var h map[string]any
		if st := ts.do(t, ts.Key, "POST", "/hangar/v1/hosts", map[string]any{"name": fmt.Sprint("h", i),
			"region": "East Coast (NY2)", "capacity": map[string]int{"C5": slots}}, &h); st != 200 {
			t.Fatalf("host: %d %v", st, h)
		}
	}
	const clients = 64
	codes := make([]int, clients)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range clients {
		wg.Go(func() {
			<-start
			var body map[string]any
			codes[i] = ts.do(t, admin, "POST", "/machines/createSingleMachinePublic", createBody(fmt.Sprint("race-", i)), &body)
			if codes[i] == 400 && !strings.Contains(fmt.Sprint(body), "no C5 machines available") {
				t.Errorf("unexpected 400 body %v", body)
			}
		})
	}
	close(start)
	wg.Wait()
	created := 0
	for _, c := range codes {
		switch c {
		case 200:
			created++
		case 400:
		default:
			t.Errorf("status %d", c)
		}
	}
	if created != 5 {
		t.Fatalf("%d creates succeeded with 5 slots", created)
	}
	var hosts []struct {
		Name     string         `json:"name"`
		Capacity map[string]int `json:"capacity"`
		Used     map[string]int `json:"used"`
	}
	ts.do(t, ts.Key, "GET", "/hangar/v1/hosts", nil, &hosts)
	for _, h := range hosts {
		if h.Used["C5"] != h.Capacity["C5"] {
			t.Errorf("host %s: used %d of %d", h.Name, h.Used["C5"], h.Capacity["C5"])
		}
	}
	var list []map[string]any
	ts.do(t, admin, "GET", "/machines/getMachines", nil, &list)
	if len(list) != 5 {
		t.Fatalf("list has %d machines", len(list))
	}
	var avail map[string]any
	ts.do(t, admin, "GET", "/machines/getAvailability?region=East%20Coast%20(NY2)&machineType=C5", nil, &avail)
	if avail["available"] != false {
		t.Fatalf("availability with no free slot: %v", avail)
	}
}

// TestGracefulShutdown sends SIGTERM and SIGINT to a serving process: it must exit 0 promptly
// and start again on the same data without creating a second operator.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real hangar processes")
	}
	data := t.TempDir()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		p := startProc(t, data)
		ts := p.ts(readKey(t, data))
		var teams []map[string]any
		if st := ts.do(t, ts.Key, "GET", "/hangar/v1/teams", nil, &teams); st != 200 || len(teams) != 1 {
			t.Fatalf("teams after start: %d %v", st, teams)
		}
		if err := p.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%v: exit %v", sig, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%v: still running after 20s", sig)
		}
	}
}
