package httpapi

import (
	"net/url"
	"testing"
)

// TestEndingTokensOverHTTP: a team admin lists and revokes a teammate's login token and the
// key its createPublic minted, another team's admin gets 404 for both, the operator revokes
// as well, and a logout ends the caller's own token at once.
func TestEndingTokensOverHTTP(t *testing.T) {
	e := newEnv(t)
	login := func(p principal) string {
		return e.call(t, "", "POST", "/users/login", map[string]any{"email": p.Email, "password": p.Password}).
			must(t, 200).obj(t)["id"].(string)
	}
	withToken := func(path, tok string) string { return path + "?access_token=" + url.QueryEscape(tok) }
	tok := login(e.Bob)
	cli := e.call(t, "", "POST", withToken("/apiTokens/createPublic", tok), nil).must(t, 200).obj(t)["key"].(string)

	// Alice (Bob's team admin) sees both, marked by kind.
	byKind := map[string]string{}
	for _, k := range e.call(t, e.Alice.Key, "GET", "/hangar/v1/keys?user="+e.Bob.ID, nil).must(t, 200).arr(t) {
		byKind[k["kind"].(string)] = k["id"].(string)
	}
	if byKind["login"] == "" || byKind["apiToken"] == "" || byKind["key"] == "" {
		t.Fatalf("Bob's credentials by kind: %v; want key, apiToken and login", byKind)
	}
	// Carol, another team's admin, can neither list nor revoke them.
	e.call(t, e.Carol.Key, "GET", "/hangar/v1/keys?user="+e.Bob.ID, nil).must(t, 404)
	for _, id := range []string{byKind["login"], byKind["apiToken"]} {
		e.call(t, e.Carol.Key, "POST", "/hangar/v1/keys/"+id+"/revoke", nil).must(t, 404)
	}
	e.call(t, "", "GET", withToken("/machines/getMachines", tok), nil).must(t, 200)
	e.call(t, cli, "GET", "/machines/getMachines", nil).must(t, 200)

	// Alice revokes them: both stop at once.
	r := e.call(t, e.Alice.Key, "POST", "/hangar/v1/keys/"+byKind["login"]+"/revoke", nil).must(t, 200).obj(t)
	if r["kind"] != "login" || r["revoked"] == nil {
		t.Fatalf("revoked login token: %v", r)
	}
	e.call(t, e.Alice.Key, "POST", "/hangar/v1/keys/"+byKind["apiToken"]+"/revoke", nil).must(t, 200)
	e.call(t, "", "GET", withToken("/machines/getMachines", tok), nil).must(t, 401)
	e.call(t, cli, "GET", "/machines/getMachines", nil).must(t, 401)
	e.call(t, e.Bob.Key, "GET", "/machines/getMachines", nil).must(t, 200) // his other key is his

	// The operator revokes a fresh token of Carol's.
	ctok := login(e.Carol)
	for _, k := range e.call(t, e.Operator.Key, "GET", "/hangar/v1/keys?user="+e.Carol.ID, nil).must(t, 200).arr(t) {
		if k["kind"] == "login" {
			e.call(t, e.Operator.Key, "POST", "/hangar/v1/keys/"+k["id"].(string)+"/revoke", nil).must(t, 200)
		}
	}
	e.call(t, "", "GET", withToken("/machines/getMachines", ctok), nil).must(t, 401)

	// Logout: the token fails with the usual 401 from the next call on; a second token lives.
	a, b := login(e.Alice), login(e.Alice)
	e.call(t, "", "POST", withToken("/users/logout", a), nil).must(t, 204)
	if msg := e.call(t, "", "GET", withToken("/machines/getMachines", a), nil).must(t, 401).errMessage(t); msg != "Invalid API token or access token" {
		t.Fatalf("a logged-out token: %q", msg)
	}
	e.call(t, "", "POST", withToken("/users/logout", a), nil).must(t, 401)
	e.call(t, "", "GET", withToken("/machines/getMachines", b), nil).must(t, 200)
}
