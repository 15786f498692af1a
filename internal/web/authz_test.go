package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"hangar/internal/core"
	"hangar/internal/service"
)

func serviceAudit(action string) service.AuditFilter { return service.AuditFilter{Action: action} }

func mustKeys(t *testing.T, w *world, name string) []core.APIKey {
	t.Helper()
	ks, err := w.svc.ListKeys(context.Background(), w.ps["operator"], w.ps[name].User.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

var rowID = regexp.MustCompile(`<tr data-id="([^"]+)"`)

// listed returns the machine ids of every page of the console's list.
func listed(t *testing.T, b *browser, query string) []string {
	t.Helper()
	var ids []string
	for page := 1; ; page++ {
		pg := must(t, b.get(Prefix+"machines?page="+strconv.Itoa(page)+query), http.StatusOK)
		for _, m := range rowID.FindAllStringSubmatch(pg.body, -1) {
			ids = append(ids, m[1])
		}
		if !strings.Contains(pg.body, `rel="next"`) {
			return ids
		}
	}
}

func TestListShowsWhatTheAPIShows(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	w.create("ada", "ada's", "")
	w.create("ada", "max's", "max")
	shared := w.create("ada", "shared with mia", "")
	w.create("rita", "rival's", "")
	if _, err := w.svc.SetAccess(ctx, w.ps["ada"], shared.ID, w.ps["mia"].User.ID, true); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ada", "max", "mia", "rita", "operator"} {
		api, err := w.svc.ListMachines(ctx, w.ps[name], service.ListQuery{Order: "dtCreated DESC"})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, m := range api {
			want = append(want, m.ID)
		}
		if got := listed(t, w.signedIn(name), ""); !slices.Equal(got, want) {
			t.Errorf("%s: console lists %v, the API %v", name, got, want)
		}
	}
}

func TestMachinePagesFollowTheAPIsRules(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	ada, max := w.signedIn("ada"), w.signedIn("max")
	mine := w.create("ada", "ada's", "")
	maxs := w.create("ada", "max's", "max")
	rival := w.create("rita", "rival's", "")

	// Another team's machine is not found, whatever is asked of it.
	for _, b := range []*browser{ada, max} {
		for _, path := range []string{"", "/live", "/serial"} {
			if pg := b.get(Prefix + "machines/" + rival.ID + path); pg.status != http.StatusNotFound {
				t.Errorf("GET another team's machine%s: %d, want 404", path, pg.status)
			}
		}
		for _, action := range []string{"start", "stop", "restart", "rename", "settings", "publicip", "access", "destroy"} {
			pg := b.post(Prefix+"machines/"+rival.ID+"/"+action, url.Values{"confirm": {"yes"}, "machineName": {"x"}, "publicIp": {"static"}})
			if pg.status != http.StatusNotFound {
				t.Errorf("POST %s on another team's machine: %d, want 404", action, pg.status)
			}
		}
	}
	if _, err := w.svc.GetMachine(ctx, w.ps["rita"], rival.ID); err != nil {
		t.Fatalf("the rival's machine after the attempts: %v", err)
	}
	// A member does not see a teammate's machine until granted access, then may power it but
	// not destroy it or manage access; the owner member renames their own.
	must(t, max.get(Prefix+"machines/"+mine.ID), http.StatusNotFound)
	must(t, ada.post(Prefix+"machines/"+mine.ID+"/access", url.Values{"userId": {w.ps["max"].User.ID}, "enable": {"yes"}}), http.StatusSeeOther)
	pg := must(t, max.get(Prefix+"machines/"+mine.ID), http.StatusOK)
	if strings.Contains(pg.body, `id="destroy"`) || strings.Contains(pg.body, `id="access"`) || strings.Contains(pg.body, `id="rename"`) {
		t.Error("a member with access is offered destroy, access or rename")
	}
	must(t, max.post(Prefix+"machines/"+mine.ID+"/destroy", url.Values{"confirm": {"yes"}}), http.StatusSeeOther)
	if _, err := w.svc.GetMachine(ctx, w.ps["ada"], mine.ID); err != nil {
		t.Fatalf("a member destroyed a machine: %v", err)
	}
	if pg := max.get(Prefix + "machines/" + mine.ID); !strings.Contains(pg.body, "Only the team administrator can destroy machines") {
		t.Error("the refused destroy is not explained")
	}
	must(t, max.post(Prefix+"machines/"+mine.ID+"/rename", url.Values{"machineName": {"taken"}}), http.StatusSeeOther)
	if d, _ := w.svc.GetMachine(ctx, w.ps["ada"], mine.ID); d.Machine.Name != "ada's" {
		t.Errorf("a member with access renamed the machine to %q", d.Machine.Name)
	}
	must(t, max.post(Prefix+"machines/"+maxs.ID+"/rename", url.Values{"machineName": {"mine now"}}), http.StatusSeeOther)
	if d, _ := w.svc.GetMachine(ctx, w.ps["ada"], maxs.ID); d.Machine.Name != "mine now" {
		t.Errorf("the owner's rename: %q", d.Machine.Name)
	}
	// Members cannot create; nobody but the operator reaches the operator pages.
	must(t, max.get(Prefix+"machines/new"), http.StatusForbidden)
	must(t, max.post(Prefix+"machines", url.Values{"machineName": {"x"}, "region": {"East Coast (NY2)"}, "machineType": {"C2"},
		"billingType": {"hourly"}, "templateId": {"tkni3aa4"}, "size": {"50"}}), http.StatusForbidden)
	for _, path := range []string{"hosts", "teams", "usage", "audit"} {
		for name, b := range map[string]*browser{"ada": ada, "max": max} {
			if pg := b.get(Prefix + path); pg.status != http.StatusForbidden {
				t.Errorf("%s GET %s: %d, want 403", name, path, pg.status)
			}
		}
	}
	must(t, ada.post(Prefix+"teams", url.Values{"name": {"sneaky"}}), http.StatusSeeOther)
	if ts, _ := w.svc.ListTeams(ctx, w.ps["operator"]); len(ts) != 3 {
		t.Errorf("a team admin created a team: %d teams", len(ts))
	}
	op := w.signedIn("operator")
	for _, path := range []string{"hosts", "teams", "usage", "audit", "users"} {
		must(t, op.get(Prefix+path), http.StatusOK)
	}
}

func TestCreateMachineForm(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	ada := w.signedIn("ada")
	pg := must(t, ada.get(Prefix+"machines/new"), http.StatusOK)
	idem := regexp.MustCompile(`name="idem" value="([^"]+)"`).FindStringSubmatch(pg.body)[1]
	form := url.Values{"machineName": {"built"}, "region": {"Europe (AMS1)"}, "machineType": {"C5"}, "billingType": {"monthly"},
		"templateId": {"tkni3aa4"}, "size": {"100"}, "publicIp": {"dynamic"}, "user": {"new"}, "email": {"neo@acme.test"},
		"password": {"long enough pw"}, "firstName": {"Neo"}, "lastName": {"A"}, "startOnCreate": {"on"}, "idem": {idem}}
	res := must(t, ada.post(Prefix+"machines", form), http.StatusSeeOther)
	id := strings.TrimPrefix(res.header.Get("Location"), Prefix+"machines/")
	d, err := w.svc.GetMachine(ctx, w.ps["ada"], id)
	if err != nil {
		t.Fatal(err)
	}
	m := d.Machine
	if m.Name != "built" || m.Region != "Europe (AMS1)" || m.MachineType != "C5" || m.BillingType != "monthly" || m.SizeGB != 100 || !m.DynamicPublicIP {
		t.Errorf("created %+v", m)
	}
	users, _ := w.svc.ListUsers(ctx, w.ps["ada"])
	if i := slices.IndexFunc(users, func(u core.User) bool { return u.Email == "neo@acme.test" }); i < 0 || users[i].ID != m.UserID {
		t.Errorf("the machine is not the new user's: %v", m.UserID)
	}
	// The same form sent again (a double click) is the same machine.
	res = must(t, ada.post(Prefix+"machines", form), http.StatusSeeOther)
	if res.header.Get("Location") != Prefix+"machines/"+id {
		t.Errorf("a resubmitted form made %s", res.header.Get("Location"))
	}
	// Bad input shows the form again with the service's message and the values kept.
	bad := url.Values{"machineName": {"kept name"}, "region": {"East Coast (NY2)"}, "machineType": {"Air"}, "billingType": {"hourly"},
		"templateId": {"tkni3aa4"}, "size": {"50"}, "user": {"self"}}
	pg = must(t, ada.post(Prefix+"machines", bad), http.StatusBadRequest)
	if !strings.Contains(pg.body, "Linux templates cannot be used with machine type Air") || !strings.Contains(pg.body, `value="kept name"`) {
		t.Errorf("the refused create:\n%s", pg.body)
	}
}
