// Package detectiontest holds what tests of the event-time guarantee
// share: the detections offline evaluation finds, and how two sets of
// detections differ.
package detectiontest

import (
	"fmt"
	"slices"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/detection"
)

// Offline is what `tripline rules eval` finds in evs: detection ID -> rule.
func Offline(snap *detection.Snapshot, evs []contract.Event) map[string]string {
	core := detection.New(snap, detection.Config{})
	out := map[string]string{}
	emit := func(r detection.Result) { out[r.ID()] = r.RuleID() }
	for i := range evs {
		in := detection.ContractEvent(&evs[i])
		core.Process(&in, emit)
	}
	core.Flush(emit)
	return out
}

// Correlations counts the detections in ds that correlations raised.
func Correlations(snap *detection.Snapshot, ds map[string]string) int {
	n := 0
	for _, rule := range ds {
		for _, c := range snap.Correlations.Rules() {
			if c.ID == rule {
				n++
				break
			}
		}
	}
	return n
}

// Diff names, by rule, the detections only one side has; "" when equal.
func Diff(want, got map[string]string) string {
	var missing, extra []string
	for id, rule := range want {
		if _, ok := got[id]; !ok {
			missing = append(missing, rule)
		}
	}
	for id, rule := range got {
		if _, ok := want[id]; !ok {
			extra = append(extra, rule)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return ""
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return fmt.Sprintf("missing %d: %v\nextra %d: %v", len(missing), missing, len(extra), extra)
}
