// Package sigmahqtest finds the SigmaHQ checkout the tests of the SigmaHQ
// subset read their rules from.
package sigmahqtest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Corpus returns the SigmaHQ checkout for tests: $TRIPLINE_SIGMAHQ, else
// the workplace copy (/work/shared/sigmahq-rules, or shared/sigmahq-rules
// next to the project). Missing, the test is skipped; under CI=true it
// fails, as every integration test whose dependency is missing does.
func Corpus(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("TRIPLINE_SIGMAHQ"); p != "" {
		return p
	}
	candidates := []string{"/work/shared/sigmahq-rules"}
	if _, file, _, ok := runtime.Caller(0); ok {
		// sigmahq/sigmahqtest/ -> the project root -> its sibling shared/.
		candidates = append(candidates, filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "sigmahq-rules"))
	}
	for _, p := range candidates {
		if info, err := os.Stat(p); err == nil && info.IsDir() {
			return p
		}
	}
	const msg = "SigmaHQ corpus missing: set TRIPLINE_SIGMAHQ to a checkout of github.com/SigmaHQ/sigma"
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
	return ""
}
