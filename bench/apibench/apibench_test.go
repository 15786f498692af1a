package apibench

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/httpapi"
	"hangar/internal/hypervisor/sim"
	"hangar/internal/lifecycle"
	"hangar/internal/service"
	"hangar/internal/store/sqlite"
)

// fixture is a wired API over a temporary database with one team owning machines.
type fixture struct {
	db          *sqlite.DB
	svc         *service.Service
	api         *httpapi.Server
	key         string // the team admin's API key
	operatorKey string
	ids         []string
	getRaw      []byte // a getMachinePublic response, for the bare baseline
}

var (
	fixMu    sync.Mutex
	fixtures = map[string]*fixture{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range fixtures {
		f.db.Close()
	}
	os.Exit(code)
}

// setup returns the fixture with machines machines, of which needles are machineType C2
// named "needle" (the list filter), built once per process.
func setup(b *testing.B, machines, needles int) *fixture {
	b.Helper()
	fixMu.Lock()
	defer fixMu.Unlock()
	name := fmt.Sprint(machines, "/", needles)
	if f := fixtures[name]; f != nil {
		return f
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.MemoryPath, sqlite.Options{Synchronous: "normal"})
	if err != nil {
		b.Fatal(err)
	}
	cat := core.DefaultCatalog()
	// As hangar serve --sim-time-scale 1000: machines stay in provisioning.
	drv := sim.New(sim.DefaultTimings().Scaled(1000, 0), cat)
	env := &lifecycle.Env{Clock: core.SystemClock{}, PublicPool: netip.MustParsePrefix("198.18.0.0/15"),
		DefaultNet: netip.MustParsePrefix("10.128.0.0/12"), Expect: drv.Expect}
	svc := service.New(db, service.Config{Catalog: cat, Env: env, DefaultShutdownHours: 168})
	f := &fixture{db: db, svc: svc, api: httpapi.New(httpapi.Config{Service: svc, Driver: drv.Name()})}
	opKey, err := svc.Bootstrap(ctx, true)
	must(b, err)
	f.operatorKey = opKey
	op, err := svc.Authenticate(ctx, opKey)
	must(b, err)
	hostName, region := "big-ny2", "East Coast (NY2)"
	_, err = svc.CreateHost(ctx, op, service.HostSpec{Name: &hostName, Region: &region,
		Capacity: map[string]int{"C1": 1_000_000, "C2": 1_000_000}})
	must(b, err)
	team, err := svc.CreateTeam(ctx, op, "bench", false)
	must(b, err)
	u, err := svc.CreateUser(ctx, op, service.NewUser{Team: team.ID, Email: "admin@bench.test",
		Password: "bench-password-1", FirstName: "Bench", LastName: "Admin", Admin: true})
	must(b, err)
	nk, err := svc.CreateKey(ctx, op, u.ID, "bench")
	must(b, err)
	f.key = nk.Secret
	admin, err := svc.Authenticate(ctx, f.key)
	must(b, err)
	ids := make([]string, machines)
	var next atomic.Int64
	var wg sync.WaitGroup
	every := machines / max(needles, 1)
	for range 16 { // concurrent creates share commits
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= machines {
					return
				}
				c := service.CreateMachine{Region: region, MachineType: "C1", BillingType: "hourly",
					Name: fmt.Sprintf("hay-%05d", i), TemplateID: "tkni3aa4", Size: 50, StartOnCreate: true}
				if needles > 0 && i%every == 0 && i/every < needles {
					c.MachineType, c.Name = "C2", "needle"
				}
				m, err := svc.CreateMachine(ctx, admin, c)
				if err != nil {
					panic(err)
				}
				ids[i] = m.ID
			}
		})
	}
	wg.Wait()
	f.ids = ids
	rec := f.do("GET", "/machines/getMachinePublic?machineId="+ids[0], "")
	if rec.Code != 200 {
		b.Fatalf("get: %d %s", rec.Code, rec.Body)
	}
	f.getRaw = rec.Body.Bytes()
	fixtures[name] = f
	return f
}

// cpuPerOp reports the process's CPU time (user+system, every goroutine) per operation as
// "cpu-ns/op": on a shared machine it moves far less than ns/op. Call it after setup and
// defer the function it returns.
func cpuPerOp(b *testing.B) func() {
	start := cpuNow()
	return func() { b.ReportMetric(float64((cpuNow()-start).Nanoseconds())/float64(b.N), "cpu-ns/op") }
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

func (f *fixture) request(method, path, body string) *http.Request {
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, path, nil)
	} else {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	r.Header.Set("x-api-key", f.key)
	return r
}

