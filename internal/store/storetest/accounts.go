package storetest

import (
	"strings"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

func testTeams(t *testing.T, b *bundle) {
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Team, error) { return tx.GetTeam("nope") })
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Team, error) { return tx.GetTeamByNum(12345) })
	equal(t, "empty ListTeams", len(get(t, b, func(tx store.Tx) ([]core.Team, error) { return tx.ListTeams() })), 0)

	// A non-UTC zone must come back as the same instant in UTC.
	ny := time.FixedZone("EST", -5*3600)
	teams := []core.Team{
		{ID: "teb", Name: "B", Individual: true, Created: at(1).In(ny)},
		{ID: "tea", Name: "A", Created: at(0)},
	}
	b.write(t, func(tx store.Tx) error {
		for i := range teams {
			if err := tx.CreateTeam(&teams[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if teams[0].Num <= 0 || teams[1].Num <= teams[0].Num {
		t.Fatalf("CreateTeam numbers: %d, %d; want positive and increasing", teams[0].Num, teams[1].Num)
	}
	teams[0].Created = at(1)
	for _, want := range teams {
		got := get(t, b, func(tx store.Tx) (core.Team, error) { return tx.GetTeam(want.ID) })
		equal(t, "GetTeam", got, want)
		if got.Created.Location() != time.UTC {
			t.Errorf("GetTeam: Created in %v, want UTC", got.Created.Location())
		}
		equal(t, "GetTeamByNum", get(t, b, func(tx store.Tx) (core.Team, error) { return tx.GetTeamByNum(want.Num) }), want)
	}
	equal(t, "ListTeams (by Num)", get(t, b, func(tx store.Tx) ([]core.Team, error) { return tx.ListTeams() }), teams)

	dup := core.Team{ID: "tea", Name: "again", Created: at(2)}
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateTeam(&dup) })
}

func testUsers(t *testing.T, b *bundle) {
	b.write(t, func(tx store.Tx) error {
		for _, id := range []string{"te1", "te2"} {
			tm := newTeam(id)
			if err := tx.CreateTeam(&tm); err != nil {
				return err
			}
		}
		return nil
	})
	u1 := newUser("u1", "te1")
	u1.Email, u1.Role, u1.Created = "Alice.Smith@Example.COM", core.RoleAdmin, at(2)
	u2 := newUser("u2", "te1")
	u2.PasswordHash, u2.Created = "", at(1)
	u3 := newUser("u3", "te2")
	u0 := newUser("u0", "te1") // same Created as u2: the tie is broken by id
	u0.Created = at(1)
	users := []core.User{u1, u2, u3, u0}
	b.write(t, func(tx store.Tx) error {
		for i := range users {
			if err := tx.CreateUser(&users[i]); err != nil {
				return err
			}
		}
		return nil
	})
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.User, error) { return tx.GetUser("nope") })
	byEmail := func(email string) []core.User {
		return get(t, b, func(tx store.Tx) ([]core.User, error) { return tx.ListUsersByEmail(email) })
	}
	equal(t, "ListUsersByEmail(nobody)", len(byEmail("nobody@example.com")), 0)
	for _, want := range users {
		equal(t, "GetUser", get(t, b, func(tx store.Tx) (core.User, error) { return tx.GetUser(want.ID) }), want)
	}
	for _, email := range []string{"alice.smith@example.com", "ALICE.SMITH@EXAMPLE.COM", u1.Email} {
		equal(t, "ListUsersByEmail "+email, byEmail(email), []core.User{u1})
	}

	equal(t, "ListUsers(te1)", get(t, b, func(tx store.Tx) ([]core.User, error) { return tx.ListUsers("te1") }),
		[]core.User{u0, u2, u1})
	equal(t, "ListUsers(all)", get(t, b, func(tx store.Tx) ([]core.User, error) { return tx.ListUsers("") }),
		[]core.User{u3, u0, u2, u1})
	equal(t, "ListUsers(unknown)", len(get(t, b, func(tx store.Tx) ([]core.User, error) { return tx.ListUsers("te9") })), 0)

	dupID := newUser("u1", "te1")
	dupID.Email = "other@example.com"
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateUser(&dupID) })
	// An email is unique within its team, case-insensitively; another team may have it too.
	sameTeam := newUser("u8", "te1")
	sameTeam.Email = strings.ToUpper(u1.Email)
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateUser(&sameTeam) })
	otherTeam := newUser("u9", "te2")
	otherTeam.Email, otherTeam.Created = strings.ToUpper(u1.Email), at(5)
	b.write(t, func(tx store.Tx) error { return tx.CreateUser(&otherTeam) })
	equal(t, "ListUsersByEmail in two teams", byEmail(u1.Email), []core.User{u1, otherTeam})

	// UpdateUser writes every field.
	upd := core.User{ID: "u2", TeamID: "te2", Email: "New@Example.com", FirstName: "N", LastName: "M",
		Role: core.RoleOperator, PasswordHash: "$argon2id$new", Disabled: true, Created: at(9)}
	b.write(t, func(tx store.Tx) error { return tx.UpdateUser(&upd) })
	equal(t, "GetUser after UpdateUser", get(t, b, func(tx store.Tx) (core.User, error) { return tx.GetUser("u2") }), upd)
	equal(t, "ListUsersByEmail after UpdateUser", byEmail("new@example.com"), []core.User{upd})
	equal(t, "ListUsersByEmail(old email) after UpdateUser", len(byEmail(u2.Email)), 0)
	clash := upd // in te2, which has otherTeam's email
	clash.Email = "alice.smith@example.com"
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.UpdateUser(&clash) })
	clash.TeamID, clash.Email = "te1", "new@example.com" // moving a user to a team checks there
	b.write(t, func(tx store.Tx) error { return tx.UpdateUser(&clash) })
	clash.Email = "ALICE.smith@example.com"
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.UpdateUser(&clash) })
	missing := newUser("nope", "te1")
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.UpdateUser(&missing) })
}

