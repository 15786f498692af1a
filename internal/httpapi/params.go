package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"hangar/internal/core"
)

// source says where a parameter came from; text sources spell null as "null".
type source int

const (
	fromQuery source = iota
	fromForm
	fromJSON
	fromPath
)

type param struct {
	v   any // string, json.Number, bool, nil, map[string]any or []any
	src source
}

// params are a request's parameters merged by precedence (spec §1.3): path, then JSON body,
// then multipart form fields, then the query string.
type params struct {
	vals    map[string]param
	file    []byte // multipart part "file", if any
	hasFile bool
}

// maxMultipartMemory bounds what a multipart parse keeps in memory.
const maxMultipartMemory = 1 << 20

func parseParams(r *http.Request, maxBody int64) (*params, error) {
	p := &params{vals: map[string]param{}}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, core.Errorf(core.Invalid, "malformed query string")
	}
	for k, vs := range q {
		if len(vs) > 0 {
			p.vals[k] = param{v: vs[0], src: fromQuery}
		}
	}
	if err := p.readBody(r, maxBody); err != nil {
		return nil, err
	}
	for k, v := range p.vals {
		if err := checkSize(k, v.v); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// paramLimits are the parameters allowed more than core.MaxParamLen bytes: a script's text is
// bounded by the service (service.MaxScriptSize), which names the limit in its own words.
var paramLimits = map[string]int{"scriptText": math.MaxInt}

// checkSize refuses a parameter, or any string inside one (a filter's values), longer than
// its limit: core.MaxParamLen unless paramLimits says otherwise. Names have a smaller limit,
// which the service checks. The error names the field by its path (filter.where.name).
func checkSize(name string, v any) error {
	limit, ok := paramLimits[name]
	if !ok {
		limit = core.MaxParamLen
	}
	if len(name) > core.MaxParamLen {
		return core.Errorf(core.Invalid, "a parameter name is %d bytes long; the limit is %d", len(name), core.MaxParamLen)
	}
	switch v := v.(type) {
	case string:
		return core.CheckLen(name, v, limit)
	case map[string]any:
		for k, x := range v {
			if err := checkSize(name+"."+k, x); err != nil {
				return err
			}
		}
	case []any:
		for i, x := range v {
			if err := checkSize(name+"["+strconv.Itoa(i)+"]", x); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *params) readBody(r *http.Request, maxBody int64) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	if r.ContentLength > maxBody {
		// Refused before reading: a client that announces more than the cap gets its 413 now,
		// not once the read times out waiting for bytes it may never send.
		return tooLarge(maxBody)
	}
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		return p.readMultipart(r, ctParams["boundary"], maxBody)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return core.Errorf(core.Invalid, "could not read the request body")
	}
	if int64(len(body)) > maxBody {
		return tooLarge(maxBody)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil
	}
	if ct == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(trimmed))
		if err != nil {
			return core.Errorf(core.Invalid, "malformed form body")
		}
		for k, vs := range form {
			p.vals[k] = param{v: vs[0], src: fromForm}
		}
		return nil
	}
	isJSON := ct == "application/json" || strings.HasSuffix(ct, "+json")
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		if isJSON {
			return core.Errorf(core.Invalid, "request body is not valid JSON")
		}
		return nil // not JSON and not declared as JSON: ignore it
	}
	switch obj := v.(type) {
	case map[string]any:
		for k, val := range obj {
			p.vals[k] = param{v: val, src: fromJSON}
		}
	case nil: // a JSON null body carries no parameters
	default:
		return core.Errorf(core.Invalid, "request body must be a JSON object")
	}
	return nil
}

func tooLarge(limit int64) error {
	return core.Errorf(core.TooLarge, "request body is larger than %d bytes", limit)
}

func (p *params) readMultipart(r *http.Request, boundary string, maxBody int64) error {
	if boundary == "" {
		return core.Errorf(core.Invalid, "multipart body without boundary")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
	if err := r.ParseMultipartForm(maxMultipartMemory); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(maxBody)
		}
		return core.Errorf(core.Invalid, "malformed multipart body")
	}
	defer func() { _ = r.MultipartForm.RemoveAll() }()
	for k, vs := range r.MultipartForm.Value {
		if len(vs) > 0 {
			p.vals[k] = param{v: vs[0], src: fromForm}
		}
	}
	if fhs := r.MultipartForm.File["file"]; len(fhs) > 0 {
		f, err := fhs[0].Open()
		if err != nil {
			return core.Errorf(core.Invalid, "could not read the uploaded file")
		}
		defer f.Close()
		if p.file, err = io.ReadAll(f); err != nil {
			return core.Errorf(core.Invalid, "could not read the uploaded file")
		}
		p.hasFile = true
	}
	return nil
}

// setPath records a path parameter, which wins over every other source.
func (p *params) setPath(name, value string) {
	if value != "" {
		p.vals[name] = param{v: value, src: fromPath}
	}
}

func (p *params) has(name string) bool { _, ok := p.vals[name]; return ok }

// isNull reports whether name was sent as null (JSON null, or "null" in text sources).
func (pm param) isNull() bool {
	if pm.v == nil {
		return true
	}
	s, ok := pm.v.(string)
	return ok && pm.src != fromJSON && pm.src != fromPath && s == "null"
}

