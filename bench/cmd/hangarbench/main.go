// Command hangarbench is Hangar's load benchmark. It builds hangar and the bare baseline
// server (bench/bare), starts both on 127.0.0.1, seeds Hangar through its operator CLI and
// API, then runs every load phase against Hangar and against the bare server in the same
// run, alternating their order each round, and prints a markdown table of the medians.
//
//	go run ./bench/cmd/hangarbench                      # the documented run (~6 minutes)
//	go run ./bench/cmd/hangarbench -rounds 1 -d 3s      # quick look
//	go run ./bench/cmd/hangarbench -profile /tmp/prof   # also CPU-profile each phase
//	go run ./bench/cmd/hangarbench -before /tmp/hangar-old   # an older build side by side
//	go run ./bench/cmd/hangarbench -only create -before /tmp/hangar -before-label normal -before-args "--sync normal"
//	go run ./bench/cmd/hangarbench -only list -hangar-sql 'CREATE INDEX …'  # try a store change
//
// Each run reports the requests per second and latency percentiles the load generator saw,
// and the CPU time the server process used per request (from /proc/PID/stat), which the
// other tenants of a shared machine disturb much less than wall-clock rates.
//
// Setup (documented in BENCHMARKS.md):
//   - hangar serve --sync full (the default) --sim-time-scale 1000 in a temporary data
//     directory: provisioning then lasts 40,000 s, so created machines stay in
//     "provisioning" and the engine has nothing to advance during the run;
//   - host big-ny2 in "East Coast (NY2)" with -capacity C1 and C2 slots, created with
//     `hangar admin hosts create … -o json` using the operator key;
//   - team bench-list with an admin user and key owning -machines machines: -needles of
//     them are machineType C2 named "needle", the rest C1 named "hay-N" (needles are spread
//     evenly over creation order). The list phase filters machineType=C2;
//   - team bench-create with its own admin and key for the create phases, so the list
//     team stays at exactly -machines machines;
//   - the bare server answers with the bytes Hangar returned for one GET, one create and
//     the filtered list.
//
// Every load is bounded by time (-d) and by loadgen's request cap, and uses loopback only.
package main

import (
	"bytes"
	"context"
	sqldb "database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // -hangar-sql opens the database directly

	"hangar/bench/loadgen"
)

type options struct {
	rounds      int
	dur, warmup time.Duration
	getConns    int
	createConns int
	createRate  float64
	listConns   []int
	machines    int
	needles     int
	capacity    int
	timeScale   float64
	sync        string
	profile     string
	out, asJSON string
	keep        bool
	only        string
	before      string // prebuilt hangar binary measured as a second Hangar target
	beforeLabel string
	beforeArgs  string // extra `hangar serve` flags of the -before target
	indexSQL    string // SQL applied to the "hangar" target's database after seeding
	hangarBin   string // a prebuilt hangar binary instead of building ./cmd/hangar
	filler      int    // extra machines created in team bench-create before measuring
}

