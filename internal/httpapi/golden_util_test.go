package httpapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// jsonKV and jsonObj keep a JSON object's keys in wire order, so that goldens read like the
// responses (and like the spec's examples).
type jsonKV struct {
	Key string
	Val any
}

type jsonObj []jsonKV

// MarshalJSON writes the object with its keys in their original order.
func (o jsonObj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := marshalRaw(kv.Key, "")
		b.Write(k)
		b.WriteByte(':')
		v, err := marshalRaw(kv.Val, "")
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshalRaw is json.Marshal without HTML escaping (placeholders contain < and >), indented
// when indent is not empty, with a trailing newline only when indented.
func marshalRaw(v any, indent string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if indent == "" {
		return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
	}
	return b.Bytes(), nil
}

// decodeOrdered decodes one JSON value: objects as jsonObj, arrays as []any, numbers as
// json.Number (so 8 stays 8 and 8.0 stays 8.0), strings, booleans and nil.
func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	switch d {
	case '{':
		obj := jsonObj{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			obj = append(obj, jsonKV{Key: kt.(string), Val: v})
		}
		_, err = dec.Token()
		return obj, err
	case '[':
		arr := []any{}
		for dec.More() {
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err = dec.Token()
		return arr, err
	}
	return nil, fmt.Errorf("unexpected %v", d)
}

var (
	dateRE   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)
	uuidRE   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	hexKeyRE = regexp.MustCompile(`^[0-9a-f]{32,}$`)
	prefixRE = regexp.MustCompile(`^[0-9a-f]{6}$`)
)

// normalize rewrites a JSON body for a golden comparison. Only string values change, and
// each into another string, so the goldens still pin every JSON type: a date (exactly the
// toISOString format; anything else stays visible) becomes "<date>", an event handle
// "<uuid>", an IP address "<ip>", an API key secret "<secret>", a generated request id
// "<request-id>", and every id the env has
// learnt its placeholder (also inside messages). null, numbers and booleans stay as they are.
func (e *env) normalize(tb testing.TB, body []byte) []byte {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	v, err := decodeOrdered(dec)
	if err != nil {
		tb.Fatalf("normalize %q: %v", body, err)
	}
	e.mu.Lock()
	known := make([]string, 0, len(e.names))
	for k := range e.names {
		known = append(known, k)
	}
	names := make(map[string]string, len(e.names))
	for k, p := range e.names {
		names[k] = p
	}
	e.mu.Unlock()
	// Longest first, so that no id is replaced inside a longer one.
	slices.SortFunc(known, func(a, b string) int { return len(b) - len(a) })
	var walk func(key string, v any) any
	walk = func(key string, v any) any {
		switch x := v.(type) {
		case jsonObj:
			for i := range x {
				x[i].Val = walk(x[i].Key, x[i].Val)
			}
			return x
		case []any:
			for i := range x {
				x[i] = walk(key, x[i])
			}
			return x
		case string:
			return normString(key, x, known, names)
		}
		return v
	}
	out, err := marshalRaw(walk("", v), "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func normString(key, s string, known []string, names map[string]string) string {
	if p, ok := names[s]; ok {
		return p
	}
	switch {
	case dateRE.MatchString(s):
		return "<date>"
	case uuidRE.MatchString(s):
		return "<uuid>"
	}
	switch key {
	case "privateIpAddress", "publicIpAddress", "address":
		if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
			return "<ip>"
		}
	case "key":
		if hexKeyRE.MatchString(s) {
			return "<secret>"
		}
	case "prefix":
		if prefixRE.MatchString(s) {
			return "<key-prefix>"
		}
	case "token":
		if strings.HasPrefix(s, "hj") {
			return "<join-token>"
		}
	case "requestId":
		if hexKeyRE.MatchString(s) {
			return "<request-id>"
		}
	}
	for _, k := range known {
		if strings.Contains(s, k) {
			s = strings.ReplaceAll(s, k, names[k])
		}
	}
	return s
}

// golden compares the normalised body with testdata/golden/<name>.json (or rewrites it with
// -update).
func (e *env) golden(tb testing.TB, name string, body []byte) {
	tb.Helper()
	got := e.normalize(tb, body)
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func TestNormalizeKeepsTypes(t *testing.T) {
	e := &env{names: map[string]string{"psabc1234": "<machine-id>"}}
	in := `{"id":"psabc1234","cpus":8,"ram":"8589938688","f":8.0,"n":null,"b":false,"dt":"2024-03-14T15:09:51.974Z",` +
		`"bad":"2024-03-14T15:09:51Z","privateIpAddress":"10.1.2.3","publicIpAddress":"not-an-ip","msg":"Machine psabc1234 not found",` +
		`"events":[{"handle":"8ebe43dd-57c8-4bd4-b770-86b7fd0202e4"}],"z":"last"}`
	want := `{
  "id": "<machine-id>",
  "cpus": 8,
  "ram": "8589938688",
  "f": 8.0,
  "n": null,
  "b": false,
  "dt": "<date>",
  "bad": "2024-03-14T15:09:51Z",
  "privateIpAddress": "<ip>",
  "publicIpAddress": "not-an-ip",
  "msg": "Machine <machine-id> not found",
  "events": [
    {
      "handle": "<uuid>"
    }
  ],
  "z": "last"
}
`
	if got := string(e.normalize(t, []byte(in))); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if got := string(e.normalize(t, []byte(`"echo hi"`))); got != "\"echo hi\"\n" {
		t.Fatalf("string body: %q", got)
	}
	if got := string(e.normalize(t, []byte(`[]`))); got != "[]\n" {
		t.Fatalf("empty array: %q", got)
	}
}
