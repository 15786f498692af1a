package store_test

import (
	"database/sql"
	"regexp"
	"strings"
	"testing"
)

// sqliteSchema reads the facts of the SQLite database at path from sqlite_schema and the
// table-valued pragmas.
func sqliteSchema(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := func(query string, args ...any) [][]any { return queryAll(t, db, query, args...) }
	var s schema
	for _, r := range q(`SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`) {
		table, ddl := r[0].(string), r[1].(string)
		s.add("table %s", table)
		sqliteColumns(&s, q, table, ddl)
		for _, c := range checkRE.FindAllStringSubmatchIndex(ddl, -1) {
			s.add("check %s: %s", table, normExpr(balanced(ddl[c[1]-1:])))
		}
		for _, r := range q(`SELECT id, "table", "from", "to", on_update, on_delete FROM pragma_foreign_key_list(?)
			ORDER BY id, seq`, table) {
			s.add("foreign key %s (%s) -> %s (%s) on update %s on delete %s", table, r[2], r[1], r[3],
				strings.ToLower(r[4].(string)), strings.ToLower(r[5].(string)))
		}
		sqliteIndexes(&s, q, table)
	}
	return s.sorted()
}

// checkRE finds the CHECK constraints of a CREATE TABLE statement; the match ends at the
// constraint's opening parenthesis.
var checkRE = regexp.MustCompile(`(?i)\bCHECK\s*\(`)

// balanced returns the parenthesised expression that s starts with, without its outer
// parentheses.
func balanced(s string) string {
	depth := 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return s[1:i]
			}
		}
	}
	return s
}

// sqliteColumns adds the column facts and the primary key of table. A key column counts as
// NOT NULL: SQLite would take a NULL in a non-integer PRIMARY KEY where PostgreSQL would
// not, but the store never binds NULL to a key. AUTOINCREMENT, which never reuses a key, is
// what PostgreSQL's identity columns are.
func sqliteColumns(s *schema, q func(string, ...any) [][]any, table, ddl string) {
	var pk []string
	for _, r := range q(`SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_xinfo(?) ORDER BY cid`, table) {
		name, pkPos := r[0].(string), r[4].(int64)
		def := ""
		if r[3] != nil {
			def = normExpr(r[3].(string))
		}
		auto := pkPos > 0 && regexp.MustCompile(`(?i)\b`+regexp.QuoteMeta(name)+`\s+INTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b`).MatchString(ddl)
		s.column(table, name, strings.ToLower(r[1].(string)), r[2].(int64) == 1 || pkPos > 0, def, auto)
		if pkPos > 0 {
			pk = append(pk, name) // cid order is key order for every key in this schema
		}
	}
	if len(pk) > 0 {
		s.add("primary key %s %s", table, cols(pk))
	}
}

// sqliteIndexes adds the unique constraints and the explicit indexes of table.
func sqliteIndexes(s *schema, q func(string, ...any) [][]any, table string) {
	for _, r := range q(`SELECT name, "unique", origin FROM pragma_index_list(?)`, table) {
		name, origin := r[0].(string), r[2].(string)
		if origin == "pk" {
			continue // the primary key, read from the columns
		}
		var keys []string
		for _, k := range q(`SELECT name, "desc" FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno`, name) {
			col := k[0].(string)
			if k[1].(int64) == 1 {
				col += " desc"
			}
			keys = append(keys, col)
		}
		if origin == "u" {
			s.add("unique %s %s", table, cols(keys))
			continue
		}
		kind := "index"
		if r[1].(int64) == 1 {
			kind = "unique index"
		}
		f := kind + " " + name + " on " + table + " " + cols(keys)
		ddl := q(`SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?`, name)[0][0].(string)
		if _, pred, ok := cutFold(ddl, " WHERE "); ok {
			f += " where " + normExpr(pred)
		}
		s.facts = append(s.facts, f)
	}
}

// cutFold is strings.Cut with sep matched case-insensitively.
func cutFold(s, sep string) (before, after string, found bool) {
	if i := strings.Index(strings.ToUpper(s), strings.ToUpper(sep)); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// queryAll runs a query and returns every row, each column as the driver returned it.
func queryAll(t *testing.T, db *sql.DB, query string, args ...any) [][]any {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	n := len(names)
	var out [][]any
	for rows.Next() {
		r := make([]any, n)
		ptrs := make([]any, n)
		for i := range r {
			ptrs[i] = &r[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
