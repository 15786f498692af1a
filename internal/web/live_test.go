package web

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"hangar/internal/core"
)

func TestListPagination(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	ada := w.signedIn("ada")
	unlimited := core.Unlimited // 120 machines: more than a team may have by default
	if _, err := w.svc.UpdateTeamQuotas(ctx, w.ps["operator"], w.ps["ada"].Team.ID, map[core.Quota]*int{
		core.QuotaMachines: &unlimited, core.QuotaRunning: &unlimited}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 120 {
		m := w.create("ada", "m"+strconv.Itoa(i), "")
		ids = append(ids, m.ID)
		// dtCreated has millisecond precision and ties are ordered by id: the next machine
		// gets a later millisecond, so that "newest first" is the order of ids.
		for time.Now().UnixMilli() <= m.Created.UnixMilli() {
			runtime.Gosched()
		}
	}
	first := must(t, ada.get(Prefix+"machines"), http.StatusOK)
	rows := rowID.FindAllStringSubmatch(first.body, -1)
	if len(rows) != pageSize || rows[0][1] != ids[119] {
		t.Fatalf("page 1: %d rows starting with %v, want %d newest first", len(rows), rows[0], pageSize)
	}
	if !strings.Contains(first.body, `href="/console/machines?page=2" rel="next"`) || strings.Contains(first.body, `rel="prev"`) {
		t.Error("page 1 links")
	}
	last := must(t, ada.get(Prefix+"machines?page=3"), http.StatusOK)
	if rows := rowID.FindAllStringSubmatch(last.body, -1); len(rows) != 20 || rows[19][1] != ids[0] || strings.Contains(last.body, `rel="next"`) {
		t.Errorf("page 3: %d rows", len(rows))
	}
	if all := listed(t, ada, ""); len(all) != 120 {
		t.Errorf("all pages list %d machines, want 120", len(all))
	}
	// Filters and search narrow the list; the page links keep them.
	w.setState(ids[5], core.StateOff)
	if got := listed(t, ada, "&state=off"); len(got) != 1 || got[0] != ids[5] {
		t.Errorf("state filter: %v", got)
	}
	if got := listed(t, ada, "&q=M11"); len(got) != 11 { // m11, m110…m119
		t.Errorf("search m11: %d machines, want 11", len(got))
	}
	if got := listed(t, ada, "&q="+ids[3]); len(got) != 1 || got[0] != ids[3] {
		t.Errorf("search by id: %v", got)
	}
	if got := listed(t, ada, "&q=nothing"); len(got) != 0 {
		t.Errorf("a search that matches nothing: %v", got)
	}
	d, _ := w.svc.GetMachine(ctx, w.ps["ada"], ids[7])
	if got := listed(t, ada, "&q="+url.QueryEscape(*d.Machine.PrivateIP)); len(got) != 1 || got[0] != ids[7] {
		t.Errorf("search by IP: %v", got)
	}
	pg := must(t, ada.get(Prefix+"machines?q=m&region="+url.QueryEscape("East Coast (NY2)")), http.StatusOK)
	if !strings.Contains(pg.body, "page=2&amp;q=m&amp;region=East&#43;Coast&#43;%28NY2%29") {
		t.Errorf("the next link drops the filters:\n%s", pg.body[strings.Index(pg.body, `class="pager"`):])
	}
	if got := listed(t, ada, "&region="+url.QueryEscape("Europe (AMS1)")); len(got) != 0 {
		t.Errorf("region filter: %v", got)
	}
}

func TestLiveList(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	ada, max := w.signedIn("ada"), w.signedIn("max")
	m := w.create("ada", "watched", "")
	s := ada.stream(Prefix + "machines/live")
	if ev := s.next(t); ev.name != "machine" || ev.data["id"] != m.ID || ev.data["state"] != "provisioning" {
		t.Fatalf("snapshot %v", ev)
	}
	ms := max.stream(Prefix + "machines/live")
	s.quiet(t, 100*time.Millisecond) // nothing happens while nothing changes

	// Another team's change reaches nobody here.
	w.create("rita", "rival", "")
	s.quiet(t, 200*time.Millisecond)

	// A change of the watched machine reaches the admin's stream with its new state.
	w.setState(m.ID, core.StateReady) // as the engine commits it
	if ev := s.next(t); ev.name != "machine" || ev.data["state"] != "ready" {
		t.Fatalf("after the change: %v", ev)
	}
	if err := w.svc.Power(ctx, w.ps["ada"], m.ID, core.ActionStop); err != nil {
		t.Fatal(err)
	}
	if ev := s.next(t); ev.data["state"] != "stopping" {
		t.Fatalf("after stop: %v", ev)
	}
	// A new machine is announced to the admin, but not to the member who cannot see it.
	n := w.create("ada", "new one", "")
	if ev := s.next(t); ev.name != "added" || ev.data["id"] != n.ID {
		t.Fatalf("after a create: %v", ev)
	}
	ms.quiet(t, 200*time.Millisecond)
	// Destroyed: the row is gone.
	must(t, ada.post(Prefix+"machines/"+m.ID+"/destroy", url.Values{"confirm": {"yes"}}), http.StatusSeeOther)
	if ev := s.next(t); ev.data["id"] != m.ID || ev.data["gone"] != true {
		t.Fatalf("after destroy: %v", ev)
	}
	// Signing out elsewhere ends the stream at its next change.
	ada2 := w.browser()
	ada2.c.Jar.SetCookies(mustURL(w.srv.URL+Prefix), []*http.Cookie{{Name: "hangar-session", Value: ada.session(), Path: Prefix}})
	must(t, ada2.post(Prefix+"signout", nil), http.StatusSeeOther)
	w.setState(n.ID, core.StateReady)
	if evs := s.ended(t); len(evs) != 1 || evs[0].name != "signedout" {
		t.Fatalf("after sign-out the stream sent %v, want signedout and its end", evs)
	}
	// Shutting the server down ends the others.
	w.web.CloseStreams()
	ms.ended(t)
	if w.hub.Subscribers() != 0 {
		t.Errorf("%d subscriptions left", w.hub.Subscribers())
	}
}

func TestLiveMachinePage(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	ada := w.signedIn("ada")
	m := w.create("ada", "box", "")
	other := w.create("ada", "other", "")
	s := ada.stream(Prefix + "machines/" + m.ID + "/live")
	ev := s.next(t)
	if ev.data["state"] != "provisioning" || len(ev.data["events"].([]any)) != 1 {
		t.Fatalf("snapshot %v", ev)
	}
	w.setState(other.ID, core.StateReady)
	s.quiet(t, 200*time.Millisecond) // another machine's change is not this page's
	name := "renamed"
	if _, err := w.svc.UpdateMachine(ctx, w.ps["ada"], m.ID, updateName(name)); err != nil {
		t.Fatal(err)
	}
	if ev := s.next(t); ev.data["name"] != name {
		t.Fatalf("after a rename: %v", ev)
	}
	if err := w.svc.DestroyMachine(ctx, w.ps["ada"], m.ID, false); err != nil {
		t.Fatal(err)
	}
	if evs := s.ended(t); len(evs) != 1 || evs[0].data["gone"] != true {
		t.Fatalf("after destroy: %v", evs)
	}
}

// fakeSerial serves one log file for every machine.
type fakeSerial struct{ path string }

func (f fakeSerial) SerialLog(core.Machine) (string, bool) { return f.path, true }

func TestSerialConsole(t *testing.T) {
	log := filepath.Join(t.TempDir(), "serial.log")
	if err := os.WriteFile(log, []byte("\x1b[1;32mBooting\x1b[0m kernel\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := setup(t, worldOpts{serial: fakeSerial{log}})
	ada := w.signedIn("ada")
	m := w.create("ada", "vm", "")
	if pg := must(t, ada.get(Prefix+"machines/"+m.ID), http.StatusOK); !strings.Contains(pg.body, `id="serial"`) {
		t.Fatal("no serial console on the machine page")
	}
	s := ada.stream(Prefix + "machines/" + m.ID + "/serial")
	if ev := s.next(t); ev.name != "serial" || ev.data["text"] != "Booting kernel\n" {
		t.Fatalf("first output %v", ev)
	}
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("login: <b>\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if ev := s.next(t); ev.data["text"] != "login: <b>\n" {
		t.Fatalf("appended output %v", ev)
	}
	// The log started over (a new boot).
	if err := os.WriteFile(log, []byte("again\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ev := s.next(t); ev.data["reset"] != true || ev.data["text"] != "again\n" {
		t.Fatalf("after truncation %v", ev)
	}
	// Without a serial driver there is no console.
	plain := setup(t)
	pm := plain.create("ada", "sim", "")
	b := plain.signedIn("ada")
	if pg := b.get(Prefix + "machines/" + pm.ID); strings.Contains(pg.body, `id="serial"`) {
		t.Error("a serial console without a serial driver")
	}
	must(t, b.get(Prefix+"machines/"+pm.ID+"/serial"), http.StatusNotFound)
}

func TestHomeSendsBrowsersToTheConsole(t *testing.T) {
	w := setup(t)
	b := w.browser()
	req, _ := http.NewRequest(http.MethodGet, w.srv.URL+"/", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if pg := b.do(req); pg.status != http.StatusSeeOther || pg.header.Get("Location") != Prefix {
		t.Errorf("a browser on /: %d %s", pg.status, pg.header.Get("Location"))
	}
	for _, accept := range []string{"", "application/json", "*/*"} {
		req, _ := http.NewRequest(http.MethodGet, w.srv.URL+"/", nil)
		req.Header.Set("Accept", accept)
		if pg := b.do(req); pg.status != http.StatusNotFound {
			t.Errorf("an API client (Accept %q) on /: %d, want what the API answers", accept, pg.status)
		}
	}
	req, _ = http.NewRequest(http.MethodGet, w.srv.URL+"/machines", nil)
	req.Header.Set("Accept", "text/html")
	if pg := b.do(req); pg.status != http.StatusNotFound {
		t.Errorf("a browser on another API path: %d", pg.status)
	}
	if pg := b.get(Prefix + "machines"); pg.status != http.StatusSeeOther || !strings.HasPrefix(pg.header.Get("Location"), Prefix+"signin?next=") {
		t.Errorf("signed out: %d %s", pg.status, pg.header.Get("Location"))
	}
}