func main() {
	var o options
	var listConns string
	flag.IntVar(&o.rounds, "rounds", 3, "rounds per phase and target (medians are reported)")
	flag.DurationVar(&o.dur, "d", 8*time.Second, "measured duration of each run")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unrecorded warm-up before each run")
	flag.IntVar(&o.getConns, "get-conns", 32, "connections of the GET phase")
	flag.IntVar(&o.createConns, "create-conns", 32, "connections of the create phases")
	flag.Float64Var(&o.createRate, "create-rate", 2000, "open-loop rate of the fixed-rate create phase (0: skip it)")
	flag.StringVar(&listConns, "list-conns", "1,8", "connections of the list phases (comma-separated, one phase each)")
	flag.IntVar(&o.machines, "machines", 10000, "machines of the list team")
	flag.IntVar(&o.needles, "needles", 100, "of which machineType C2 (what the list filter selects)")
	flag.IntVar(&o.filler, "filler", 0, "extra machines created in team bench-create before any phase (a larger database)")
	flag.IntVar(&o.capacity, "capacity", 1_000_000, "C1 and C2 slots of host big-ny2")
	flag.Float64Var(&o.timeScale, "sim-time-scale", 1000, "hangar serve --sim-time-scale")
	flag.StringVar(&o.sync, "sync", "full", "hangar serve --sync (full or normal)")
	flag.StringVar(&o.profile, "profile", "", "directory: after the rounds, CPU-profile hangar during one more run of each phase")
	flag.StringVar(&o.out, "out", "", "also write the markdown report to this file")
	flag.StringVar(&o.asJSON, "json", "", "write every run's raw result as JSON to this file")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (binaries, data, logs)")
	flag.StringVar(&o.only, "only", "", "run only the phases whose name contains this")
	flag.StringVar(&o.before, "before", "", "a prebuilt hangar binary to measure too, side by side (before/after a change)")
	flag.StringVar(&o.beforeLabel, "before-label", "before", "target name of -before in the table")
	flag.StringVar(&o.beforeArgs, "before-args", "", "extra space-separated `hangar serve` flags of the -before target, e.g. \"--sync normal\" (they come last and win)")
	flag.StringVar(&o.hangarBin, "hangar-bin", "", "use this prebuilt hangar binary for the hangar target instead of building ./cmd/hangar")
	flag.StringVar(&o.indexSQL, "hangar-sql", "", "SQL run on the hangar target's database after seeding, with hangar stopped (e.g. a proposed index)")
	flag.Parse()
	for _, s := range strings.Split(listConns, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			fatal(fmt.Errorf("-list-conns: %q", s))
		}
		o.listConns = append(o.listConns, n)
	}
	if o.rounds < 1 || o.rounds > 20 || o.dur <= 0 || o.dur > 100*time.Second || o.needles < 1 || o.needles > o.machines ||
		o.machines > 100_000 || o.filler < 0 || o.filler > 500_000 {
		fatal(errors.New("flags out of range (rounds 1-20, d ≤ 100s, 1 ≤ needles ≤ machines ≤ 100000)"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "hangarbench:", err)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// env is the running benchmark.
type env struct {
	o       options
	tmp     string
	hangars []*instance // "hangar", then -before if given
	bare    *proc
}

// instance is a running, seeded Hangar.
type instance struct {
	*proc
	bin, data string
	args      []string
	opKey     string
	listKey   string
	createKey string
	ids       []string
}

// targets are every server measured: the Hangars, then bare.
func (e *env) targets() []*proc {
	var out []*proc
	for _, h := range e.hangars {
		out = append(out, h.proc)
	}
	return append(out, e.bare)
}

func (e *env) instance(name string) *instance {
	for _, h := range e.hangars {
		if h.name == name {
			return h
		}
	}
	return nil
}

func run(ctx context.Context, o options) (err error) {
	tmp, err := os.MkdirTemp("", "hangarbench-")
	if err != nil {
		return err
	}
	e := &env{o: o, tmp: tmp}
	defer func() {
		e.stopAll()
		if o.keep {
			logf("kept %s", tmp)
		} else {
			_ = os.RemoveAll(tmp)
		}
	}()
	if err := e.build(ctx); err != nil {
		return err
	}
	names := map[string]string{"hangar": filepath.Join(tmp, "hangar")}
	if o.hangarBin != "" {
		bin, err := filepath.Abs(o.hangarBin)
		if err != nil {
			return err
		}
		names["hangar"] = bin
	}
	order := []string{"hangar"}
	if o.before != "" {
		bin, err := filepath.Abs(o.before)
		if err != nil {
			return err
		}
		names[o.beforeLabel] = bin
		order = append(order, o.beforeLabel)
	}
	for _, name := range order {
		h, err := e.startHangar(ctx, name, names[name])
		if err != nil {
			return err
		}
		e.hangars = append(e.hangars, h)
		if err := e.seed(ctx, h); err != nil {
			return err
		}
		if name == "hangar" && o.indexSQL != "" {
			if err := e.applySQL(ctx, h, o.indexSQL); err != nil {
				return err
			}
		}
	}
	if err := e.startBare(ctx); err != nil {
		return err
	}
	runs, err := e.measure(ctx)
	if err != nil {
		return err
	}
	report := e.report(runs)
	fmt.Print(report)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
			return err
		}
	}
	if o.asJSON != "" {
		b, _ := json.MarshalIndent(runs, "", "  ")
		if err := os.WriteFile(o.asJSON, b, 0o644); err != nil {
			return err
		}
	}
	if o.profile != "" {
		return e.profileAll(ctx)
	}
	return nil
}

