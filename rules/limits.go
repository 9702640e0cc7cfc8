package rules

import "github.com/tripline/tripline/sigma"

// MaxSetNodes bounds a whole rule set, over all its files, in YAML nodes
// after alias expansion (each file is bounded by sigma.FileLimits). All of
// SigmaHQ's 3,141 rules are about 220,000 nodes; a set at the limit is
// some 500 MiB compiled, so a directory of many files at the per-file
// limit cannot take a detector's reload past that.
const MaxSetNodes = 1_000_000

// maxSetNodes is MaxSetNodes; tests lower it.
var maxSetNodes = MaxSetNodes

// setTooLarge is the error for the file that takes a set past the limit;
// the files after it are not read.
func setTooLarge(file string, nodes int) error {
	return sigma.Errorf(sigma.Pos{File: file},
		"the rule set reaches %d YAML nodes with this file, more than the limit of %d for all files loaded together (docs/limits.md); files after it were not read",
		nodes, maxSetNodes)
}
