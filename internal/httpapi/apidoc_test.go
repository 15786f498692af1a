package httpapi

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// apiDocRow is one route row of docs/API.md: | METHOD | `PATH` | purpose |.
var apiDocRow = regexp.MustCompile("^\\| *(GET|POST|PUT|PATCH|DELETE) *\\| *`([^`]+)` *\\| *(.*?) *\\|$")

// TestAPIDocListsEveryRoute parses the route tables of docs/API.md and requires exactly the
// served routes, each once and with a purpose: a route added to Routes() without a line there
// (or a line left behind for a route that is gone) fails here.
func TestAPIDocListsEveryRoute(t *testing.T) {
	b, err := os.ReadFile("../../docs/API.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]int{}
	for _, line := range regexp.MustCompile("\r?\n").Split(string(b), -1) {
		m := apiDocRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		key := m[1] + " " + m[2]
		documented[key]++
		if len(m[3]) < 10 {
			t.Errorf("docs/API.md: %s has no purpose: %q", key, line)
		}
	}
	if len(documented) == 0 {
		t.Fatal("docs/API.md has no route rows (| METHOD | `PATH` | purpose |)")
	}
	served := map[string]bool{}
	for _, rt := range New(Config{}).Routes() {
		key := rt.Method + " " + rt.Pattern
		served[key] = true
		switch documented[key] {
		case 0:
			t.Errorf("route %s is not listed in docs/API.md", key)
		case 1:
		default:
			t.Errorf("route %s is listed %d times in docs/API.md", key, documented[key])
		}
	}
	var extra []string
	for key := range documented {
		if !served[key] {
			extra = append(extra, key)
		}
	}
	slices.Sort(extra)
	for _, key := range extra {
		t.Errorf("docs/API.md lists %s, which is not served", key)
	}
}