func (f *fixture) do(method, path, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.api.ServeHTTP(rec, f.request(method, path, body))
	return rec
}

// BenchmarkGetMachine is GET /machines/getMachinePublic over 1,000 machines, one caller.
func BenchmarkGetMachine(b *testing.B) {
	f := setup(b, 1000, 0)
	defer cpuPerOp(b)()
	i := 0
	for b.Loop() {
		rec := f.do("GET", "/machines/getMachinePublic?machineId="+f.ids[i%len(f.ids)], "")
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
		i++
	}
}

// BenchmarkGetMachineParallel is the same with GOMAXPROCS callers.
func BenchmarkGetMachineParallel(b *testing.B) {
	f := setup(b, 1000, 0)
	defer cpuPerOp(b)()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			rec := f.do("GET", "/machines/getMachinePublic?machineId="+f.ids[int(i)%len(f.ids)], "")
			if rec.Code != 200 {
				b.Errorf("%d %s", rec.Code, rec.Body)
				return
			}
		}
	})
}

// BenchmarkBareGetMachine writes the bytes of a getMachinePublic answer from a plain
// handler: the floor the two benchmarks above compare with.
func BenchmarkBareGetMachine(b *testing.B) {
	f := setup(b, 1000, 0)
	defer cpuPerOp(b)()
	body := f.getRaw
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(200)
		_, _ = w.Write(body)
	})
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, f.request("GET", "/machines/getMachinePublic?machineId="+f.ids[0], ""))
	}
}

const createBody = `{"region":"East Coast (NY2)","machineType":"C1","size":50,"billingType":"hourly",` +
	`"machineName":"bench-create","templateId":"tkni3aa4"}`

// BenchmarkCreateMachine is POST /machines/createSingleMachinePublic, one caller: every
// create commits alone (synchronous=NORMAL here).
func BenchmarkCreateMachine(b *testing.B) {
	f := setup(b, 1000, 0)
	defer cpuPerOp(b)()
	for b.Loop() {
		if rec := f.do("POST", "/machines/createSingleMachinePublic", createBody); rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkCreateMachineParallel has 32 callers, so creates share group commits.
func BenchmarkCreateMachineParallel(b *testing.B) {
	f := setup(b, 1000, 0)
	defer cpuPerOp(b)()
	b.SetParallelism(16) // × GOMAXPROCS(2) = 32 callers
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if rec := f.do("POST", "/machines/createSingleMachinePublic", createBody); rec.Code != 200 {
				b.Errorf("%d %s", rec.Code, rec.Body)
				return
			}
		}
	})
}

// BenchmarkListMachinesFilter is GET /machines/getMachines?machineType=C2 over a team of
// 10,000 machines of which 100 match.
func BenchmarkListMachinesFilter(b *testing.B) {
	f := setup(b, 10000, 100)
	defer cpuPerOp(b)()
	benchList(b, f)
}

// proposedIndex is the index BENCHMARKS.md proposes for the store: it lets SQLite find the
// machines of a team by type, already in the list order.
const proposedIndex = `CREATE INDEX IF NOT EXISTS machines_team_type ON machines (team_id, machine_type, created, id)
	WHERE deleted_at IS NULL`

// BenchmarkListMachinesFilterIndexed is the same list with proposedIndex added to the
// database behind the store's back (the store itself is unchanged).
func BenchmarkListMachinesFilterIndexed(b *testing.B) {
	f := setup(b, 10000, 100)
	db, err := sql.Open("sqlite", f.db.Path()+"?_pragma=busy_timeout(10000)")
	must(b, err)
	_, err = db.Exec(proposedIndex)
	must(b, errors.Join(err, db.Close()))
	b.Cleanup(func() { dropIndex(b, f) })
	defer cpuPerOp(b)()
	benchList(b, f)
}

func dropIndex(b *testing.B, f *fixture) {
	db, err := sql.Open("sqlite", f.db.Path()+"?_pragma=busy_timeout(10000)")
	must(b, err)
	_, err = db.Exec(`DROP INDEX IF EXISTS machines_team_type`)
	must(b, errors.Join(err, db.Close()))
}

func benchList(b *testing.B, f *fixture) {
	for b.Loop() {
		rec := f.do("GET", "/machines/getMachines?machineType=C2", "")
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
		var ms []json.RawMessage
		if b.N == 1 {
			if err := json.Unmarshal(rec.Body.Bytes(), &ms); err != nil || len(ms) != 100 {
				b.Fatalf("%d machines, %v", len(ms), err)
			}
		}
	}
}
