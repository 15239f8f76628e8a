// Package testdb is what the stores' tests share: the database of the adapters' tests
// (VAREL_ADAPTERS_DATABASE_URL, which `make test-env` writes to target/test.env) and a look at
// the sessions table as its owner sees it.
package testdb

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Pool connects to the adapters' test database; the test fails without one (never skipped).
func Pool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	url := os.Getenv("VAREL_ADAPTERS_DATABASE_URL")
	if url == "" {
		t.Fatal("VAREL_ADAPTERS_DATABASE_URL is not set: run `make test-env` and `. target/test.env`")
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Int runs a query of one integer (a count) as the test database's superuser.
func Int(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// Stored is how many rows hold the id (a framework id or a token) under its hash.
func Stored(t *testing.T, pool *pgxpool.Pool, id string) int64 {
	t.Helper()
	return Int(t, pool, `SELECT count(*) FROM varel_session.sessions WHERE token_hash IN (
		sha256(convert_to('varel_session framework id:' || $1, 'UTF8')),
		sha256(decode(CASE WHEN $1 ~ '^[0-9a-f]{64}$' THEN $1 END, 'hex')))`, id)
}

// Rows is how many sessions the table holds.
func Rows(t *testing.T, pool *pgxpool.Pool) int64 {
	return Int(t, pool, "SELECT count(*) FROM varel_session.sessions")
}

// Mentions is how many rows have text in their data (a token must never be there).
func Mentions(t *testing.T, pool *pgxpool.Pool, text string) int64 {
	return Int(t, pool, "SELECT count(*) FROM varel_session.sessions WHERE strpos(data::text, $1) > 0", text)
}
