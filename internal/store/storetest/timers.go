package storetest

import (
	"strconv"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

func testSnapshots(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	createMachines(t, b, bareMachine("ps1", "te1", "u1", at(0)), bareMachine("ps2", "te1", "u1", at(0)))
	list := func(id string) []core.Snapshot {
		t.Helper()
		return get(t, b, func(tx store.Tx) ([]core.Snapshot, error) { return tx.ListSnapshots(id) })
	}
	equal(t, "ListSnapshots of a machine without any", len(list("ps1")), 0)
	s1 := core.Snapshot{ID: "s1", MachineID: "ps1", Kind: core.SnapshotInitial, Created: at(1)}
	s2 := core.Snapshot{ID: "s2", MachineID: "ps1", Kind: core.SnapshotAuto, Created: at(3)}
	s3 := core.Snapshot{ID: "s0", MachineID: "ps1", Kind: core.SnapshotAuto, Created: at(3)} // same time: by id
	s4 := core.Snapshot{ID: "s4", MachineID: "ps2", Kind: core.SnapshotAuto, Created: at(2)}
	b.write(t, func(tx store.Tx) error {
		for _, s := range []*core.Snapshot{&s2, &s1, &s3, &s4} {
			if err := tx.CreateSnapshot(s); err != nil {
				return err
			}
		}
		return nil
	})
	equal(t, "ListSnapshots", list("ps1"), []core.Snapshot{s1, s3, s2})
	dup := core.Snapshot{ID: "s1", MachineID: "ps2", Kind: core.SnapshotAuto, Created: at(5)}
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateSnapshot(&dup) })

	b.write(t, func(tx store.Tx) error { return tx.PruneSnapshot("s0") })
	s3.Pruned = true
	equal(t, "ListSnapshots after PruneSnapshot", list("ps1"), []core.Snapshot{s1, s3, s2})
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.PruneSnapshot("nope") })

	b.write(t, func(tx store.Tx) error { return tx.DeleteSnapshot("s0") })
	equal(t, "ListSnapshots after DeleteSnapshot", list("ps1"), []core.Snapshot{s1, s2})
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.DeleteSnapshot("s0") })

	// Destroying a machine removes its snapshot records, and only its.
	b.write(t, func(tx store.Tx) error { return tx.DeleteMachine("ps1", at(9)) })
	equal(t, "ListSnapshots of a destroyed machine", len(list("ps1")), 0)
	equal(t, "ListSnapshots of another machine", list("ps2"), []core.Snapshot{s4})
}

