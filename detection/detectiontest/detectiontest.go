// Package detectiontest holds what tests of the event-time guarantee
// share: the detections offline evaluation finds, and how two sets of
// detections differ.
package detectiontest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tripline/tripline/alert"
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

// OfflineAlerts is the alerts `tripline rules eval --alerts` forms from
// evs: alert ID -> count of detections.
func OfflineAlerts(snap *detection.Snapshot, evs []contract.Event) map[string]uint64 {
	core := detection.New(snap, detection.Config{})
	g := alert.NewGrouper(alert.Config{Hold: snap.AlertHold()})
	out := map[string]uint64{}
	emit := func(r detection.Result) {
		rec := r.Record(time.Time{}, detection.Coordinates{})
		for _, a := range snap.Group(g, r, &rec).Alerts {
			out[a.AlertID] = a.Count
		}
	}
	for i := range evs {
		in := detection.ContractEvent(&evs[i])
		core.Process(&in, emit)
	}
	core.Flush(emit)
	return out
}

// DiffAlerts lists how two sets of alerts (ID -> count) differ.
func DiffAlerts(want, got map[string]uint64) string {
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(want)) {
		if got[id] != want[id] {
			fmt.Fprintf(&b, "alert %s: count %d, want %d\n", id, got[id], want[id])
		}
	}
	for _, id := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[id]; !ok {
			fmt.Fprintf(&b, "alert %s: count %d, not offline\n", id, got[id])
		}
	}
	return b.String()
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
