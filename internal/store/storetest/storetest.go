package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

// Run runs the conformance suite. open must return a fresh, empty store for each call and
// close it with t.Cleanup; Run calls it once per subtest, from parallel subtests.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, *bundle)
	}{
		{"Teams", testTeams},
		{"TeamQuotas", testTeamQuotas},
		{"TeamUsage", testTeamUsage},
		{"Users", testUsers},
		{"APIKeys", testAPIKeys},
		{"AccessTokens", testAccessTokens},
		{"SSHKeys", testSSHKeys},
		{"Audit", testAudit},
		{"AuthGeneration", testAuthGeneration},
		{"Templates", testTemplates},
		{"Networks", testNetworks},
		{"Scripts", testScripts},
		{"MachineRoundTrip", testMachineRoundTrip},
		{"MachineDelete", testMachineDelete},
		{"MachineFilters", testMachineFilters},
		{"MachineVisibleTo", testMachineVisibleTo},
		{"MachineNameContains", testMachineNameContains},
		{"MachineOrder", testMachineOrder},
		{"Access", testAccess},
		{"Events", testEvents},
		{"Hosts", testHosts},
		{"HostUsage", testHostUsage},
		{"AgentHosts", testAgentHosts},
		{"JoinTokens", testJoinTokens},
		{"AgentOps", testAgentOps},
		{"HostMachines", testHostMachines},
		{"PrivateIPs", testPrivateIPs},
		{"PublicIPs", testPublicIPs},
		{"Idempotency", testIdempotency},
		{"Usage", testUsage},
		{"ListUsage", testListUsage},
		{"Leases", testLeases},
		{"NextDue", testNextDue},
		{"Gauges", testGauges},
		{"Snapshots", testSnapshots},
		{"Outbox", testOutbox},
		{"OutboxClaims", testOutboxClaims},
		{"WriteRollback", testWriteRollback},
		{"WriteIsolation", testWriteIsolation},
		{"WriteConflictIsolation", testWriteConflictIsolation},
		{"WriteSerialisable", testWriteSerialisable},
		{"ConcurrentHostUsage", testConcurrentHostUsage},
		{"ReadOnly", testReadOnly},
		{"ReadSnapshot", testReadSnapshot},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, setup(t, open))
		})
	}
}

// bundle is what every subtest gets: a fresh store and a context.
type bundle struct {
	s   store.Store
	ctx context.Context
}

func setup(t *testing.T, open func(t *testing.T) store.Store) *bundle {
	t.Helper()
	return &bundle{s: open(t), ctx: t.Context()}
}

// write runs fn in a Write that must succeed.
func (b *bundle) write(t *testing.T, fn func(store.Tx) error) {
	t.Helper()
	if err := b.s.Write(b.ctx, fn); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// read runs fn in a Read that must succeed.
func (b *bundle) read(t *testing.T, fn func(store.Tx) error) {
	t.Helper()
	if err := b.s.Read(b.ctx, fn); err != nil {
		t.Fatalf("Read: %v", err)
	}
}

// writeCode runs fn in a Write and checks the error code of its result.
func (b *bundle) writeCode(t *testing.T, want core.Code, fn func(store.Tx) error) {
	t.Helper()
	err := b.s.Write(b.ctx, fn)
	if got := core.ErrorCode(err); got != want {
		t.Fatalf("Write: error code %q (%v), want %q", got, err, want)
	}
}

// get returns fn's value, read in a Read that must succeed.
func get[T any](t *testing.T, b *bundle, fn func(store.Tx) (T, error)) T {
	t.Helper()
	var v T
	b.read(t, func(tx store.Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v
}

// getCode checks the error code fn returns in a Read.
func getCode[T any](t *testing.T, b *bundle, want core.Code, fn func(store.Tx) (T, error)) {
	t.Helper()
	err := b.s.Read(b.ctx, func(tx store.Tx) error {
		_, err := fn(tx)
		return err
	})
	if got := core.ErrorCode(err); got != want {
		t.Fatalf("Read: error code %q (%v), want %q", got, err, want)
	}
}

// equal fails the test unless got deep-equals want.
func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %s\n want %s", what, dump(got), dump(want))
	}
}

// dump renders v with pointers followed, for failure messages.
func dump(v any) string {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return "nil"
		}
		return "&" + dump(rv.Elem().Interface())
	case reflect.Struct:
		if tm, ok := v.(time.Time); ok {
			return tm.Format(time.RFC3339Nano)
		}
		s := rv.Type().Name() + "{"
		for i := range rv.NumField() {
			if !rv.Type().Field(i).IsExported() {
				continue
			}
			s += fmt.Sprintf("%s:%s ", rv.Type().Field(i).Name, dump(rv.Field(i).Interface()))
		}
		return s + "}"
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return fmt.Sprintf("%q", v)
		}
		s := "["
		for i := range rv.Len() {
			s += dump(rv.Index(i).Interface()) + " "
		}
		return s + "]"
	}
	return fmt.Sprintf("%v", v)
}