func testOutbox(t *testing.T, b *bundle) {
	m1 := core.Mail{ID: "m1", MachineID: "ps1", To: "a@example.com", Subject: "ready", Body: "body\nline 2",
		Created: at(1), NextAt: ptr(at(1))}
	m2 := core.Mail{ID: "m2", MachineID: "ps1", To: "b@example.com", Subject: "failed", Body: "x",
		Created: at(2), Attempts: 3, NextAt: nil, Sent: ptr(at(4)), LastError: "451 try later"}
	m3 := core.Mail{ID: "m3", MachineID: "ps2", To: "c@example.com", Subject: "s", Body: "b", Created: at(0),
		NextAt: ptr(at(0))}
	b.write(t, func(tx store.Tx) error {
		for _, m := range []*core.Mail{&m2, &m1, &m3} {
			if err := tx.CreateMail(m); err != nil {
				return err
			}
		}
		return nil
	})
	listMail := func(id string) []core.Mail {
		t.Helper()
		return get(t, b, func(tx store.Tx) ([]core.Mail, error) { return tx.ListMail(id) })
	}
	equal(t, "ListMail", listMail("ps1"), []core.Mail{m1, m2})
	dup := m1
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateMail(&dup) })
	equal(t, "NextMailDue", get(t, b, func(tx store.Tx) (*time.Time, error) { return tx.NextMailDue() }), ptr(at(0)))

	// A message is finished only by the owner of its lease.
	var claimed []core.Mail
	b.write(t, func(tx store.Tx) (err error) { claimed, err = tx.ClaimMail(at(5), "a", at(6), 10); return })
	equal(t, "ClaimMail", claimed, []core.Mail{m3, m1})
	done := m1
	done.Attempts, done.NextAt, done.Sent = 1, nil, ptr(at(5))
	var ok bool
	b.write(t, func(tx store.Tx) (err error) { ok, err = tx.FinishMailAttempt(&done, "b"); return })
	equal(t, "FinishMailAttempt by another owner", ok, false)
	equal(t, "ListMail after a foreign finish", listMail("ps1"), []core.Mail{m1, m2})
	b.write(t, func(tx store.Tx) (err error) { ok, err = tx.FinishMailAttempt(&done, "a"); return })
	equal(t, "FinishMailAttempt by the lease owner", ok, true)
	equal(t, "ListMail after finishing", listMail("ps1"), []core.Mail{done, m2})
	b.write(t, func(tx store.Tx) (err error) { ok, err = tx.FinishMailAttempt(&done, "a"); return })
	equal(t, "FinishMailAttempt twice", ok, false)
	missing := core.Mail{ID: "nope"}
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { _, err := tx.FinishMailAttempt(&missing, "a"); return err })

	// m3's lease (until at(6)) hides it until it expires; a retry time reschedules it.
	b.write(t, func(tx store.Tx) (err error) { claimed, err = tx.ClaimMail(at(5), "c", at(9), 10); return })
	equal(t, "ClaimMail while leased", len(claimed), 0)
	retry := m3
	retry.Attempts, retry.NextAt, retry.LastError = 1, ptr(at(20)), "connection refused"
	b.write(t, func(tx store.Tx) (err error) { ok, err = tx.FinishMailAttempt(&retry, "a"); return })
	equal(t, "NextMailDue after a retry", get(t, b, func(tx store.Tx) (*time.Time, error) { return tx.NextMailDue() }), ptr(at(20)))
	b.write(t, func(tx store.Tx) (err error) { claimed, err = tx.ClaimMail(at(19), "c", at(30), 10); return })
	equal(t, "ClaimMail before the retry time", len(claimed), 0)
	b.write(t, func(tx store.Tx) (err error) { claimed, err = tx.ClaimMail(at(20), "c", at(30), 10); return })
	equal(t, "ClaimMail at the retry time", claimed, []core.Mail{retry})
	b.write(t, func(tx store.Tx) (err error) { claimed, err = tx.ClaimMail(at(31), "d", at(40), 10); return })
	equal(t, "ClaimMail after the lease expired", claimed, []core.Mail{retry})
}

// testOutboxClaims checks that concurrent claimers never lease one message twice.
func testOutboxClaims(t *testing.T, b *bundle) {
	const n = 40
	b.write(t, func(tx store.Tx) error {
		for i := range n {
			m := core.Mail{ID: "m" + itoa(i), MachineID: "ps1", To: "a@example.com", Subject: "s", Body: "b",
				Created: at(0), NextAt: ptr(at(i % 5))}
			if err := tx.CreateMail(&m); err != nil {
				return err
			}
		}
		return nil
	})
	got := make(chan []string, 4)
	for w := range 4 {
		go func() {
			var mine []string
			for {
				var c []core.Mail
				err := b.s.Write(b.ctx, func(tx store.Tx) (err error) {
					c, err = tx.ClaimMail(at(10), "w"+itoa(w), at(60), 3)
					return
				})
				if err != nil {
					t.Errorf("ClaimMail: %v", err)
				}
				if err != nil || len(c) == 0 {
					got <- mine
					return
				}
				for _, m := range c {
					mine = append(mine, m.ID)
				}
			}
		}()
	}
	seen := map[string]int{}
	for range 4 {
		for _, id := range <-got {
			seen[id]++
		}
	}
	if len(seen) != n {
		t.Fatalf("claimed %d distinct messages, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("message %s claimed %d times", id, c)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
