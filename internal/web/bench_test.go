package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
	"hangar/internal/waittest"
)

// fleet adds n machines to the admin's team directly in the store (no host capacity needed),
// a tenth of them off, across the team's users.
func (w *world) fleet(tb testing.TB, admin string, n int) {
	tb.Helper()
	p := w.ps[admin]
	users, err := w.svc.ListUsers(context.Background(), p)
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now().Add(-time.Duration(n) * time.Second).UTC().Truncate(time.Millisecond)
	for batch := 0; batch < n; batch += 1000 {
		err := w.st.Write(context.Background(), func(tx store.Tx) error {
			for i := batch; i < min(batch+1000, n); i++ {
				ip := fmt.Sprintf("10.130.%d.%d", i/250, i%250+1)
				m := core.Machine{ID: fmt.Sprintf("psf%06d", i), Name: fmt.Sprintf("fleet-%05d", i), TeamID: p.Team.ID,
					UserID: users[i%len(users)].ID, Region: "East Coast (NY2)", MachineType: "C2", BillingType: "hourly",
					TemplateID: "tkni3aa4", SizeGB: 50, CPUs: 1, AgentType: "LinuxHeadless", State: core.StateReady,
					PrivateIP: &ip, PhaseSince: start, Created: start.Add(time.Duration(i) * time.Second)}
				if i%10 == 0 {
					m.State = core.StateOff
				}
				if err := tx.CreateMachine(&m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// serveOnce runs one console request in process and returns its status: the server's own
// time, without a network in between.
func serveOnce(b *testing.B, h http.Handler, cookie *http.Cookie, path string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s: %d\n%s", path, rec.Code, rec.Body.String())
	}
}

// BenchmarkMachinesPage serves pages of the machines list of a team with 10,000 machines.
func BenchmarkMachinesPage(b *testing.B) {
	w := setup(b)
	w.fleet(b, "ada", 10_000)
	ada := w.signedIn("ada")
	cookie := &http.Cookie{Name: "hangar-session", Value: ada.session()}
	for _, bc := range []struct{ name, path string }{
		{"first", "machines"},
		{"page-100", "machines?page=100"},
		{"last", "machines?page=200"},
		{"state-off", "machines?state=off"},
		{"owner", "machines?owner=" + w.ps["max"].User.ID},
		{"search-name", "machines?q=fleet-099"},
		{"search-miss", "machines?q=nothing-like-it"},
		{"search-id", "machines?q=psf004321"},
		{"search-ip", "machines?q=10.130.17.22"},
		{"machine", "machines/psf004321"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serveOnce(b, w.web, cookie, Prefix+bc.path)
			}
		})
	}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// openStreams opens n live streams of the machines list (one page of a 10,000-machine team
// each) and waits until all are subscribed.
func openStreams(b *testing.B, w *world, n int) []*sse {
	ada := w.signedIn("ada")
	streams := make([]*sse, n)
	for i := range streams {
		streams[i] = ada.stream(Prefix + "machines/live")
	}
	for _, s := range streams {
		for range pageSize { // the snapshot
			s.next(b)
		}
	}
	waittest.Eventually(b, 10*time.Second, func() error {
		if got := w.hub.Subscribers(); got != n {
			return fmt.Errorf("%d subscribers, want %d", got, n)
		}
		return nil
	})
	return streams
}

// BenchmarkLiveIdle measures what open live streams cost while no machine changes: each
// iteration is one second with the streams open; the CPU time and allocations of the whole
// process (server and clients) in it are reported per stream.
func BenchmarkLiveIdle(b *testing.B) {
	for _, n := range []int{0, 100, 1000} {
		b.Run(fmt.Sprintf("streams-%d", n), func(b *testing.B) {
			w := setup(b)
			w.fleet(b, "ada", 10_000)
			var ms0, ms1, before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			if n > 0 {
				openStreams(b, w, n)
			}
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			cpu0, g0 := cpuTime(), runtime.NumGoroutine()
			b.ResetTimer()
			for b.Loop() {
				time.Sleep(time.Second) //nolint:forbidigo // the idle second is what is measured, not a wait for something
			}
			b.StopTimer()
			cpu := cpuTime() - cpu0
			runtime.ReadMemStats(&ms1)
			secs := float64(b.N)
			b.ReportMetric(float64(cpu.Microseconds())/secs, "cpu-µs/s")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/secs, "allocs/s")
			if n > 0 { // server and client side of a stream, as the heap grew to open them
				b.ReportMetric(float64(int64(ms0.HeapInuse)-int64(before.HeapInuse))/float64(n), "heap-B/stream")
			}
			if g := runtime.NumGoroutine(); g > g0+10 {
				b.Errorf("goroutines grew from %d to %d while idle", g0, g)
			}
		})
	}
}

// BenchmarkLiveChange measures one machine's state change reaching every open stream of its
// team: an iteration is one committed change until all streams have sent it.
func BenchmarkLiveChange(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("streams-%d", n), func(b *testing.B) {
			w := setup(b)
			w.fleet(b, "ada", 10_000)
			streams := openStreams(b, w, n)
			// The newest machine is on every stream's page.
			id := "psf009999"
			states := []core.State{core.StateStopping, core.StateOff, core.StateStarting, core.StateReady}
			b.ResetTimer()
			i := 0
			for b.Loop() {
				w.setState(id, states[i%len(states)])
				i++
				var wg sync.WaitGroup
				for _, s := range streams {
					wg.Go(func() { s.next(b) })
				}
				wg.Wait()
			}
		})
	}
}
