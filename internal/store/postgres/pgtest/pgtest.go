// Package pgtest gives tests outside the postgres package a schema of their own on the test
// PostgreSQL server (TEST_DATABASE_URL, started by scripts/test).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// SchemaURL creates an empty schema named prefix_<random> on the test server, dropped when tb
// ends, and returns a postgres:// URL whose connections use it. Without TEST_DATABASE_URL the
// test is skipped, or fails when HANGAR_REQUIRE_TOOLS=1.
func SchemaURL(tb testing.TB, prefix string) string {
	tb.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("HANGAR_REQUIRE_TOOLS") == "1" {
			tb.Fatal("TEST_DATABASE_URL not set; scripts/test starts a PostgreSQL server")
		}
		tb.Skip("TEST_DATABASE_URL not set; scripts/test starts a PostgreSQL server")
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := pgx.Identifier{prefix + "_" + hex.EncodeToString(b[:])}
	exec := func(sql string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Fatalf("connect to TEST_DATABASE_URL: %v", err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			tb.Fatalf("%s: %v", sql, err)
		}
	}
	exec("CREATE SCHEMA " + schema.Sanitize())
	tb.Cleanup(func() { exec("DROP SCHEMA " + schema.Sanitize() + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema[0])
	u.RawQuery = q.Encode()
	return u.String()
}
