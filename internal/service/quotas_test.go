package service_test

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/core/clocktest"
	"hangar/internal/lifecycle"
	"hangar/internal/service"
	"hangar/internal/store"
	"hangar/internal/store/postgres"
	"hangar/internal/store/postgres/pgtest"
	"hangar/internal/store/sqlite"
)

// quotaWorld is a service over a real store with the default simulated fleet, the operator,
// and two teams with an admin and a member each (admin1, member1 in team one; admin2 in two).
type quotaWorld struct {
	t     testing.TB
	st    store.Store
	env   *lifecycle.Env
	svc   *service.Service
	op    core.Principal
	ps    map[string]core.Principal
	teams map[string]string // "one", "two" → team id
}

// backends runs fn on SQLite (a file) and, with TEST_DATABASE_URL, on PostgreSQL.
func backends(t *testing.T, fn func(t *testing.T, open func(t *testing.T) store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(t *testing.T) store.Store {
			db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hangar.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, func(t *testing.T) store.Store {
			db, err := postgres.Open(context.Background(), pgtest.SchemaURL(t, "hangar_quota"), postgres.Options{MaxConns: 8})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
}

func newQuotaWorld(t testing.TB, st store.Store, pool string, defaults core.QuotaLimits) *quotaWorld {
	t.Helper()
	ctx := context.Background()
	env := &lifecycle.Env{Clock: clocktest.New(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)),
		PublicPool: netip.MustParsePrefix(pool), DefaultNet: netip.MustParsePrefix("10.128.0.0/12"),
		Expect: func(core.State) time.Duration { return time.Minute }, Quotas: defaults}
	w := &quotaWorld{t: t, st: st, env: env, ps: map[string]core.Principal{}, teams: map[string]string{},
		svc: service.New(st, service.Config{Catalog: core.DefaultCatalog(), Env: env, TokenTTL: time.Hour, DefaultShutdownHours: 168})}
	secret, err := w.svc.Bootstrap(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if w.op, err = w.svc.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	for _, team := range []struct{ name, admin, member string }{{"one", "admin1", "member1"}, {"two", "admin2", ""}} {
		tm, err := w.svc.CreateTeam(ctx, w.op, team.name, false)
		if err != nil {
			t.Fatal(err)
		}
		w.teams[team.name] = tm.ID
		for _, name := range []string{team.admin, team.member} {
			if name == "" {
				continue
			}
			u, err := w.svc.CreateUser(ctx, w.op, service.NewUser{Team: tm.ID, Email: name + "@example.com",
				Password: "password-" + name, FirstName: name, LastName: "X", Admin: strings.HasPrefix(name, "admin")})
			if err != nil {
				t.Fatal(err)
			}
			k, err := w.svc.CreateKey(ctx, w.op, u.ID, name)
			if err != nil {
				t.Fatal(err)
			}
			if w.ps[name], err = w.svc.Authenticate(ctx, k.Secret); err != nil {
				t.Fatal(err)
			}
		}
	}
	return w
}

// quota sets team's override of q (core.Unlimited for none).
func (w *quotaWorld) quota(team string, q core.Quota, n int) {
	w.t.Helper()
	if _, err := w.svc.UpdateTeamQuotas(context.Background(), w.op, w.teams[team], map[core.Quota]*int{q: &n}); err != nil {
		w.t.Fatal(err)
	}
}

func machineReq(name string) service.CreateMachine {
	return service.CreateMachine{Region: "East Coast (NY2)", MachineType: "C2", BillingType: "hourly", Name: name,
		TemplateID: "tkni3aa4", Size: 50, StartOnCreate: true}
}

func (w *quotaWorld) create(admin string, c service.CreateMachine) (core.Machine, error) {
	return w.svc.CreateMachine(context.Background(), w.ps[admin], c)
}

func (w *quotaWorld) mustCreate(admin string, c service.CreateMachine) core.Machine {
	w.t.Helper()
	m, err := w.create(admin, c)
	if err != nil {
		w.t.Fatalf("create %s: %v", c.Name, err)
	}
	return m
}

// powerOff moves a machine to off as the engine does when a stop completes.
func (w *quotaWorld) powerOff(id string) {
	w.t.Helper()
	err := w.st.Write(context.Background(), func(tx store.Tx) error {
		m, err := tx.GetMachine(id)
		if err != nil {
			return err
		}
		if err := w.env.Enter(tx, &m, core.StateOff); err != nil {
			return err
		}
		if m.DynamicPublicIP {
			if err := w.env.ReleasePublicIP(tx, &m, false); err != nil {
				return err
			}
		}
		if err := w.env.ReleaseCapacity(tx, &m); err != nil {
			return err
		}
		m.OpEvent = ""
		return tx.UpdateMachine(&m)
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

// overQuota fails unless err is the 400 of team's quota q.
func overQuota(t *testing.T, what string, err error, team string, q core.Quota) {
	t.Helper()
	want := fmt.Sprintf("quota exceeded: team %s may have at most ", team)
	if core.ErrorCode(err) != core.Invalid || !strings.HasPrefix(core.ErrorMessage(err), want) ||
		!strings.HasSuffix(core.ErrorMessage(err), fmt.Sprintf("(quota %q)", string(q))) {
		t.Fatalf("%s: got %v (code %q), want the %s quota error of team %s", what, err, core.ErrorCode(err), q, team)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func newScript(name string) service.NewScript {
	return service.NewScript{Name: name, Text: "echo " + name}
}

// TestQuotaEach drives a team into each quota and checks the 400 that names it, and that the
// other team is not held back.
func TestQuotaEach(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hangar.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := newQuotaWorld(t, db, "198.18.0.0/15", nil)
	one, two := w.teams["one"], w.teams["two"]
	a1, a2 := w.ps["admin1"], w.ps["admin2"]

	// machines
	w.quota("one", core.QuotaMachines, 2)
	m1 := w.mustCreate("admin1", machineReq("m1"))
	w.mustCreate("admin1", machineReq("m2"))
	_, err = w.create("admin1", machineReq("m3"))
	overQuota(t, "third machine", err, one, core.QuotaMachines)
	w.mustCreate("admin2", machineReq("other team's"))
	w.quota("one", core.QuotaMachines, core.Unlimited)

	// running: m1 and m2 provisioning hold a slot each
	w.quota("one", core.QuotaRunning, 2)
	_, err = w.create("admin1", machineReq("m3"))
	overQuota(t, "a third running machine", err, one, core.QuotaRunning)
	w.quota("one", core.QuotaRunning, 3)
	m3 := w.mustCreate("admin1", machineReq("m3"))
	w.powerOff(m3.ID)
	w.quota("one", core.QuotaRunning, 2)
	overQuota(t, "start over running", w.svc.Power(ctx, a1, m3.ID, core.ActionStart), one, core.QuotaRunning)
	w.powerOff(m1.ID)
	noErr(t, "start once another stopped", w.svc.Power(ctx, a1, m3.ID, core.ActionStart))
	w.quota("one", core.QuotaRunning, core.Unlimited)

	// publicIps: static on create and on update, dynamic on start; a kept address is reused
	w.quota("one", core.QuotaPublicIPs, 1)
	withIP := machineReq("with-ip")
	withIP.AssignPublicIP = true
	ip1 := w.mustCreate("admin1", withIP)
	_, err = w.create("admin1", withIP)
	overQuota(t, "second static IP", err, one, core.QuotaPublicIPs)
	_, err = w.svc.UpdateMachine(ctx, a1, m3.ID, service.UpdateMachine{AssignPublicIP: ptr(true)})
	overQuota(t, "static IP by update", err, one, core.QuotaPublicIPs)
	noErr(t, "destroy keeping the IP", w.svc.DestroyMachine(ctx, a1, ip1.ID, false))
	reuse := w.mustCreate("admin1", withIP) // the kept address, not a new one
	if reuse.PublicIP == nil || *reuse.PublicIP != *ip1.PublicIP {
		t.Fatalf("create with a kept static IP: got %v, want %s", reuse.PublicIP, *ip1.PublicIP)
	}
	dyn := machineReq("dynamic")
	dyn.DynamicPublicIP = true
	_, err = w.create("admin1", dyn)
	overQuota(t, "dynamic IP on create-and-start", err, one, core.QuotaPublicIPs)
	dyn.StartOnCreate = false
	d := w.mustCreate("admin1", dyn)
	w.powerOff(d.ID)
	overQuota(t, "dynamic IP on start", w.svc.Power(ctx, a1, d.ID, core.ActionStart), one, core.QuotaPublicIPs)
	if _, err := w.create("admin2", withIP); err != nil {
		t.Fatalf("team two's static IP: %v", err)
	}
	w.quota("one", core.QuotaPublicIPs, core.Unlimited)

	// networks, on the Paperspace route and the operator's
	w.quota("one", core.QuotaNetworks, 1)
	_, err = w.svc.CreateTeamNetwork(ctx, a1, service.NewTeamNetwork{Name: "n1", Region: "East Coast (NY2)"})
	noErr(t, "first network", err)
	_, err = w.svc.CreateTeamNetwork(ctx, a1, service.NewTeamNetwork{Name: "n2", Region: "East Coast (NY2)"})
	overQuota(t, "second team network", err, one, core.QuotaNetworks)
	_, err = w.svc.CreateNetwork(ctx, w.op, service.NewNetwork{Team: one, Name: "op", Region: "East Coast (NY2)", CIDR: "10.99.0.0/24"})
	overQuota(t, "second network by the operator", err, one, core.QuotaNetworks)
	_, err = w.svc.CreateTeamNetwork(ctx, a2, service.NewTeamNetwork{Name: "n1", Region: "East Coast (NY2)"})
	noErr(t, "team two's network", err)

	// scripts
	w.quota("one", core.QuotaScripts, 1)
	_, err = w.svc.CreateScript(ctx, a1, newScript("s1"))
	noErr(t, "first script", err)
	_, err = w.svc.CreateScript(ctx, w.ps["member1"], newScript("s2"))
	overQuota(t, "second script", err, one, core.QuotaScripts)
	_, err = w.svc.CreateScript(ctx, a2, newScript("s1"))
	noErr(t, "team two's script", err)

	// snapshots: the initial snapshot is reserved by the create
	w.quota("one", core.QuotaSnapshots, 1)
	snap := machineReq("snap")
	snap.TakeInitialSnapshot = true
	w.mustCreate("admin1", snap)
	_, err = w.create("admin1", snap)
	overQuota(t, "second initial snapshot", err, one, core.QuotaSnapshots)
	w.mustCreate("admin2", snap)

	// The quota table shows limits, sources and usage.
	detail, err := w.svc.GetTeam(ctx, w.op, one)
	noErr(t, "GetTeam", err)
	got := map[core.Quota]service.TeamQuota{}
	for _, q := range detail.Quotas {
		got[q.Quota] = q
	}
	if q := got[core.QuotaSnapshots]; q.Limit != 1 || !q.Override || q.Used != 1 {
		t.Errorf("snapshots quota of team one: %+v, want limit 1, override, used 1", q)
	}
	if q := got[core.QuotaNetworks]; q.Limit != 1 || q.Used != 1 {
		t.Errorf("networks quota of team one: %+v, want limit 1, used 1", q)
	}
	detail2, err := w.svc.GetTeam(ctx, w.op, two)
	noErr(t, "GetTeam two", err)
	for _, q := range detail2.Quotas {
		if q.Override || q.Limit != core.DefaultQuotas()[q.Quota] {
			t.Errorf("team two's %s: %+v, want the default", q.Quota, q)
		}
	}
}

// TestQuotaConcurrentCreates sends many creates at once against a small quota: exactly the
// quota's number succeed, on each backend, because each check reads the counts in the
// transaction that writes.
func TestQuotaConcurrentCreates(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		const limit, tries = 3, 12
		for _, tc := range []struct {
			q      core.Quota
			create func(w *quotaWorld, i int) error
		}{
			{core.QuotaNetworks, func(w *quotaWorld, i int) error {
				_, err := w.svc.CreateTeamNetwork(context.Background(), w.ps["admin1"],
					service.NewTeamNetwork{Name: fmt.Sprint("n", i), Region: "East Coast (NY2)"})
				return err
			}},
			{core.QuotaMachines, func(w *quotaWorld, i int) error {
				_, err := w.create("admin1", machineReq(fmt.Sprint("m", i)))
				return err
			}},
			{core.QuotaPublicIPs, func(w *quotaWorld, i int) error {
				c := machineReq(fmt.Sprint("ip", i))
				c.AssignPublicIP = true
				_, err := w.create("admin1", c)
				return err
			}},
			{core.QuotaScripts, func(w *quotaWorld, i int) error {
				_, err := w.svc.CreateScript(context.Background(), w.ps["admin1"], newScript(fmt.Sprint("s", i)))
				return err
			}},
		} {
			t.Run(string(tc.q), func(t *testing.T) {
				w := newQuotaWorld(t, open(t), "198.18.0.0/15", nil)
				w.quota("one", tc.q, limit)
				var wg sync.WaitGroup
				errs := make([]error, tries)
				for i := range tries {
					wg.Go(func() { errs[i] = tc.create(w, i) })
				}
				wg.Wait()
				ok := 0
				for i, err := range errs {
					if err == nil {
						ok++
						continue
					}
					overQuota(t, fmt.Sprint("create ", i), err, w.teams["one"], tc.q)
				}
				if ok != limit {
					t.Fatalf("%d of %d concurrent creates succeeded against a %s quota of %d", ok, tries, tc.q, limit)
				}
				var used int
				err := w.st.Read(context.Background(), func(tx store.Tx) error {
					u, err := tx.TeamUsage(w.teams["one"])
					used = u[tc.q]
					return err
				})
				noErr(t, "TeamUsage", err)
				if used != limit {
					t.Fatalf("team one holds %d %s, want %d", used, tc.q, limit)
				}
			})
		}
	})
}

// TestQuotaSharedPools: one team cannot take a shared pool from the others. Its networks stop
// at its quota while the others still get ranges, and its powered-off (or destroyed) machines
// keep at most its publicIps quota of a small pool.
func TestQuotaSharedPools(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hangar.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// A /27 holds 29 assignable addresses; the default quota lets a team keep 4.
	w := newQuotaWorld(t, db, "203.0.113.0/27", core.QuotaLimits{core.QuotaPublicIPs: 4, core.QuotaNetworks: 5})
	one := w.teams["one"]
	a1, a2 := w.ps["admin1"], w.ps["admin2"]
	for i := 0; ; i++ {
		_, err := w.svc.CreateTeamNetwork(ctx, a1, service.NewTeamNetwork{Name: fmt.Sprint("n", i), Region: "East Coast (NY2)"})
		if err != nil {
			overQuota(t, fmt.Sprint("network ", i), err, one, core.QuotaNetworks)
			if i != 5 {
				t.Fatalf("team one made %d networks, want 5", i)
			}
			break
		}
	}
	if _, err := w.svc.CreateTeamNetwork(ctx, a2, service.NewTeamNetwork{Name: "mine", Region: "East Coast (NY2)"}); err != nil {
		t.Fatalf("team two's network after team one hit its quota: %v", err)
	}

	withIP := machineReq("")
	withIP.AssignPublicIP = true
	var held []core.Machine
	for i := 0; ; i++ {
		withIP.Name = fmt.Sprint("ip", i)
		m, err := w.create("admin1", withIP)
		if err != nil {
			overQuota(t, fmt.Sprint("static IP ", i), err, one, core.QuotaPublicIPs)
			break
		}
		w.powerOff(m.ID)
		held = append(held, m)
	}
	if len(held) != 4 {
		t.Fatalf("team one holds %d static IPs, want 4", len(held))
	}
	// Destroyed without releasePublicIp, the addresses stay reserved and still count.
	noErr(t, "destroy keeping the IP", w.svc.DestroyMachine(ctx, a1, held[0].ID, false))
	ips, err := w.svc.ListPublicIPs(ctx, a1, "")
	noErr(t, "ListPublicIPs", err)
	if len(ips) != 4 {
		t.Fatalf("team one's public IPs after a destroy: %d, want 4", len(ips))
	}
	for i := range 8 {
		withIP.Name = fmt.Sprint("two-", i)
		if _, err := w.create("admin2", withIP); err != nil && i < 4 {
			t.Fatalf("team two's static IP %d while team one holds its quota: %v", i, err)
		}
	}
}

// TestReleasePublicIP: a team admin releases a static IP the team keeps without a machine;
// another team's address is NotFound, an attached one Invalid, a member is Forbidden.
func TestReleasePublicIP(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hangar.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := newQuotaWorld(t, db, "198.18.0.0/15", core.QuotaLimits{core.QuotaPublicIPs: 1})
	one := w.teams["one"]
	a1, a2, m1 := w.ps["admin1"], w.ps["admin2"], w.ps["member1"]
	withIP := machineReq("kept")
	withIP.AssignPublicIP = true
	kept := w.mustCreate("admin1", withIP)
	addr := *kept.PublicIP

	_, err = w.svc.ReleasePublicIP(ctx, a1, addr)
	if core.ErrorCode(err) != core.Invalid || !strings.Contains(core.ErrorMessage(err), kept.ID) {
		t.Fatalf("release of an attached IP: %v, want Invalid naming machine %s", err, kept.ID)
	}
	noErr(t, "destroy keeping the IP", w.svc.DestroyMachine(ctx, a1, kept.ID, false))
	// The kept address holds the team's one public IP.
	withIP.Name = "blocked"
	withIP.TeamID = nil
	if _, err := w.svc.UpdateMachine(ctx, a1, w.mustCreate("admin1", machineReq("plain")).ID,
		service.UpdateMachine{AssignPublicIP: ptr(true)}); err != nil {
		t.Fatalf("assign reuses the kept IP: %v", err)
	}
	w2 := w.mustCreate("admin1", machineReq("plain2"))
	_, err = w.svc.UpdateMachine(ctx, a1, w2.ID, service.UpdateMachine{AssignPublicIP: ptr(true)})
	overQuota(t, "a second IP", err, one, core.QuotaPublicIPs)

	// Free the kept one again: destroy its new machine keeping it.
	ips, err := w.svc.ListPublicIPs(ctx, a1, "")
	noErr(t, "ListPublicIPs", err)
	if len(ips) != 1 || ips[0].MachineID == nil {
		t.Fatalf("team one's IPs: %+v, want one attached", ips)
	}
	noErr(t, "destroy keeping the IP", w.svc.DestroyMachine(ctx, a1, *ips[0].MachineID, false))
	addr = ips[0].Address

	for _, tc := range []struct {
		who  string
		p    core.Principal
		code core.Code
	}{
		{"another team's admin", a2, core.NotFound},
		{"a member", m1, core.Forbidden},
	} {
		if _, err := w.svc.ReleasePublicIP(ctx, tc.p, addr); core.ErrorCode(err) != tc.code {
			t.Errorf("release by %s: %v, want %s", tc.who, err, tc.code)
		}
	}
	if _, err := w.svc.ReleasePublicIP(ctx, a1, "203.0.113.250"); !core.IsNotFound(err) {
		t.Errorf("release of an address nobody holds: %v, want NotFound", err)
	}
	ip, err := w.svc.ReleasePublicIP(ctx, a1, addr)
	noErr(t, "release by the team admin", err)
	if ip.Address != addr {
		t.Errorf("released %s, want %s", ip.Address, addr)
	}
	if _, err := w.svc.ReleasePublicIP(ctx, a1, addr); !core.IsNotFound(err) {
		t.Errorf("second release: %v, want NotFound", err)
	}
	ips, err = w.svc.ListPublicIPs(ctx, a1, "")
	noErr(t, "ListPublicIPs", err)
	if len(ips) != 0 {
		t.Fatalf("team one's IPs after the release: %+v, want none", ips)
	}
	// Released, the quota has room again.
	_, err = w.svc.UpdateMachine(ctx, a1, w2.ID, service.UpdateMachine{AssignPublicIP: ptr(true)})
	noErr(t, "assign after the release", err)
	// The operator may release any team's kept address.
	noErr(t, "destroy keeping the IP", w.svc.DestroyMachine(ctx, a1, w2.ID, false))
	ips, _ = w.svc.ListPublicIPs(ctx, w.op, one)
	if len(ips) != 1 {
		t.Fatalf("operator's list of team one: %+v", ips)
	}
	_, err = w.svc.ReleasePublicIP(ctx, w.op, ips[0].Address)
	noErr(t, "release by the operator", err)
}

func ptr[T any](v T) *T { return &v }

// BenchmarkCheckQuota measures what a write pays for its quota check: one write
// transaction that reads the team's overrides and TeamUsage, for a team with 100 machines
// (half of them running), 16 networks and 16 public IPs, on SQLite.
//
//	go test -run '^$' -bench CheckQuota ./internal/service
func BenchmarkCheckQuota(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "hangar.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	w := newQuotaWorld(b, db, "198.18.0.0/15", nil)
	for i := range 100 {
		c := machineReq(fmt.Sprint("m", i))
		c.AssignPublicIP = i < 16
		m := w.mustCreate("admin1", c)
		if i%2 == 0 {
			w.powerOff(m.ID)
		}
	}
	for i := range 16 {
		if _, err := w.svc.CreateTeamNetwork(ctx, w.ps["admin1"], service.NewTeamNetwork{Name: fmt.Sprint("n", i), Region: "East Coast (NY2)"}); err != nil {
			b.Fatal(err)
		}
	}
	team := w.teams["one"]
	for _, q := range core.Quotas() { // at its limits now: lift them, the counts are still read
		w.quota("one", q, core.Unlimited)
	}
	for _, tc := range []struct {
		name string
		qs   []core.Quota
	}{{"scripts", []core.Quota{core.QuotaScripts}}, {"machine create", []core.Quota{core.QuotaMachines, core.QuotaRunning}},
		{"every quota", core.Quotas()}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				err := db.Write(ctx, func(tx store.Tx) error { return w.env.CheckQuota(tx, team, tc.qs...) })
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("empty write", func(b *testing.B) {
		for b.Loop() {
			if err := db.Write(ctx, func(store.Tx) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
