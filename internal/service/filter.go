package service

import (
	"strconv"
	"strings"

	"hangar/internal/core"
)

func itoa(n int) string { return strconv.Itoa(n) }

// ParseFilterValue converts a raw filter value to kind; "null" is JSON null.
func ParseFilterValue(kind core.FieldKind, raw string) (core.FilterValue, error) {
	if raw == "null" {
		return core.FilterValue{Null: true}, nil
	}
	switch kind {
	case core.KindInt, core.KindDigits:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(strings.TrimSpace(raw), 64)
			if ferr != nil || f != float64(int64(f)) {
				return core.FilterValue{}, err
			}
			n = int64(f)
		}
		return core.FilterValue{Int: n}, nil
	case core.KindBool:
		b, err := strconv.ParseBool(raw)
		return core.FilterValue{Bool: b}, err
	case core.KindTime:
		t, err := core.ParseTime(raw)
		return core.FilterValue{Time: t}, err
	}
	return core.FilterValue{Str: raw}, nil
}

// ParseOrder parses a LoopBack order ("dtCreated DESC", "name ASC, id") over fields known.
func ParseOrder(s string, known func(string) bool) ([]core.Order, error) {
	if err := core.CheckLen("order", s, core.MaxParamLen); err != nil {
		return nil, err
	}
	var out []core.Order
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		f := strings.Fields(part)
		if len(f) == 0 {
			continue
		}
		if len(f) > 2 || !known(f[0]) {
			return nil, invalid("Invalid order %q", s)
		}
		o := core.Order{Field: f[0]}
		if len(f) == 2 {
			switch strings.ToUpper(f[1]) {
			case "ASC":
			case "DESC":
				o.Desc = true
			default:
				return nil, invalid("Invalid order %q", s)
			}
		}
		if seen[o.Field] {
			continue // sorting on a field again changes nothing
		}
		seen[o.Field] = true
		if len(out) == core.MaxOrderTerms {
			return nil, invalid("order sorts on more than %d fields", core.MaxOrderTerms)
		}
		out = append(out, o)
	}
	return out, nil
}