func testAPIKeys(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	k1 := core.APIKey{ID: "k1", UserID: "u1", Name: "laptop", Kind: core.KindAPIToken, Prefix: "abc", Hash: "h1", Created: at(2)}
	k2 := core.APIKey{ID: "k2", UserID: "u1", Name: "ci", Kind: core.KindSession, Prefix: "def", Hash: "h2", Created: at(1),
		LastUsed: ptr(at(3)), Revoked: ptr(at(4))}
	k3 := core.APIKey{ID: "k3", UserID: "u2", Name: "", Prefix: "ghi", Hash: "h3", Created: at(1)}
	keys := []core.APIKey{k1, k2, k3}
	b.write(t, func(tx store.Tx) error {
		for i := range keys {
			if err := tx.CreateAPIKey(&keys[i]); err != nil {
				return err
			}
		}
		return nil
	})
	equal(t, "CreateAPIKey without a kind", keys[2].Kind, core.KindKey)
	k3.Kind = core.KindKey
	for _, want := range keys {
		equal(t, "GetAPIKey", get(t, b, func(tx store.Tx) (core.APIKey, error) { return tx.GetAPIKey(want.ID) }), want)
		equal(t, "GetAPIKeyByHash",
			get(t, b, func(tx store.Tx) (core.APIKey, error) { return tx.GetAPIKeyByHash(want.Hash) }), want)
	}
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.APIKey, error) { return tx.GetAPIKey("nope") })
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.APIKey, error) { return tx.GetAPIKeyByHash("nope") })
	equal(t, "ListAPIKeys(u1)", get(t, b, func(tx store.Tx) ([]core.APIKey, error) { return tx.ListAPIKeys("u1") }),
		[]core.APIKey{k2, k1})
	equal(t, "ListAPIKeys(all)", get(t, b, func(tx store.Tx) ([]core.APIKey, error) { return tx.ListAPIKeys("") }),
		[]core.APIKey{k2, k3, k1})

	dupID := core.APIKey{ID: "k1", UserID: "u1", Hash: "h9", Created: at(0)}
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateAPIKey(&dupID) })
	dupHash := core.APIKey{ID: "k9", UserID: "u1", Hash: "h2", Created: at(0)}
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateAPIKey(&dupHash) })

	// UpdateAPIKey writes LastUsed and Revoked, both ways, and nothing else.
	u1 := k1
	u1.LastUsed, u1.Revoked, u1.Name = ptr(at(7)), ptr(at(8)), "ignored"
	u2 := k2
	u2.LastUsed, u2.Revoked = nil, nil
	b.write(t, func(tx store.Tx) error {
		if err := tx.UpdateAPIKey(&u1); err != nil {
			return err
		}
		return tx.UpdateAPIKey(&u2)
	})
	want1 := k1
	want1.LastUsed, want1.Revoked = ptr(at(7)), ptr(at(8))
	equal(t, "GetAPIKey after update", get(t, b, func(tx store.Tx) (core.APIKey, error) { return tx.GetAPIKey("k1") }), want1)
	equal(t, "GetAPIKey after clearing", get(t, b, func(tx store.Tx) (core.APIKey, error) { return tx.GetAPIKey("k2") }), u2)
	missing := core.APIKey{ID: "nope"}
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.UpdateAPIKey(&missing) })
}

