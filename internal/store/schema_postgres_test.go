package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// postgresSchema reads the facts of the first schema on url's search_path from pg_catalog.
func postgresSchema(t *testing.T, url string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	q := func(query string, args ...any) [][]any {
		t.Helper()
		rows, err := conn.Query(ctx, query, args...)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return out
	}
	var s schema
	for _, r := range q(`SELECT c.relname FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace
		AND c.relkind = 'r'`) {
		s.add("table %s", r[0])
	}
	postgresColumns(&s, q)
	postgresConstraints(&s, q)
	postgresIndexes(&s, q)
	return s.sorted()
}

// pgTypes maps PostgreSQL's types to the SQLite type family that stores them.
var pgTypes = map[string]string{
	"bigint": "integer", "integer": "integer", "smallint": "integer", "boolean": "integer",
	"text": "text", "jsonb": "text", "bytea": "blob",
}

// postgresColumns adds the column facts. A text column should use the "C" collation, which
// compares bytes as SQLite's default BINARY collation does; one that does not gets a fact
// "collation t.c NAME" that SQLite never has.
func postgresColumns(s *schema, q func(string, ...any) [][]any) {
	for _, r := range q(`SELECT c.relname, a.attname, format_type(a.atttypid, NULL), a.attnotnull,
			COALESCE(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity <> '', COALESCE(co.collname, '')
		FROM pg_attribute a
		JOIN pg_class c ON c.oid = a.attrelid
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		LEFT JOIN pg_collation co ON co.oid = a.attcollation
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
		  AND a.attnum > 0 AND NOT a.attisdropped`) {
		typ, coll := r[2].(string), r[6].(string)
		family, ok := pgTypes[typ]
		if !ok {
			family = "unmapped " + typ
		}
		if coll != "" && coll != "C" {
			s.add("collation %s.%s %s", r[0], r[1], coll)
		}
		def := ""
		if d := r[4].(string); d != "" {
			def = normExpr(d)
		}
		s.column(r[0].(string), r[1].(string), family, r[3].(bool), def, r[5].(bool))
	}
}

// pgActions names the foreign key actions of pg_constraint as SQLite's pragma does.
var pgActions = map[string]string{"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}

// postgresConstraints adds the primary keys, unique constraints, foreign keys and CHECK
// constraints.
func postgresConstraints(s *schema, q func(string, ...any) [][]any) {
	for _, r := range q(`SELECT con.contype::text, c.relname, ARRAY(
			SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
			JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
			COALESCE(f.relname, ''), ARRAY(
			SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
			JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i),
			con.confupdtype::text, con.confdeltype::text, pg_get_constraintdef(con.oid)
		FROM pg_constraint con
		JOIN pg_class c ON c.oid = con.conrelid
		LEFT JOIN pg_class f ON f.oid = con.confrelid
		WHERE c.relnamespace = current_schema()::regnamespace AND con.contype IN ('p', 'u', 'f', 'c')`) {
		table, keys := r[1].(string), names(r[2])
		switch r[0].(string) {
		case "p":
			s.add("primary key %s %s", table, cols(keys))
		case "u":
			s.add("unique %s %s", table, cols(keys))
		case "f":
			s.add("foreign key %s %s -> %s %s on update %s on delete %s", table, cols(keys), r[3],
				cols(names(r[4])), pgActions[r[5].(string)], pgActions[r[6].(string)])
		case "c":
			s.add("check %s: %s", table, normExpr(strings.TrimPrefix(r[7].(string), "CHECK ")))
		}
	}
}

// postgresIndexes adds the indexes that back no constraint (those created by CREATE INDEX).
func postgresIndexes(s *schema, q func(string, ...any) [][]any) {
	for _, r := range q(`SELECT i.relname, c.relname, x.indisunique, ARRAY(
			SELECT pg_get_indexdef(x.indexrelid, k, true) ||
				CASE WHEN x.indoption[k - 1] & 1 = 1 THEN ' desc' ELSE '' END
			FROM generate_series(1, x.indnkeyatts) k ORDER BY k),
			COALESCE(pg_get_expr(x.indpred, x.indrelid), '')
		FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_class c ON c.oid = x.indrelid
		WHERE c.relnamespace = current_schema()::regnamespace
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = x.indexrelid)`) {
		kind := "index"
		if r[2].(bool) {
			kind = "unique index"
		}
		f := kind + " " + r[0].(string) + " on " + r[1].(string) + " " + cols(names(r[3]))
		if pred := r[4].(string); pred != "" {
			f += " where " + normExpr(pred)
		}
		s.facts = append(s.facts, f)
	}
}

// names converts a text[] that pgx returned as []any.
func names(v any) []string {
	var out []string
	for _, n := range v.([]any) {
		out = append(out, n.(string))
	}
	return out
}
