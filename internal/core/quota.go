package core

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Quota names one per-team limit. The spellings are part of the operator API and of the
// `--quota NAME=N` flags.
type Quota string

// The quotas of a team.
const (
	// QuotaMachines counts the team's live machines, in any state.
	QuotaMachines Quota = "machines"
	// QuotaRunning counts the team's machines that are not off (provisioning, starting,
	// ready, …): each holds a slot on a host.
	QuotaRunning Quota = "running"
	// QuotaNetworks counts the team's live private networks.
	QuotaNetworks Quota = "networks"
	// QuotaPublicIPs counts the public addresses the team holds: static ones attached to a
	// machine or kept after a destroy, and dynamic ones attached to a running machine.
	QuotaPublicIPs Quota = "publicIps"
	// QuotaScripts counts the team's startup scripts.
	QuotaScripts Quota = "scripts"
	// QuotaSnapshots counts the snapshots (not yet pruned) of the team's live machines.
	QuotaSnapshots Quota = "snapshots"
)

// Unlimited is the limit that allows any number.
const Unlimited = -1

// Quotas returns every quota in display order.
func Quotas() []Quota {
	return []Quota{QuotaMachines, QuotaRunning, QuotaNetworks, QuotaPublicIPs, QuotaScripts, QuotaSnapshots}
}

// Valid reports whether q is a known quota.
func (q Quota) Valid() bool {
	for _, v := range Quotas() {
		if q == v {
			return true
		}
	}
	return false
}

// QuotaLimits maps quotas to limits (Unlimited or a count ≥ 0).
type QuotaLimits map[Quota]int

// DefaultQuotas returns the built-in defaults: more than a normal team uses, far less than
// the shared pools hold (4,096 managed /24s; a public pool of a few hundred addresses).
func DefaultQuotas() QuotaLimits {
	return QuotaLimits{QuotaMachines: 100, QuotaRunning: 50, QuotaNetworks: 16, QuotaPublicIPs: 16,
		QuotaScripts: 100, QuotaSnapshots: 200}
}

// QuotaNames returns the quota names joined for error messages.
func QuotaNames() string {
	names := make([]string, 0, len(Quotas()))
	for _, q := range Quotas() {
		names = append(names, string(q))
	}
	return strings.Join(names, ", ")
}

// ParseQuotaLimit parses a limit: a count ≥ 0, or -1 or "unlimited" for no limit.
func ParseQuotaLimit(s string) (int, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "unlimited") {
		return Unlimited, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < Unlimited || n > 1_000_000_000 {
		return 0, Errorf(Invalid, "quota limit %q must be a count from 0 to 1000000000, or -1 or unlimited for no limit", s)
	}
	return n, nil
}

// ParseQuotaSetting parses NAME=N (N as ParseQuotaLimit reads it) into the quota and its limit.
func ParseQuotaSetting(s string) (Quota, int, error) {
	name, val, ok := strings.Cut(s, "=")
	q := Quota(strings.TrimSpace(name))
	if !ok {
		return "", 0, Errorf(Invalid, "quota %q must be NAME=N, e.g. networks=16", s)
	}
	if !q.Valid() {
		return "", 0, Errorf(Invalid, "unknown quota %q; quotas are %s", name, QuotaNames())
	}
	n, err := ParseQuotaLimit(val)
	if err != nil {
		return "", 0, Errorf(Invalid, "quota %s: %s", q, ErrorMessage(err))
	}
	return q, n, nil
}

// QuotaExceeded is the Invalid error of a team that may have at most limit of q.
func QuotaExceeded(teamID string, q Quota, limit int) error {
	what := string(q)
	switch q {
	case QuotaRunning:
		what = "running machines"
	case QuotaPublicIPs:
		what = "public IPs"
	}
	return Wrap(Invalid, ErrQuotaExceeded,
		fmt.Sprintf("quota exceeded: team %s may have at most %d %s (quota %q)", teamID, limit, what, string(q)))
}

// ErrQuotaExceeded is the cause of every QuotaExceeded error (errors.Is).
var ErrQuotaExceeded = errors.New("over quota")
