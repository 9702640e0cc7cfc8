package rules

import (
	"fmt"
	"os"

	"github.com/tripline/tripline/yamlbound"
)

// PlaceholderLimits bound a placeholders file (see package yamlbound):
// lists of values a rule expands into, so of the same order as a rule
// file's.
var PlaceholderLimits = yamlbound.Limits{
	Kind:         "placeholders file",
	MaxBytes:     16 << 20,
	MaxNodes:     100_000,
	MaxDepth:     8,
	MaxDocuments: 1,
}

// LoadPlaceholders reads the values of Sigma `|expand` placeholders from a
// YAML file mapping each name (without the percent signs) to a list of
// values:
//
//	Admins: ['admin@*', 'root']
//	CriticalTenants: [county-elections-ks, city-water]
//
// A rule whose placeholder is not in the file is rejected at load with a
// clear error, rather than silently matching nothing.
func LoadPlaceholders(path string) (map[string][]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("placeholders: %w", err)
	}
	var out map[string][]string
	if err := yamlbound.Unmarshal(data, path, PlaceholderLimits, &out); err != nil {
		return nil, fmt.Errorf("placeholders: %w (want a map of name to a list of strings)", err)
	}
	return out, nil
}
