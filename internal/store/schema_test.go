package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"hangar/internal/store/postgres"
	"hangar/internal/store/postgres/pgtest"
	"hangar/internal/store/sqlite"
)

// schemaAllowed lists the differences between the migrated SQLite and PostgreSQL schemas
// that are meant. Each key is a pattern (anchored at both ends) of a fact, as the introspection
// writes it, found on one side only ("sqlite: …" or "postgres: …"); the value says why.
// Keep it short: a difference no pattern matches fails TestSchemasMatch, and so does a
// pattern that matches nothing any more.
var schemaAllowed = map[string]string{
	`(sqlite: index machines_next_at on machines \(next_at\)|postgres: index machines_next_at on machines \(next_at, internal_id\)) where deleted_at is null and next_at is not null`:
	// ClaimDue orders by (next_at, internal_id).
	"SQLite's index entries end with the rowid, which internal_id is, so (next_at) reads in the order PostgreSQL needs internal_id for",
	`postgres: index (users_created on users \(created, id\)|access_tokens_user on access_tokens \(user_id\))`:
	// ListUsers(""), and a user's tokens for a foreign key check.
	"PostgreSQL-only indexes: its planner would sort ListUsers(\"\") in full, and it does not index a referencing column by itself",
	`(sqlite: column machine_usage\.id integer not null|postgres: column machine_usage\.id integer not null auto)`:
	// Only empty intervals are ever deleted, and nothing refers to the id.
	"SQLite's rowid (INTEGER PRIMARY KEY without AUTOINCREMENT) may reuse a deleted last id; the identity column never does",
	`postgres: collation (outbox\.(recipient|subject|body|last_error|lease_owner)|schema_migrations\.name) default`:
	// Migration 0004 and the migration runner left out COLLATE "C"; applied migrations stay as they are.
	"these text columns are never ordered, grouped or unique, so their collation is never used",
}

// TestSchemasMatch migrates a fresh SQLite database and a fresh PostgreSQL schema, reads
// back from each one's catalog its tables, columns (types mapped between the two type
// systems, nullability, defaults, generated keys), primary keys, unique constraints,
// foreign keys, CHECK constraints and indexes (columns, uniqueness, partial predicates), and
// fails on any difference that schemaAllowed does not list. A migration written for one
// backend only fails here.
func TestSchemasMatch(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "schema.db")
	sdb, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sdb.Close(); err != nil {
		t.Fatal(err)
	}
	url := pgtest.SchemaURL(t, "hangar_schema")
	pdb, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := pdb.Close(); err != nil {
		t.Fatal(err)
	}

	lite := sqliteSchema(t, path)
	pg := postgresSchema(t, url)
	if len(lite) < 20 || len(pg) < 20 {
		t.Fatalf("introspection found too little: %d SQLite facts, %d PostgreSQL facts", len(lite), len(pg))
	}
	var diffs []string
	used := map[string]bool{}
	for _, side := range []struct {
		name        string
		have, other []string
	}{{"sqlite", lite, pg}, {"postgres", pg, lite}} {
		for _, f := range side.have {
			if slices.Contains(side.other, f) {
				continue
			}
			fact := side.name + ": " + f
			if p := allowedBy(fact); p != "" {
				used[p] = true
				continue
			}
			diffs = append(diffs, "only in "+fact)
		}
	}
	for p := range schemaAllowed {
		if !used[p] {
			diffs = append(diffs, "stale schemaAllowed pattern (matches no difference): "+p)
		}
	}
	slices.Sort(diffs)
	if len(diffs) > 0 {
		t.Errorf("the SQLite and PostgreSQL schemas differ (fix the migrations, or list a meant difference in schemaAllowed):\n\t%s",
			strings.Join(diffs, "\n\t"))
	}
}

// allowedBy returns the schemaAllowed pattern that matches fact, or "".
func allowedBy(fact string) string {
	for p := range schemaAllowed {
		if regexp.MustCompile("^(" + p + ")$").MatchString(fact) {
			return p
		}
	}
	return ""
}

// schema collects one backend's facts: one line per table, column, key, constraint and
// index, in a form both backends produce alike.
type schema struct{ facts []string }

func (s *schema) add(format string, args ...any) {
	s.facts = append(s.facts, fmt.Sprintf(format, args...))
}

func (s *schema) sorted() []string {
	slices.Sort(s.facts)
	return s.facts
}

// column is a column's fact: "column t.c TYPE [not null] [default D] [auto]". Types are
// mapped to the SQLite type family both backends share: integer (PostgreSQL's bigint,
// integer and boolean), text (text in the "C" collation, and jsonb) and blob (bytea).
func (s *schema) column(table, name, typ string, notNull bool, def string, auto bool) {
	f := "column " + table + "." + name + " " + typ
	if notNull {
		f += " not null"
	}
	if def != "" {
		f += " default " + def
	}
	if auto {
		f += " auto"
	}
	s.facts = append(s.facts, f)
}

var (
	castRE  = regexp.MustCompile(`::[a-z ]+`)
	spaceRE = regexp.MustCompile(`\s+`)
)

// normExpr puts an SQL expression (a CHECK, an index predicate, a default) in a form both
// catalogs agree on: lower case, no casts, no parentheses, single spaces, PostgreSQL's
// boolean literals as SQLite's integers.
func normExpr(e string) string {
	e = strings.ToLower(e)
	e = castRE.ReplaceAllString(e, "")
	e = strings.NewReplacer("(", " ", ")", " ").Replace(e)
	e = strings.TrimSpace(spaceRE.ReplaceAllString(e, " "))
	switch e {
	case "false":
		return "0"
	case "true":
		return "1"
	}
	return e
}

// cols is a column list as facts write it.
func cols(names []string) string { return "(" + strings.Join(names, ", ") + ")" }