// errBoom is the error the suite's failing write functions return.
var errBoom = errors.New("storetest: boom")

// base is the suite's reference time: UTC, millisecond precision.
var base = time.Date(2026, 11, 27, 10, 0, 0, 123_000_000, time.UTC)

// at returns base plus min minutes.
func at(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }

func ptr[T any](v T) *T { return &v }

// Fixtures.

func newTeam(id string) core.Team {
	return core.Team{ID: id, Name: "Team " + id, Created: at(0)}
}

func newUser(id, teamID string) core.User {
	return core.User{ID: id, TeamID: teamID, Email: id + "@example.com", FirstName: "First " + id,
		LastName: "Last " + id, Role: core.RoleMember, PasswordHash: "$argon2id$" + id, Created: at(0)}
}

// seedAccounts creates team te1 with users u1 and u2, and team te2 with user u3.
func seedAccounts(t *testing.T, b *bundle) {
	t.Helper()
	b.write(t, func(tx store.Tx) error {
		for _, id := range []string{"te1", "te2"} {
			tm := newTeam(id)
			if err := tx.CreateTeam(&tm); err != nil {
				return err
			}
		}
		for _, u := range []core.User{newUser("u1", "te1"), newUser("u2", "te1"), newUser("u3", "te2")} {
			if err := tx.CreateUser(&u); err != nil {
				return err
			}
		}
		return nil
	})
}

// fullMachine is a machine with every optional field set.
func fullMachine(id, teamID, userID string, created time.Time) core.Machine {
	return core.Machine{
		ID: id, Name: "name-" + id, TeamID: teamID, UserID: userID, Region: "East Coast (NY2)",
		MachineType: "P4000", BillingType: "hourly", TemplateID: "tkni3aa4", SizeGB: 50,
		OS: ptr("Ubuntu 20.04 Server"), RAM: ptr(int64(32212254720)), CPUs: 8, GPU: ptr("Quadro P4000"),
		StorageTotal: ptr(int64(53687091200)), StorageUsed: ptr(int64(110080)), AgentType: "LinuxHeadless",
		ShutdownTimeoutInHours: ptr(24), ShutdownTimeoutForces: true, PerformAutoSnapshot: true,
		AutoSnapshotFrequency: ptr("daily"), AutoSnapshotSaveCount: ptr(3), DynamicPublicIP: true,
		IsManaged: true, UpdatesPending: true,
		NetworkID: ptr("n1"), PrivateIP: ptr("10.64.21.5"), PublicIP: ptr("203.0.113.5"), ScriptID: ptr("sc1"),
		LastRun: ptr(at(5)), NotificationMail: ptr("notify@example.com"),
		TakeInitialSnapshot: true, RestorePointSnapshotID: ptr("snap1"), RestorePointFrequency: ptr("shutdown"),
		State: core.StateReady, HostID: "h1", HoldsCapacity: true, Booted: true,
		OpEvent: "ev-" + id, PhaseSince: at(3), NextAt: ptr(at(10)), Attempts: 2, Created: created,
		MarkRestorePoint: true, ShutdownAt: ptr(at(30)), SnapshotAt: ptr(at(40)),
	}
}

// bareMachine is a machine with every optional field nil and every flag false.
func bareMachine(id, teamID, userID string, created time.Time) core.Machine {
	return core.Machine{
		ID: id, Name: "bare-" + id, TeamID: teamID, UserID: userID, Region: "Europe (AMS1)",
		MachineType: "C2", BillingType: "monthly", TemplateID: "t04azgph", SizeGB: 100, CPUs: 1,
		AgentType: "LinuxDesktop", State: core.StateOff, Created: created,
	}
}

// createMachines creates ms in one Write and returns them with InternalID set.
func createMachines(t *testing.T, b *bundle, ms ...core.Machine) []core.Machine {
	t.Helper()
	b.write(t, func(tx store.Tx) error {
		for i := range ms {
			if err := tx.CreateMachine(&ms[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return ms
}

// machineIDs returns the ids of ms in order.
func machineIDs(ms []core.Machine) []string {
	ids := []string{}
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

// listIDs runs ListMachines and returns the ids.
func listIDs(t *testing.T, b *bundle, q core.MachineQuery) []string {
	t.Helper()
	return machineIDs(get(t, b, func(tx store.Tx) ([]core.Machine, error) { return tx.ListMachines(q) }))
}
