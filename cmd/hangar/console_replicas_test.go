package main

import (
	"bufio"
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"hangar/internal/store/postgres/pgtest"
)

var signinToken = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// consoleClient signs in to the console at base with an API key and returns its client.
func consoleClient(t *testing.T, base, key string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(base + "/console/signin")
	if err != nil {
		t.Fatal(err)
	}
	var page strings.Builder
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		page.WriteString(sc.Text())
	}
	res.Body.Close()
	m := signinToken.FindStringSubmatch(page.String())
	if m == nil {
		t.Fatalf("no sign-in token in %s", page.String())
	}
	res, err = c.PostForm(base+"/console/signin", url.Values{"csrf": {m[1]}, "apiKey": {key}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("console sign-in: %d", res.StatusCode)
	}
	return c
}

// TestConsoleLiveAcrossReplicas watches a machine through one replica's console while another
// replica changes it: the change travels over PostgreSQL LISTEN/NOTIFY.
func TestConsoleLiveAcrossReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real hangar processes")
	}
	dsn := pgtest.SchemaURL(t, "live")
	flags := []string{"--database", dsn, "--sim-time-scale", "0.02", "--sim-serviceready-min", "100ms"}
	dataA := t.TempDir()
	a := startProc(t, dataA, flags...)
	b := startProc(t, t.TempDir(), flags...)
	op := a.ts(readKey(t, dataA))
	admin := newTeamAdmin(t, op)
	var m map[string]any
	if st := b.ts("").do(t, admin, "POST", "/machines/createSingleMachinePublic", createBody("watched"), &m); st != 200 {
		t.Fatalf("create: %d %v", st, m)
	}
	id := m["id"].(string)
	a.ts("").waitState(t, admin, id, "ready", 30*time.Second)

	c := consoleClient(t, a.url, admin)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.url+"/console/machines/"+id+"/live", nil)
	res, err := c.Do(req) //nolint:bodyclose // closed by the defer below; bodyclose loses it to the reading goroutine
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("live stream: %d", res.StatusCode)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitFor := func(want string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the stream ended before %q", want)
				}
				if strings.HasPrefix(l, "data: ") && strings.Contains(l, want) {
					return
				}
			case <-deadline:
				t.Fatalf("no %q on replica A's stream", want)
			}
		}
	}
	waitFor(`"name":"watched"`)
	// Replica B's service renames it, B's engine (or A's) stops it.
	if st := b.ts("").do(t, admin, "POST", "/machines/"+id+"/updateMachinePublic", map[string]any{"machineName": "renamed on b"}, nil); st != 204 {
		t.Fatalf("rename on B: %d", st)
	}
	waitFor(`"name":"renamed on b"`)
	if st := b.ts("").do(t, admin, "POST", "/machines/"+id+"/stop", nil, nil); st != 204 {
		t.Fatalf("stop on B: %d", st)
	}
	waitFor(`"state":"off"`)
}