func typeErr(name, want string) error {
	return core.Errorf(core.Invalid, "%s must be %s", name, want)
}

// str returns a string parameter; numbers and booleans are stringified (spec §1.3).
func (p *params) str(name string) (string, bool, error) {
	pm, ok := p.vals[name]
	if !ok || pm.isNull() {
		return "", false, nil
	}
	switch v := pm.v.(type) {
	case string:
		return v, true, nil
	case json.Number:
		return v.String(), true, nil
	case bool:
		return strconv.FormatBool(v), true, nil
	}
	return "", false, typeErr(name, "a string")
}

// optStr returns a nullable string: nil when absent or null.
func (p *params) optStr(name string) (*string, error) {
	s, ok, err := p.str(name)
	if !ok || err != nil {
		return nil, err
	}
	return &s, nil
}

// integer returns an integer parameter given as a JSON number or numeric text; set reports
// that it was present (possibly as null, then v is nil).
func (p *params) integer(name string) (v *int, set bool, err error) {
	pm, ok := p.vals[name]
	if !ok {
		return nil, false, nil
	}
	if pm.isNull() {
		return nil, true, nil
	}
	var text string
	switch x := pm.v.(type) {
	case json.Number:
		text = x.String()
	case string:
		text = strings.TrimSpace(x)
	default:
		return nil, true, typeErr(name, "a number")
	}
	n, perr := strconv.Atoi(text)
	if perr != nil {
		f, ferr := strconv.ParseFloat(text, 64)
		if ferr != nil || f != float64(int(f)) || f > 1e15 || f < -1e15 {
			return nil, true, typeErr(name, "a whole number")
		}
		n = int(f)
	}
	return &n, true, nil
}

// boolean returns a boolean given as JSON or as the text true/false (spec §1.3).
func (p *params) boolean(name string) (*bool, error) {
	pm, ok := p.vals[name]
	if !ok || pm.isNull() {
		return nil, nil
	}
	switch x := pm.v.(type) {
	case bool:
		return &x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "1":
			b := true
			return &b, nil
		case "false", "0":
			b := false
			return &b, nil
		}
	case json.Number:
		switch x.String() {
		case "1":
			b := true
			return &b, nil
		case "0":
			b := false
			return &b, nil
		}
	}
	return nil, typeErr(name, "true or false")
}

// boolOr returns a boolean parameter or def when absent.
func (p *params) boolOr(name string, def bool) (bool, error) {
	b, err := p.boolean(name)
	if b == nil || err != nil {
		return def, err
	}
	return *b, nil
}

// reserved are keys that are never list filters (spec §1.7).
var reserved = map[string]bool{"access_token": true, "apiKey": true, "api_key": true, "limit": true,
	"skip": true, "order": true, "filter": true, "params": true, "json": true, "debug": true, "_": true, "$0": true}

// filterText renders a JSON scalar as filter text; objects and arrays are not filters.
func filterText(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "null", true
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// listArgs gathers list filters and paging from the query string, a paperspace-go body
// {"filter":{"where":{…},"limit","skip","order"}} and a gradient-cli body {"params":{…}}
// (merged; the body wins). Reserved keys are never filters.
type listArgs struct {
	where       map[string]string
	limit, skip int
	order       string
}

func (p *params) list() (listArgs, error) {
	a := listArgs{where: map[string]string{}}
	paging := map[string]any{}
	for k, pm := range p.vals {
		if pm.src == fromPath {
			continue
		}
		if k == "limit" || k == "skip" || k == "order" {
			paging[k] = pm.v
			continue
		}
		if reserved[k] {
			continue
		}
		if s, ok := filterText(pm.v); ok {
			a.where[k] = s
		}
	}
	if f, ok := p.vals["filter"].v.(map[string]any); ok {
		if w, ok := f["where"].(map[string]any); ok {
			for k, v := range w {
				if s, ok := filterText(v); ok && !reserved[k] {
					a.where[k] = s
				}
			}
		}
		for _, k := range []string{"limit", "skip", "order"} {
			if v, ok := f[k]; ok {
				paging[k] = v
			}
		}
	}
	if g, ok := p.vals["params"].v.(map[string]any); ok {
		for k, v := range g {
			if s, ok := filterText(v); ok && !reserved[k] {
				a.where[k] = s
			}
		}
	}
	for _, k := range []string{"limit", "skip"} {
		v, ok := paging[k]
		if !ok || v == nil {
			continue
		}
		s, _ := filterText(v)
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			return a, core.Errorf(core.Invalid, "%s must be a non-negative whole number", k)
		}
		if k == "limit" {
			a.limit = n
		} else {
			a.skip = n
		}
	}
	if v, ok := paging["order"].(string); ok {
		a.order = v
	}
	return a, nil
}

// hash identifies the request's parameters (for Idempotency-Key): SHA-256 of their canonical
// JSON, without credentials.
func (p *params) hash() string {
	m := make(map[string]any, len(p.vals))
	for k, pm := range p.vals {
		if k != "access_token" && k != "apiKey" && k != "api_key" {
			m[k] = pm.v
		}
	}
	b, _ := json.Marshal(m) // map keys are sorted: canonical
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
