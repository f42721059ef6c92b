// Package storetest names fresh, throwaway databases for tests of every backend: a SQLite
// file in the test's temporary folder, and a Postgres database of its own on the server that
// TEST_DATABASE_URL names (make test starts one), dropped when the test ends. It opens no
// store itself (so that store's own tests may use it); only tests import it.
package storetest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Backends returns, per backend ("sqlite", "postgres"), a function that names a fresh,
// empty database for one test: SQLite and Postgres below.
func Backends() map[string]func(testing.TB) string {
	return map[string]func(testing.TB) string{"sqlite": SQLite, "postgres": Postgres}
}

// SQLite names a new database file in tb's temporary folder.
func SQLite(tb testing.TB) string {
	return filepath.Join(tb.TempDir(), "test.db")
}

// Postgres creates a database of its own on the server TEST_DATABASE_URL names, drops it
// (with any connection still open) when tb ends, and returns its URL. Without
// TEST_DATABASE_URL it skips tb.
func Postgres(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		tb.Skip("TEST_DATABASE_URL is not set: run `make test`, which starts a throwaway PostgreSQL")
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("clawcensus_test_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err == nil {
			c.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	u.Path = "/" + name
	return u.String()
}
