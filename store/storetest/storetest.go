// Package storetest opens a migrated store on a test's ClickHouse server.
// It lives apart from store so that store's own tests, which chserver
// serves, do not form an import cycle.
package storetest

import (
	"context"
	"testing"

	"github.com/tripline/tripline/store"
)

// Migrated opens the default tripline database on addr, applies the
// migrations and closes the store when the test ends.
func Migrated(tb testing.TB, addr string) *store.Store {
	tb.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Addr: addr})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return st
}
