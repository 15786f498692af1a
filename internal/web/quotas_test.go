package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"hangar/internal/core"
	"hangar/internal/service"
)

// The quota page shows every member the team's limits and usage; admins see and release the
// static IPs the team keeps; the operator sets a team's overrides, which refuse creates at once.
func TestQuotaPages(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	acme := w.ps["ada"].Team.ID
	cm := service.CreateMachine{Region: "East Coast (NY2)", MachineType: "C2", BillingType: "hourly", Name: "kept",
		TemplateID: "tkni3aa4", Size: 50, AssignPublicIP: true}
	m, err := w.svc.CreateMachine(ctx, w.ps["ada"], cm)
	if err != nil {
		t.Fatal(err)
	}
	addr := *m.PublicIP
	if err := w.svc.DestroyMachine(ctx, w.ps["ada"], m.ID, false); err != nil {
		t.Fatal(err)
	}
	w.create("ada", "one", "")

	ada, max, rita, op := w.signedIn("ada"), w.signedIn("max"), w.signedIn("rita"), w.signedIn("operator")
	pg := must(t, max.get(Prefix+"quotas"), http.StatusOK)
	for _, want := range []string{`data-quota="machines"`, `data-quota="publicIps"`, "Quotas of Acme"} {
		if !strings.Contains(pg.body, want) {
			t.Errorf("a member's quota page lacks %s", want)
		}
	}
	if row := quotaRowOf(t, pg.body, "machines"); !strings.Contains(row, `data-field="used">1<`) || !strings.Contains(row, `>100<`) {
		t.Errorf("machines row %s, want 1 used of the default 100", row)
	}
	if row := quotaRowOf(t, pg.body, "publicIps"); !strings.Contains(row, `data-field="used">1<`) {
		t.Errorf("publicIps row %s, want the kept address counted", row)
	}
	if strings.Contains(pg.body, `id="public-ips"`) {
		t.Error("a member is shown the team's public IPs")
	}

	// A member and another team's admin cannot release the address; the team's admin can.
	must(t, max.post(Prefix+"publicips/"+addr+"/release", nil), http.StatusSeeOther)
	must(t, rita.post(Prefix+"publicips/"+addr+"/release", nil), http.StatusSeeOther)
	if ips, _ := w.svc.ListPublicIPs(ctx, w.ps["ada"], ""); len(ips) != 1 {
		t.Fatalf("after refused releases the team holds %v", ips)
	}
	if pg := rita.get(Prefix + "quotas"); !strings.Contains(pg.body, "public IP "+addr+" not found") {
		t.Errorf("another team's release is not answered as not found:\n%s", pg.body)
	}
	pg = must(t, ada.get(Prefix+"quotas"), http.StatusOK)
	if !strings.Contains(pg.body, `action="`+Prefix+"publicips/"+addr+`/release"`) {
		t.Fatalf("the admin is not offered the release of %s:\n%s", addr, pg.body)
	}
	must(t, ada.post(Prefix+"publicips/"+addr+"/release", nil), http.StatusSeeOther)
	if ips, _ := w.svc.ListPublicIPs(ctx, w.ps["ada"], ""); len(ips) != 0 {
		t.Errorf("after the release the team holds %v", ips)
	}
	pg = ada.get(Prefix + "quotas")
	if !strings.Contains(pg.body, "Public IP "+addr+" released.") || !strings.Contains(pg.body, "The team holds no public IPs.") {
		t.Errorf("after the release:\n%s", pg.body)
	}
	if es, _ := w.svc.ListAudit(ctx, w.ps["operator"], service.AuditFilter{Action: "publicIps.release"}); len(es) != 3 {
		t.Errorf("audit has %d publicIps.release entries, want 3 (two refused, one done)", len(es))
	}

	// Only the operator sees and sets a team's quotas.
	must(t, ada.get(Prefix+"teams/"+acme), http.StatusForbidden)
	must(t, ada.post(Prefix+"teams/"+acme+"/quotas", url.Values{"quota.machines": {"1000"}}), http.StatusSeeOther)
	pg = must(t, op.get(Prefix+"teams"), http.StatusOK)
	if !strings.Contains(pg.body, `href="`+Prefix+"teams/"+acme+`"`) || strings.Contains(pg.body, "no quotas") {
		t.Errorf("the teams page does not lead to the team's quotas:\n%s", pg.body)
	}
	must(t, op.get(Prefix+"teams/"+acme), http.StatusOK)
	must(t, op.post(Prefix+"teams/"+acme+"/quotas", url.Values{"quota.machines": {"1"}, "quota.scripts": {"unlimited"}}), http.StatusSeeOther)
	d, err := w.svc.GetTeam(ctx, w.ps["operator"], acme)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range d.Quotas {
		want := map[core.Quota]int{core.QuotaMachines: 1, core.QuotaScripts: core.Unlimited}
		if n, ok := want[q.Quota]; ok != q.Override || (ok && q.Limit != n) {
			t.Errorf("after the form %s is %d (override %v)", q.Quota, q.Limit, q.Override)
		}
	}
	if _, err := w.svc.CreateMachine(ctx, w.ps["ada"], cm); !errors.Is(err, core.ErrQuotaExceeded) {
		t.Errorf("a create over the new machines quota: %v", err)
	}
	row := quotaRowOf(t, ada.get(Prefix+"quotas").body, "machines")
	if !strings.Contains(row, `class="full"`) || !strings.Contains(row, "team override") {
		t.Errorf("the full, overridden quota shows as %s", row)
	}
	// Bad input is explained and changes nothing; blank returns a quota to the default.
	must(t, op.post(Prefix+"teams/"+acme+"/quotas", url.Values{"quota.machines": {"lots"}}), http.StatusSeeOther)
	if pg := op.get(Prefix + "teams/" + acme); !strings.Contains(pg.body, "quota machines: quota limit &#34;lots&#34; must be a count") {
		t.Errorf("the refused form:\n%s", pg.body)
	}
	must(t, op.post(Prefix+"teams/"+acme+"/quotas", url.Values{"quota.machines": {""}}), http.StatusSeeOther)
	d, _ = w.svc.GetTeam(ctx, w.ps["operator"], acme)
	for _, q := range d.Quotas {
		if q.Quota == core.QuotaMachines && (q.Override || q.Limit != 100) {
			t.Errorf("machines after blank: %d (override %v), want the default", q.Limit, q.Override)
		}
		if q.Quota == core.QuotaScripts && !q.Override {
			t.Error("a field not sent lost its override")
		}
	}
	must(t, op.get(Prefix+"teams/nosuch"), http.StatusNotFound)
}

// quotaRowOf is the table row of quota q in a page.
func quotaRowOf(t *testing.T, body, q string) string {
	t.Helper()
	i := strings.Index(body, `data-quota="`+q+`"`)
	if i < 0 {
		t.Fatalf("no row for quota %s", q)
	}
	end := strings.Index(body[i:], "</tr>")
	return body[i : i+end]
}