// build compiles hangar and bare from the module this command runs in.
func (e *env) build(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return fmt.Errorf("go env GOMOD: %v (run from inside the hangar module)", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	for name, pkg := range map[string]string{"hangar": "./cmd/hangar", "bare": "./bench/bare"} {
		logf("building %s", pkg)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(e.tmp, name), pkg)
		cmd.Dir, cmd.Stderr = root, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", pkg, err)
		}
	}
	return nil
}

// proc is a server this command started.
type proc struct {
	name  string
	cmd   *exec.Cmd
	addr  string
	pprof string
	done  chan struct{}
}

var (
	addrRE  = regexp.MustCompile(`\baddr=(127\.0\.0\.1:\d+)`)
	pprofRE = regexp.MustCompile(`\bpprof_addr=(127\.0\.0\.1:\d+)`)
)

// start runs bin with args, logs its stderr to <tmp>/<name>.log and waits for the line that
// names its address (and pprof address, if wantPprof).
func (e *env) start(ctx context.Context, name, bin string, wantPprof bool, args ...string) (*proc, error) {
	logFile, err := os.OpenFile(filepath.Join(e.tmp, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	// The load generator is one client address with one key: Hangar's rate limits (set through
	// the environment, which binaries without them ignore) would turn the load into 429s.
	cmd.Env = append(os.Environ(), "HANGAR_KEY_RATE=0", "HANGAR_ADDRESS_RATE=0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	found := make(chan struct{})
	var once sync.Once
	go func() {
		defer close(p.done)
		defer logFile.Close()
		buf := make([]byte, 0, 4096)
		chunk := make([]byte, 4096)
		for {
			n, err := stderr.Read(chunk)
			_, _ = logFile.Write(chunk[:n])
			if p.addr == "" || (wantPprof && p.pprof == "") {
				buf = append(buf, chunk[:n]...)
				for {
					i := bytes.IndexByte(buf, '\n')
					if i < 0 {
						break
					}
					line := string(buf[:i])
					buf = buf[i+1:]
					if m := pprofRE.FindStringSubmatch(line); m != nil {
						p.pprof = m[1]
					} else if m := addrRE.FindStringSubmatch(line); m != nil {
						p.addr = m[1]
					}
				}
				if p.addr != "" && (!wantPprof || p.pprof != "") {
					once.Do(func() { close(found) })
				}
			}
			if err != nil {
				_ = cmd.Wait()
				return
			}
		}
	}()
	select {
	case <-found:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited at start; see %s", name, logFile.Name())
	case <-time.After(60 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s did not report its address; see %s", name, logFile.Name())
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

// stop sends SIGTERM and waits; after 20 s it kills the process (only this one).
func (p *proc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (e *env) stopAll() {
	e.bare.stop()
	for _, h := range e.hangars {
		h.stop()
	}
}

// cpu returns the user+system CPU seconds the process has used (/proc/PID/stat).
func (p *proc) cpu() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

func selfCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// sysCPU is the machine's CPU time from /proc/stat, in seconds summed over CPUs.
type sysCPU struct{ busy, steal float64 }

func readSysCPU() sysCPU {
	b, _ := os.ReadFile("/proc/stat")
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	if len(f) < 9 || f[0] != "cpu" {
		return sysCPU{}
	}
	v := make([]float64, len(f))
	for i := 1; i < len(f); i++ {
		v[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return sysCPU{busy: (v[1] + v[2] + v[3] + v[6] + v[7]) / 100, steal: v[8] / 100}
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// hasQuotas reports whether bin's serve takes --quota (binaries from before quotas do not).
func hasQuotas(bin string) bool {
	out, _ := exec.Command(bin, "serve", "--help").CombinedOutput()
	return strings.Contains(string(out), "--quota")
}

func (e *env) startHangar(ctx context.Context, name, bin string) (*instance, error) {
	h := &instance{bin: bin, data: filepath.Join(e.tmp, name+"-data")}
	h.args = []string{"serve", "--listen", "127.0.0.1:0", "--data", h.data,
		"--sync", e.o.sync, "--sim-time-scale", strconv.FormatFloat(e.o.timeScale, 'f', -1, 64),
		"--log-level", "info", "--pprof", "127.0.0.1:0"}
	if name != "hangar" {
		h.args = append(h.args, strings.Fields(e.o.beforeArgs)...)
	}
	if hasQuotas(bin) {
		// The seeded teams hold far more machines than the default quotas allow. The limits
		// are raised, not lifted, so that every create still counts the team's usage.
		h.args = append(h.args, "--quota", "machines=1000000", "--quota", "running=1000000")
	}
	var err error
	if h.proc, err = e.start(ctx, name, bin, true, h.args...); err != nil {
		return nil, err
	}
	key, err := os.ReadFile(filepath.Join(h.data, "operator.key"))
	if err != nil {
		return nil, err
	}
	h.opKey = strings.TrimSpace(string(key))
	logf("%s (%s) serving on %s (pprof %s), data %s", name, bin, h.addr, h.pprof, h.data)
	return h, nil
}

// applySQL stops h, runs sql on its database and starts it again on a new port.
func (e *env) applySQL(ctx context.Context, h *instance, sql string) error {
	h.stop()
	db, err := sqldb.Open("sqlite", filepath.Join(h.data, "hangar.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	t0 := time.Now()
	_, err = db.ExecContext(ctx, sql)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("-hangar-sql: %w", err)
	}
	logf("applied to %s in %v: %s", h.name, time.Since(t0).Round(time.Millisecond), sql)
	p, err := e.start(ctx, h.name, h.bin, true, h.args...)
	if err != nil {
		return err
	}
	h.proc = p
	logf("%s restarted on %s (pprof %s)", h.name, h.addr, h.pprof)
	return nil
}

// admin runs `hangar admin -o json ARGS` with the operator key and decodes its output.
func (e *env) admin(ctx context.Context, h *instance, out any, args ...string) error {
	full := append([]string{"admin", "--url", "http://" + h.addr, "--api-key", h.opKey, "-o", "json"}, args...)
	cmd := exec.CommandContext(ctx, h.bin, full...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("hangar %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return json.Unmarshal(b, out)
}

// teamWithAdmin creates a team, an admin user and an API key and returns the key.
func (e *env) teamWithAdmin(ctx context.Context, h *instance, name string) (string, error) {
	var team, user struct{ ID string }
	var key struct{ Key string }
	if err := e.admin(ctx, h, &team, "teams", "create", "--name", name); err != nil {
		return "", err
	}
	if err := e.admin(ctx, h, &user, "users", "create", "--team", team.ID, "--email", name+"@bench.test",
		"--password", "bench-password-1", "--first-name", "Bench", "--last-name", name, "--admin"); err != nil {
		return "", err
	}
	if err := e.admin(ctx, h, &key, "keys", "create", "--user", user.ID, "--name", name); err != nil {
		return "", err
	}
	if key.Key == "" {
		return "", errors.New("keys create returned no secret")
	}
	return key.Key, nil
}

// createBody is the body of every create: a Linux template on a C1 (or C2) in NY2.
func createBody(name, machineType string) []byte {
	b, _ := json.Marshal(map[string]any{"region": "East Coast (NY2)", "machineType": machineType, "size": 50,
		"billingType": "hourly", "machineName": name, "templateId": "tkni3aa4"})
	return b
}

// call sends one request to hangar and returns the body; non-2xx is an error.
func (h *instance) call(ctx context.Context, hc *http.Client, key, method, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+h.addr+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("x-api-key", key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode/100 != 2 {
		err = fmt.Errorf("%s %s: HTTP %d: %s", method, path, res.StatusCode, b)
	}
	return b, err
}

func (e *env) seed(ctx context.Context, h *instance) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	c := strconv.Itoa(e.o.capacity)
	var host struct{ ID string }
	if err := e.admin(ctx, h, &host, "hosts", "create", "--name", "big-ny2", "--region", "East Coast (NY2)",
		"--capacity", "C1="+c, "--capacity", "C2="+c); err != nil {
		return err
	}
	var err error
	if h.listKey, err = e.teamWithAdmin(ctx, h, "bench-list"); err != nil {
		return err
	}
	if h.createKey, err = e.teamWithAdmin(ctx, h, "bench-create"); err != nil {
		return err
	}
	logf("%s: seeding %d machines (%d needles) in team bench-list", h.name, e.o.machines, e.o.needles)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: time.Minute}
	every := e.o.machines / e.o.needles
	t0 := time.Now()
	err = createMany(ctx, h, hc, h.listKey, e.o.machines, func(i int) (string, string) {
		if i%every == 0 && i/every < e.o.needles {
			return "needle", "C2"
		}
		return fmt.Sprintf("hay-%05d", i), "C1"
	})
	if err != nil {
		return err
	}
	logf("seeded in %v", time.Since(t0).Round(time.Millisecond))
	if e.o.filler > 0 {
		t0 = time.Now()
		err := createMany(ctx, h, hc, h.createKey, e.o.filler, func(i int) (string, string) {
			return fmt.Sprintf("filler-%06d", i), "C1"
		})
		if err != nil {
			return err
		}
		logf("%s: %d filler machines in team bench-create in %v", h.name, e.o.filler, time.Since(t0).Round(time.Millisecond))
	}
	b, err := h.call(ctx, hc, h.listKey, "GET", "/machines/getMachines?limit=100000", nil)
	if err != nil {
		return err
	}
	var ms []struct{ ID string }
	if err := json.Unmarshal(b, &ms); err != nil {
		return err
	}
	if len(ms) != e.o.machines {
		return fmt.Errorf("list team has %d machines, want %d", len(ms), e.o.machines)
	}
	for _, m := range ms {
		h.ids = append(h.ids, m.ID)
	}
	// The bodies the bare server will serve: Hangar's own answers.
	get, err := h.call(ctx, hc, h.listKey, "GET", "/machines/getMachinePublic?machineId="+h.ids[1], nil)
	if err != nil {
		return err
	}
	created, err := h.call(ctx, hc, h.createKey, "POST", "/machines/createSingleMachinePublic", createBody("bench-create", "C1"))
	if err != nil {
		return err
	}
	list, err := h.call(ctx, hc, h.listKey, "GET", listPath, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(list, &ms); err != nil || len(ms) != e.o.needles {
		return fmt.Errorf("filtered list has %d machines, want %d (%v)", len(ms), e.o.needles, err)
	}
	if h.name != "hangar" {
		return nil
	}
	for name, b := range map[string][]byte{"get.json": get, "create.json": created, "list.json": list} {
		if err := os.WriteFile(filepath.Join(e.tmp, name), b, 0o644); err != nil {
			return err
		}
	}
	logf("captured bodies: get %d B, create %d B, list %d B", len(get), len(created), len(list))
	return nil
}

// createMany creates n machines with 16 concurrent callers; spec(i) gives the name and type
// of the i-th.
func createMany(ctx context.Context, h *instance, hc *http.Client, key string, n int, spec func(int) (string, string)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				name, mt := spec(i)
				if _, err := h.call(ctx, hc, key, "POST", "/machines/createSingleMachinePublic", createBody(name, mt)); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// listPath is the filtered list of the list phases: the needles.
const listPath = "/machines/getMachines?machineType=C2"

func (e *env) startBare(ctx context.Context) error {
	var err error
	e.bare, err = e.start(ctx, "bare", filepath.Join(e.tmp, "bare"), false, "-listen", "127.0.0.1:0", "-get", filepath.Join(e.tmp, "get.json"),
		"-create", filepath.Join(e.tmp, "create.json"), "-list", filepath.Join(e.tmp, "list.json"))
	if err == nil {
		logf("bare serving on %s", e.bare.addr)
	}
	return err
}

// phase is one kind of load.
type phase struct {
	Name  string
	Desc  string
	Conns int
	Rate  float64
	reqs  func(h *instance) []loadgen.Request // h: the target, or the "hangar" instance for bare
}

func (e *env) phases() []phase {
	get := func(h *instance) []loadgen.Request {
		hdr := http.Header{"X-Api-Key": {h.listKey}}
		out := make([]loadgen.Request, len(h.ids))
		for i, id := range h.ids {
			out[i] = loadgen.Request{Path: "/machines/getMachinePublic?machineId=" + id, Header: hdr}
		}
		return out
	}
	create := func(h *instance) []loadgen.Request {
		return []loadgen.Request{{Method: "POST", Path: "/machines/createSingleMachinePublic",
			Header: http.Header{"X-Api-Key": {h.createKey}, "Content-Type": {"application/json"}},
			Body:   createBody("bench-create", "C1")}}
	}
	list := func(h *instance) []loadgen.Request {
		return []loadgen.Request{{Path: listPath, Header: http.Header{"X-Api-Key": {h.listKey}}}}
	}
	// The list phases run before the create phases, which grow each Hangar's database by a
	// different amount (the faster one creates more), so that every target lists the same data.
	ps := []phase{{Name: "get", Desc: fmt.Sprintf("GET getMachinePublic (rotating over the %d ids of the list team)", e.o.machines),
		Conns: e.o.getConns, reqs: get}}
	for _, c := range e.o.listConns {
		ps = append(ps, phase{Name: fmt.Sprintf("list-c%d", c), Desc: fmt.Sprintf("GET getMachines?machineType=C2 (%d of %d)", e.o.needles, e.o.machines),
			Conns: c, reqs: list})
	}
	ps = append(ps, phase{Name: "create", Desc: "POST createSingleMachinePublic, closed loop", Conns: e.o.createConns, reqs: create})
	if e.o.createRate > 0 {
		ps = append(ps, phase{Name: "create-rate", Desc: fmt.Sprintf("POST createSingleMachinePublic at %.0f/s (open loop)", e.o.createRate),
			Conns: e.o.createConns, Rate: e.o.createRate, reqs: create})
	}
	if e.o.only != "" {
		ps = slices.DeleteFunc(ps, func(p phase) bool { return !strings.Contains(p.Name, e.o.only) })
	}
	return ps
}

// runResult is one run of one phase against one target.
type runResult struct {
	Phase     string
	Target    string
	Round     int
	Load      string // /proc/loadavg before the run
	ServerCPU float64
	ClientCPU float64
	// OtherCPU is the CPU time every other process on the machine used during the run
	// (machine busy time minus server and client); Steal is the hypervisor's steal time.
	OtherCPU float64
	Steal    float64
	loadgen.Result
}

func (e *env) runOne(ctx context.Context, p phase, target *proc, round int) (runResult, error) {
	h := e.instance(target.name)
	if h == nil {
		h = e.instance("hangar") // bare ignores keys and ids
	}
	cfg := loadgen.Config{Addr: target.addr, Requests: p.reqs(h), Conns: p.Conns, Duration: e.o.dur,
		Rate: p.Rate, Warmup: e.o.warmup}
	rr := runResult{Phase: p.Name, Target: target.name, Round: round, Load: loadavg()}
	if cfg.Warmup > 0 { // warm up outside the CPU accounting
		w := cfg
		w.Duration, w.Warmup = cfg.Warmup, 0
		if _, err := loadgen.Run(ctx, w); err != nil {
			return rr, err
		}
		cfg.Warmup = 0
	}
	s0, c0, m0 := target.cpu(), selfCPU(), readSysCPU()
	res, err := loadgen.Run(ctx, cfg)
	m1 := readSysCPU()
	rr.ServerCPU, rr.ClientCPU, rr.Result = target.cpu()-s0, selfCPU()-c0, res
	rr.OtherCPU = max(0, m1.busy-m0.busy-rr.ServerCPU-rr.ClientCPU)
	rr.Steal = m1.steal - m0.steal
	return rr, err
}

func (e *env) measure(ctx context.Context) ([]runResult, error) {
	var runs []runResult
	for _, p := range e.phases() {
		for r := range e.o.rounds {
			order := e.targets()
			if r%2 == 1 {
				slices.Reverse(order)
			}
			for _, t := range order {
				rr, err := e.runOne(ctx, p, t, r+1)
				if err != nil {
					return nil, err
				}
				logf("%-12s %-7s round %d: %s cpu=%.1fs client=%.1fs others=%.1fs steal=%.1fs load=%s", p.Name, t.name, r+1,
					rr.Result, rr.ServerCPU, rr.ClientCPU, rr.OtherCPU, rr.Steal, rr.Load)
				runs = append(runs, rr)
				runtime.GC()
			}
		}
	}
	return runs, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

type summary struct {
	rps, p50, p90, p99, max, cpuPerReq, reqPerCPU, clientCPU, otherCPU float64
	errors, non2xx                                                     int64
	n                                                                  int
}

func summarise(runs []runResult, phase, target string) summary {
	var s summary
	var rps, p50, p90, p99, mx, cpr, rpc, cli, oth []float64
	for _, r := range runs {
		if r.Phase != phase || r.Target != target {
			continue
		}
		s.n++
		rps, p50, p90, p99, mx = append(rps, r.RPS), append(p50, r.P50), append(p90, r.P90), append(p99, r.P99), append(mx, r.Max)
		if r.Requests > 0 {
			cpr = append(cpr, r.ServerCPU/float64(r.Requests)*1e6)
			if r.ServerCPU > 0 {
				rpc = append(rpc, float64(r.Requests)/r.ServerCPU)
			}
		}
		cli = append(cli, r.ClientCPU/r.Elapsed)
		oth = append(oth, r.OtherCPU/r.Elapsed)
		s.errors += r.Errors
		s.non2xx += r.Non2xx
	}
	s.rps, s.p50, s.p90, s.p99, s.max = median(rps), median(p50), median(p90), median(p99), median(mx)
	s.cpuPerReq, s.reqPerCPU, s.clientCPU, s.otherCPU = median(cpr), median(rpc), median(cli), median(oth)
	return s
}

func (e *env) report(runs []runResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### Results (%d rounds of %v per phase and target, medians; started %s)\n\n",
		e.o.rounds, e.o.dur, time.Now().Format(time.DateOnly))
	b.WriteString("| phase | conns | target | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | non-2xx | server CPU µs/req | req per server CPU-s | loadgen CPUs | other procs' CPUs | ÷ bare req/s |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range e.phases() {
		bare := summarise(runs, p.Name, "bare")
		conns := strconv.Itoa(p.Conns)
		if p.Rate > 0 {
			conns += fmt.Sprintf(" @%.0f/s", p.Rate)
		}
		for _, t := range e.targets() {
			s := summarise(runs, p.Name, t.name)
			ratio := ""
			if t != e.bare && bare.rps > 0 {
				ratio = fmt.Sprintf("%.2f×", s.rps/bare.rps)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %.0f | %.2f | %.2f | %.2f | %.1f | %d | %d | %.0f | %.0f | %.2f | %.2f | %s |\n",
				p.Name, conns, t.name, s.rps, s.p50, s.p90, s.p99, s.max, s.errors, s.non2xx,
				s.cpuPerReq, s.reqPerCPU, s.clientCPU, s.otherCPU, ratio)
		}
	}
	b.WriteString("\nPhases:\n")
	for _, p := range e.phases() {
		fmt.Fprintf(&b, "- `%s`: %s\n", p.Name, p.Desc)
	}
	loads := make([]string, 0, len(runs))
	for _, r := range runs {
		loads = append(loads, strings.Fields(r.Load)[0])
	}
	fmt.Fprintf(&b, "\n1-minute load average before each run: %s\n", strings.Join(loads, ", "))
	return b.String()
}

// profileAll runs each phase once more against hangar while taking a CPU profile.
func (e *env) profileAll(ctx context.Context) error {
	if err := os.MkdirAll(e.o.profile, 0o755); err != nil {
		return err
	}
	secs := max(1, int(e.o.dur.Seconds())-1)
	for _, h := range e.hangars {
		bin, err := os.ReadFile(h.bin)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(e.o.profile, h.name+".bin"), bin, 0o755); err != nil {
			return err
		}
		for _, p := range e.phases() {
			path := filepath.Join(e.o.profile, h.name+"-"+p.Name+".pprof")
			var perr error
			var wg sync.WaitGroup
			wg.Go(func() {
				time.Sleep(e.o.warmup + 300*time.Millisecond) // profile the measured part only
				perr = fetch(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", h.pprof, secs), path)
			})
			rr, err := e.runOne(ctx, p, h.proc, 0)
			wg.Wait()
			if err != nil {
				return err
			}
			if perr != nil {
				return perr
			}
			logf("profiled %s %-12s %s -> %s", h.name, p.Name, rr.Result, path)
		}
	}
	logf("inspect with: go tool pprof -top %s/hangar.bin %s/hangar-<phase>.pprof", e.o.profile, e.o.profile)
	return nil
}

func fetch(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: 2 * time.Minute} // a profile takes at most -d (≤ 2m) seconds
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("%s: HTTP %d", url, res.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
