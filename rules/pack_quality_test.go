package rules

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/correlate"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/simulate"
)

var qualityStart = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

const qualityEvents = 200000

type qualityRun struct {
	detections int // medium or higher
	truePos    int // medium+ detections holding at least one attack event
	detected   bool
	latency    time.Duration // first attack event to the first true detection (event time)
	rules      map[string]int
	tpRules    map[string]bool // file names of the rules with true detections
}

var levelRank = map[string]int{"informational": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

// runQuality evaluates the embedded pack on simulated traffic with the given
// attacks, in event-time order, as `rules eval` and the detector do.
func runQuality(t testing.TB, b *Bundle, scenarios []string) qualityRun {
	g, err := simulate.New(simulate.Config{Seed: 1, Start: qualityStart, Events: qualityEvents, Scenarios: scenarios})
	if err != nil {
		t.Fatal(err)
	}
	dec := contract.Decoder{Now: func() time.Time { return qualityStart.Add(30 * 24 * time.Hour) }}
	attack := map[string]bool{}
	var firstAttack time.Time
	off := NewOffline(b, correlate.Config{})
	run := qualityRun{rules: map[string]int{}, tpRules: map[string]bool{}}
	record := func(id, path, level string, eventIDs []string, at time.Time) {
		if levelRank[level] < levelRank["medium"] {
			return
		}
		run.detections++
		run.rules[id]++
		for _, e := range eventIDs {
			if attack[e] {
				run.truePos++
				run.tpRules[strings.TrimSuffix(filepath.Base(path), ".yml")] = true
				if !run.detected {
					run.detected = true
					run.latency = at.Sub(firstAttack)
				}
				break
			}
		}
	}
	for {
		m, ok := g.Next()
		if !ok {
			break
		}
		ev, err := ParseOfflineEvent(&dec, m.Value, fields.Logsource{})
		if err != nil || ev.Contract == nil {
			t.Fatalf("simulated event does not decode: %v %v: %s", err, ev.ContractErr, m.Value)
		}
		if m.Scenario != "" {
			attack[ev.ID] = true
			if firstAttack.IsZero() {
				firstAttack = ev.Contract.Time
			}
		}
		at := ev.Contract.Time
		off.Eval(ev, ev.ID, func(r *engine.Rule) {
			record(r.Identity(), r.Path, r.Level, []string{ev.ID}, at)
		}, func(d correlate.Detection) {
			record(d.Rule.ID, d.Rule.Sigma.Path, d.Rule.Level, d.EventIDs, d.Last)
		})
	}
	off.Flush(func(d correlate.Detection) { record(d.Rule.ID, d.Rule.Sigma.Path, d.Rule.Level, d.EventIDs, d.Last) })
	return run
}

// TestPackQualityOnSimulatedTraffic measures the default pack, plain rules
// and correlations together: benign traffic must raise (almost) nothing of
// medium or higher level, and every injected attack must be detected
// within minutes of event time. The table is the README's precision and
// recall table.
func TestPackQualityOnSimulatedTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and evaluates 1.8M simulated events")
	}
	b, errs := LoadBundle(Source{}, engine.Config{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	benign := runQuality(t, b, nil)
	var lines []string
	lines = append(lines, "| traffic | medium+ detections | attack detections | precision | detected | first detection after | rules that caught it |")
	lines = append(lines, "|---|---|---|---|---|---|---|")
	lines = append(lines, fmt.Sprintf("| benign only | %d | - | - | - | - | %v |", benign.detections, benign.rules))
	if benign.detections > 3 {
		t.Errorf("benign traffic raised %d medium+ detections: %v", benign.detections, benign.rules)
	}
	var names []string
	for _, sc := range simulate.Scenarios() {
		names = append(names, sc.Name)
	}
	sort.Strings(names)
	runs := make([]qualityRun, len(names))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, sc := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			runs[i] = runQuality(t, b, []string{sc})
		})
	}
	wg.Wait()
	for i, sc := range names {
		r := runs[i]
		prec := float64(r.truePos) / float64(max(r.detections, 1))
		var caught []string
		for f := range r.tpRules {
			caught = append(caught, f)
		}
		sort.Strings(caught)
		lines = append(lines, fmt.Sprintf("| %s | %d | %d | %.2f | %v | %s | %s |", sc, r.detections, r.truePos, prec, r.detected, r.latency.Round(time.Second), strings.Join(caught, ", ")))
		if !r.detected {
			t.Errorf("%s: not detected (medium+ detections: %v)", sc, r.rules)
		} else if r.latency > 15*time.Minute {
			t.Errorf("%s: first detection %s after the attack began", sc, r.latency)
		}
	}
	t.Log("\n" + strings.Join(lines, "\n"))
}
