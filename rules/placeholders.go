package rules

import (
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

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
	if err := yaml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("placeholders %s: %w (want a map of name to a list of strings)", path, err)
	}
	return out, nil
}