func testAccessTokens(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	tok := core.AccessToken{ID: "lt1", Hash: "th1", UserID: "u1", Created: at(1), Expires: at(60 * 24 * 14)}
	tok2 := core.AccessToken{ID: "lt2", Hash: "th2", UserID: "u2", Created: at(1), Expires: at(3), Revoked: ptr(at(2))}
	tok0 := core.AccessToken{ID: "lt0", Hash: "th0", UserID: "u1", Created: at(1), Expires: at(3)} // same Created: by id
	b.write(t, func(tx store.Tx) error {
		for _, a := range []*core.AccessToken{&tok, &tok2, &tok0} {
			if err := tx.CreateAccessToken(a); err != nil {
				return err
			}
		}
		return nil
	})
	equal(t, "GetAccessToken", get(t, b, func(tx store.Tx) (core.AccessToken, error) { return tx.GetAccessToken("th1") }), tok)
	equal(t, "GetAccessToken revoked", get(t, b, func(tx store.Tx) (core.AccessToken, error) { return tx.GetAccessToken("th2") }), tok2)
	equal(t, "GetAccessTokenByID", get(t, b, func(tx store.Tx) (core.AccessToken, error) { return tx.GetAccessTokenByID("lt1") }), tok)
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.AccessToken, error) { return tx.GetAccessToken("nope") })
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.AccessToken, error) { return tx.GetAccessTokenByID("nope") })
	equal(t, "ListAccessTokens(u1)", get(t, b, func(tx store.Tx) ([]core.AccessToken, error) { return tx.ListAccessTokens("u1") }),
		[]core.AccessToken{tok0, tok})
	equal(t, "ListAccessTokens(all)", get(t, b, func(tx store.Tx) ([]core.AccessToken, error) { return tx.ListAccessTokens("") }),
		[]core.AccessToken{tok0, tok, tok2})
	dup := core.AccessToken{ID: "lt9", Hash: "th1", UserID: "u2", Created: at(2), Expires: at(3)}
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateAccessToken(&dup) })
	dupID := core.AccessToken{ID: "lt1", Hash: "th9", UserID: "u2", Created: at(2), Expires: at(3)}
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateAccessToken(&dupID) })

	// UpdateAccessToken writes Revoked, both ways, and nothing else.
	upd := tok
	upd.Revoked, upd.Expires, upd.UserID = ptr(at(5)), at(99), "u2"
	unrevoke := tok2
	unrevoke.Revoked = nil
	b.write(t, func(tx store.Tx) error {
		if err := tx.UpdateAccessToken(&upd); err != nil {
			return err
		}
		return tx.UpdateAccessToken(&unrevoke)
	})
	want := tok
	want.Revoked = ptr(at(5))
	equal(t, "GetAccessTokenByID after update", get(t, b, func(tx store.Tx) (core.AccessToken, error) { return tx.GetAccessTokenByID("lt1") }), want)
	equal(t, "GetAccessTokenByID after clearing", get(t, b, func(tx store.Tx) (core.AccessToken, error) { return tx.GetAccessTokenByID("lt2") }), unrevoke)
	missing := core.AccessToken{ID: "nope"}
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.UpdateAccessToken(&missing) })
}

func testSSHKeys(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	equal(t, "ListSSHKeys(none)", len(get(t, b, func(tx store.Tx) ([]core.SSHKey, error) { return tx.ListSSHKeys("u1") })), 0)
	keys := []core.SSHKey{
		{ID: "sk2", UserID: "u1", PublicKey: "ssh-ed25519 AAAA2 two", Fingerprint: "SHA256:two", Created: at(2)},
		{ID: "sk1", UserID: "u1", PublicKey: "ssh-ed25519 AAAA1 one", Fingerprint: "SHA256:one", Created: at(1)},
		{ID: "sk3", UserID: "u3", PublicKey: "ssh-ed25519 AAAA1 one", Fingerprint: "SHA256:one", Created: at(1)},
	}
	b.write(t, func(tx store.Tx) error {
		for i := range keys {
			if err := tx.CreateSSHKey(&keys[i]); err != nil {
				return err
			}
		}
		return nil
	})
	equal(t, "ListSSHKeys(u1)", get(t, b, func(tx store.Tx) ([]core.SSHKey, error) { return tx.ListSSHKeys("u1") }),
		[]core.SSHKey{keys[1], keys[0]})
	// The same key twice for one user is a conflict (another user may have it); a key of an
	// unknown user is invalid.
	b.writeCode(t, core.Conflict, func(tx store.Tx) error {
		return tx.CreateSSHKey(&core.SSHKey{ID: "sk4", UserID: "u1", PublicKey: "x", Fingerprint: "SHA256:one", Created: at(3)})
	})
	b.writeCode(t, core.Invalid, func(tx store.Tx) error {
		return tx.CreateSSHKey(&core.SSHKey{ID: "sk5", UserID: "nobody", PublicKey: "x", Fingerprint: "SHA256:x", Created: at(3)})
	})
	// Deleting is per user: another user's key id is not found.
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.DeleteSSHKey("u1", "sk3") })
	b.write(t, func(tx store.Tx) error { return tx.DeleteSSHKey("u1", "sk2") })
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.DeleteSSHKey("u1", "sk2") })
	equal(t, "ListSSHKeys(u1) after delete", get(t, b, func(tx store.Tx) ([]core.SSHKey, error) { return tx.ListSSHKeys("u1") }),
		[]core.SSHKey{keys[1]})
	equal(t, "ListSSHKeys(u3)", get(t, b, func(tx store.Tx) ([]core.SSHKey, error) { return tx.ListSSHKeys("u3") }),
		[]core.SSHKey{keys[2]})
}
