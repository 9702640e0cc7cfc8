package correlate_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/correlate"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/sigma"
)

// Base rules shared by the tests: each matches one value of "kind".
const base = `title: Failure
name: failure
logsource: {product: test}
detection: {sel: {kind: failure}, condition: sel}
---
title: Success
name: success
logsource: {product: test}
detection: {sel: {kind: success}, condition: sel}
---
title: Push
name: push
logsource: {product: test}
detection: {sel: {kind: push}, condition: sel}
---
title: Session
name: session
logsource: {product: test}
detection: {sel: {kind: session}, condition: sel}
`

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

type harness struct {
	t     *testing.T
	rs    *engine.RuleSet
	set   *correlate.Set
	ev    *correlate.Evaluator
	got   []correlate.Detection
	n     int
	gens  map[string]bool
	plain []string
}

func newHarness(t *testing.T, corr string, cfg correlate.Config) *harness {
	t.Helper()
	coll, err := sigma.ParseBytes([]byte(base+"---\n"+corr), "test.yml")
	if err != nil {
		t.Fatal(err)
	}
	rs, errs := engine.CompileCollection(coll, engine.Config{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	set, errs := correlate.Compile(coll.Correlations, rs)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return &harness{t: t, rs: rs, set: set, ev: correlate.New(set, cfg)}
}

// event feeds one event at t0+at; kv are field, value pairs.
func (h *harness) event(at time.Duration, kv ...any) {
	h.eventID(fmt.Sprintf("e%03d", h.n), at, kv...)
}

func (h *harness) eventID(id string, at time.Duration, kv ...any) {
	h.n++
	doc := map[string]any{"msp": "m1"}
	for i := 0; i+1 < len(kv); i += 2 {
		doc[kv[i].(string)] = kv[i+1]
	}
	src := fields.Map{Doc: doc, Source: fields.Logsource{Product: "test"}}
	var ids []string
	for _, r := range h.rs.Match(src, nil) {
		ids = append(ids, r.Identity())
		if h.set.Generates(r.Identity()) {
			h.plain = append(h.plain, r.Identity())
		}
	}
	h.ev.Process(correlate.Event{Partition: "m1", Time: t0.Add(at), ID: id, Source: src, Matched: ids}, h.collect)
}

func (h *harness) collect(d correlate.Detection) { h.got = append(h.got, d) }

func (h *harness) flush() { h.ev.Flush(h.collect) }

func (h *harness) of(rule string) []correlate.Detection {
	var out []correlate.Detection
	for _, d := range h.got {
		if d.Rule.ID == rule {
			out = append(out, d)
		}
	}
	return out
}

func (h *harness) want(rule string, n int) []correlate.Detection {
	h.t.Helper()
	ds := h.of(rule)
	if len(ds) != n {
		var s []string
		for _, d := range h.got {
			s = append(s, d.Summary)
		}
		h.t.Fatalf("%s: %d detections, want %d (all: %q)", rule, len(ds), n, s)
	}
	return ds
}

func TestEventCountSlidingWindow(t *testing.T) {
	h := newHarness(t, `title: Many failures
name: many_failures
correlation: {type: event_count, rules: [failure], group-by: [user], timespan: 5m, condition: {gte: 3}}
level: medium
`, correlate.Config{})
	// Three failures 4 minutes apart: never three within 5m.
	for i := range 3 {
		h.event(time.Duration(i)*4*time.Minute, "kind", "failure", "user", "a")
	}
	h.want("many_failures", 0)
	// Another user: three within two minutes.
	for i := range 3 {
		h.event(20*time.Minute+time.Duration(i)*time.Minute, "kind", "failure", "user", "b")
	}
	d := h.want("many_failures", 1)[0]
	if d.Value != 3 || d.Group[0] != "b" || len(d.EventIDs) != 3 || d.Events != 3 {
		t.Errorf("detection %+v", d)
	}
	if !strings.Contains(d.Summary, "3 events in 5m; threshold gte 3") || !strings.Contains(d.Summary, "user=b") {
		t.Errorf("summary %q", d.Summary)
	}
	if !d.First.Equal(t0.Add(20*time.Minute)) || !d.Last.Equal(t0.Add(22*time.Minute)) {
		t.Errorf("first %s last %s", d.First, d.Last)
	}
	// Muted for a timespan after firing: a fourth failure at once does not
	// fire again.
	h.event(23*time.Minute, "kind", "failure", "user", "b")
	h.want("many_failures", 1)
}

// A replay gives the same detections with the same keys, and late events
// (within the allowed lateness) count as if they had come in order.
func TestReplayDeterministicAndLateEvents(t *testing.T) {
	corr := `title: Many failures
name: many_failures
correlation: {type: event_count, rules: [failure], group-by: [user], timespan: 5m, condition: {gte: 3}}
`
	run := func(order []int) []string {
		h := newHarness(t, corr, correlate.Config{AllowedLateness: 2 * time.Minute})
		for _, i := range order {
			h.eventID(fmt.Sprintf("id-%d", i), time.Duration(i)*time.Minute, "kind", "failure", "user", "a")
		}
		var keys []string
		for _, d := range h.got {
			keys = append(keys, strings.Join(d.Key, ","))
		}
		return keys
	}
	inOrder := run([]int{0, 1, 2})
	late := run([]int{0, 2, 1}) // id-1 arrives a minute late
	if len(inOrder) != 1 || fmt.Sprint(inOrder) != fmt.Sprint(late) || fmt.Sprint(inOrder) != fmt.Sprint(run([]int{0, 1, 2})) {
		t.Fatalf("in order %v, late %v", inOrder, late)
	}
	if inOrder[0] != "id-0,id-1,id-2" {
		t.Errorf("key %q", inOrder[0])
	}
	// Beyond the allowed lateness an event is skipped and counted.
	h := newHarness(t, corr, correlate.Config{AllowedLateness: time.Minute})
	h.event(10*time.Minute, "kind", "failure", "user", "a")
	h.event(0, "kind", "failure", "user", "a")
	if s := h.ev.Stats(); s.Late != 1 {
		t.Errorf("late = %d, want 1", s.Late)
	}
}

func TestValueCountDistinctTenants(t *testing.T) {
	h := newHarness(t, `title: Push to many tenants
id: 6f1c7a1e-0000-4000-8000-000000000001
correlation:
  type: value_count
  rules: [push]
  group-by: [actor.user]
  timespan: 10m
  condition: {field: tenant, gte: 3}
`, correlate.Config{})
	// Same tenant many times: one distinct value.
	for i := range 5 {
		h.event(time.Duration(i)*time.Second, "kind", "push", "actor", map[string]any{"user": "x"}, "tenant", "t1")
	}
	h.want("6f1c7a1e-0000-4000-8000-000000000001", 0)
	h.event(time.Minute, "kind", "push", "actor", map[string]any{"user": "x"}, "tenant", "t2")
	h.event(2*time.Minute, "kind", "push", "actor", map[string]any{"user": "x"}, "tenant", "t3")
	d := h.want("6f1c7a1e-0000-4000-8000-000000000001", 1)[0]
	if !strings.Contains(d.Summary, "3 distinct tenant in 10m; threshold gte 3") || d.Group[0] != "x" {
		t.Errorf("summary %q", d.Summary)
	}
	// One event per distinct value (the latest) forms the detection.
	if len(d.EventIDs) != 3 || d.EventIDs[0] != "e004" {
		t.Errorf("event IDs %v", d.EventIDs)
	}
}

func TestTemporalOrderedChainOfCorrelations(t *testing.T) {
	h := newHarness(t, `title: Brute force then success
id: bf-then-success
correlation:
  type: temporal_ordered
  rules: [many_failures, success]
  group-by: [user]
  timespan: 30m
level: high
---
title: Many failures
name: many_failures
correlation: {type: event_count, rules: [failure], group-by: [user], timespan: 10m, condition: {gte: 5}}
`, correlate.Config{})
	// Success before the failures: wrong order.
	h.event(0, "kind", "success", "user", "a")
	for i := range 5 {
		h.event(time.Minute+time.Duration(i)*time.Second, "kind", "failure", "user", "a")
	}
	h.want("many_failures", 0) // silent: referenced, generate false
	h.want("bf-then-success", 0)
	// A success after the failures.
	h.event(5*time.Minute, "kind", "success", "user", "a")
	d := h.want("bf-then-success", 1)[0]
	if d.Events != 6 || !strings.Contains(d.Summary, "many_failures then success within 30m") {
		t.Errorf("%d events, summary %q", d.Events, d.Summary)
	}
	// The chained event_count's own detection was produced internally but
	// is not generated (generate defaults to false).
	if h.set.Generates("many_failures") || h.set.Generates("success") || !h.set.Generates("bf-then-success") {
		t.Error("generate semantics")
	}
	if len(h.plain) != 0 {
		t.Errorf("referenced rules generated: %v", h.plain)
	}
}

func TestTemporalAnyOrderAndGenerate(t *testing.T) {
	h := newHarness(t, `title: Push and session
id: push-and-session
correlation:
  type: temporal
  rules: [push, session]
  group-by: [tenant]
  timespan: 1h
  generate: true
`, correlate.Config{})
	h.event(0, "kind", "session", "tenant", "t1")
	h.event(30*time.Minute, "kind", "push", "tenant", "t2") // other tenant
	h.want("push-and-session", 0)
	h.event(50*time.Minute, "kind", "push", "tenant", "t1")
	h.want("push-and-session", 1)
	if !h.set.Generates("push") || len(h.plain) != 3 {
		t.Errorf("generate: true keeps the referenced rules: %v", h.plain)
	}
	// Too far apart.
	h.event(3*time.Hour, "kind", "session", "tenant", "t3")
	h.event(5*time.Hour, "kind", "push", "tenant", "t3")
	h.want("push-and-session", 1)
}

func TestAliases(t *testing.T) {
	h := newHarness(t, `title: Failure then session to the same host
id: alias-test
correlation:
  type: temporal_ordered
  rules: [failure, session]
  group-by: [host]
  timespan: 10m
  aliases:
    host:
      failure: source.host
      session: target.host
`, correlate.Config{})
	h.event(0, "kind", "failure", "source", map[string]any{"host": "h1"})
	h.event(time.Minute, "kind", "session", "target", map[string]any{"host": "h2"})
	h.want("alias-test", 0)
	h.event(2*time.Minute, "kind", "session", "target", map[string]any{"host": "h1"})
	if d := h.want("alias-test", 1)[0]; d.Group[0] != "h1" {
		t.Errorf("group %v", d.Group)
	}
}

func TestValueTypes(t *testing.T) {
	h := newHarness(t, `title: Big transfer
id: sum
correlation: {type: value_sum, rules: [session], group-by: [user], timespan: 1h, condition: {field: bytes, gt: 1000}}
---
title: Long sessions on average
id: avg
correlation: {type: value_avg, rules: [session], group-by: [user], timespan: 1h, condition: {field: bytes, gte: 400, lte: 600}}
---
title: p90 of sessions
id: pct
correlation: {type: value_percentile, rules: [session], group-by: [user], timespan: 1h, percentile: 90, condition: {field: bytes, gte: 900}}
---
title: Few sessions
id: few
correlation: {type: event_count, rules: [session], group-by: [user], timespan: 1h, condition: {lt: 3}}
---
title: Not exactly two
id: neq
correlation: {type: event_count, rules: [session], group-by: [user], timespan: 1h, condition: {neq: 2}}
`, correlate.Config{AllowedLateness: time.Minute})
	for i, b := range []int{100, 500, 900} {
		h.event(time.Duration(i)*time.Minute, "kind", "session", "user", "u", "bytes", b)
	}
	h.want("sum", 1)                                                    // 1500 > 1000, as soon as it holds
	h.want("avg", 0)                                                    // evaluated when the window closes
	h.event(2*time.Hour, "kind", "session", "user", "v", "bytes", "10") // advances event time
	d := h.want("avg", 1)[0]
	if d.Value != 500 || !strings.Contains(d.Summary, "average bytes 500 over 3 events in 1h; threshold gte 400 and lte 600") {
		t.Errorf("avg %v %q", d.Value, d.Summary)
	}
	if h.want("pct", 1)[0].Value != 900 {
		t.Error("p90")
	}
	h.want("few", 0) // 3 events: not < 3
	h.want("neq", 1)
	h.flush() // closes v's window: one event
	h.want("few", 1)
	if d := h.want("neq", 2)[1]; d.Key[0] != "window" {
		t.Errorf("closing windows are keyed by group and window start: %v", d.Key)
	}
}

func TestEventIDsCapped(t *testing.T) {
	h := newHarness(t, `title: Flood
id: flood
correlation: {type: value_count, rules: [push], group-by: [user], timespan: 1h, condition: {field: tenant, gte: 150}}
`, correlate.Config{})
	for i := range 150 {
		h.event(time.Duration(i)*time.Second, "kind", "push", "user", "u", "tenant", fmt.Sprint("t", i))
	}
	d := h.want("flood", 1)[0]
	if len(d.EventIDs) != 100 || d.Events != 150 || len(d.Key) != 150 || !strings.Contains(d.Summary, "150 events, first 100 listed") {
		t.Errorf("%d ids, %d events, %d key, %q", len(d.EventIDs), d.Events, len(d.Key), d.Summary)
	}
}

func TestFirstSeenLearningAndHistory(t *testing.T) {
	h := newHarness(t, `title: New country
id: new-country
correlation:
  type: first_seen
  rules: [success]
  group-by: [user]
  timespan: 30d
  learning: 2d
  condition: {field: country}
level: medium
`, correlate.Config{})
	day := 24 * time.Hour
	h.event(0, "kind", "success", "user", "a", "country", "GB")
	h.event(day, "kind", "success", "user", "a", "country", "IE") // still learning
	h.want("new-country", 0)
	h.event(3*day, "kind", "success", "user", "a", "country", "IE")
	h.event(3*day, "kind", "success", "user", "a", "country", "GB")
	h.want("new-country", 0)
	h.event(4*day, "kind", "success", "user", "a", "country", "RU")
	d := h.want("new-country", 1)[0]
	if !strings.Contains(d.Summary, "first country=RU") || d.Group[0] != "a" {
		t.Errorf("%q", d.Summary)
	}
	// A new user learns first.
	h.event(4*day, "kind", "success", "user", "b", "country", "RU")
	h.want("new-country", 1)
	// Unseen for longer than the history: new again.
	h.event(40*day, "kind", "success", "user", "a", "country", "GB")
	h.want("new-country", 2)
}

func TestDormant(t *testing.T) {
	h := newHarness(t, `title: Dormant account
id: dormant
correlation:
  type: dormant
  rules: [success]
  group-by: [user]
  timespan: 14d
  learning: 7d
level: high
`, correlate.Config{})
	day := 24 * time.Hour
	h.event(0, "kind", "success", "user", "a")
	h.event(0, "kind", "success", "user", "b")
	h.event(3*day, "kind", "success", "user", "c") // new, but still learning
	h.event(10*day, "kind", "success", "user", "a")
	h.want("dormant", 0)
	h.event(20*day, "kind", "success", "user", "b") // unseen 20 days
	d := h.want("dormant", 1)[0]
	if !strings.Contains(d.Summary, "active again after 20d unseen") {
		t.Errorf("%q", d.Summary)
	}
	h.event(21*day, "kind", "success", "user", "z") // never seen in 21 days
	if d := h.want("dormant", 2)[1]; !strings.Contains(d.Summary, "first activity in 21d of observed history") {
		t.Errorf("%q", d.Summary)
	}
}

func TestBaseline(t *testing.T) {
	h := newHarness(t, `title: Unusual push volume
id: baseline
correlation:
  type: baseline
  rules: [push]
  group-by: [msp]
  timespan: 1h
  history: 7d
  learning: 2d
  multiple: 4
  condition: {field: tenant, gte: 5}
level: medium
`, correlate.Config{})
	// Three days of two distinct tenants an hour, then eight in one hour.
	for hr := range 72 {
		for i := range 2 {
			h.event(time.Duration(hr)*time.Hour+time.Duration(i)*time.Minute, "kind", "push", "tenant", fmt.Sprint("t", i))
		}
	}
	h.want("baseline", 0)
	for i := range 12 {
		h.event(72*time.Hour+time.Duration(i)*time.Minute, "kind", "push", "tenant", fmt.Sprint("t", i))
	}
	// The minimum volume (5) is met before the baseline (4 × mean 2 = 8):
	// it fires once, at 9, in that bucket.
	d := h.want("baseline", 1)[0]
	if d.Value != 9 || !strings.Contains(d.Summary, "9 distinct tenant in the 1h") || !strings.Contains(d.Summary, "4× mean 2 = 8") {
		t.Errorf("%v %q", d.Value, d.Summary)
	}
}

func TestStateExpiresAndSwapKeepsUnchanged(t *testing.T) {
	corr := `title: Many failures
name: many_failures
correlation: {type: event_count, rules: [failure], group-by: [user], timespan: 5m, condition: {gte: 3}}
`
	h := newHarness(t, corr, correlate.Config{})
	for i := range 1000 {
		h.event(time.Duration(i)*time.Second, "kind", "failure", "user", fmt.Sprint("u", i))
	}
	if s := h.ev.Stats(); s.Groups != 1000 || s.Bytes == 0 {
		t.Fatalf("stats %+v", s)
	}
	// Reload with the same definition: state kept.
	coll, _ := sigma.ParseBytes([]byte(base+"---\n"+corr), "test.yml")
	set2, _ := correlate.Compile(coll.Correlations, h.rs)
	h.ev.SetRules(set2)
	if s := h.ev.Stats(); s.Groups != 1000 {
		t.Fatalf("state lost on reload: %+v", s)
	}
	// Two hours later, one sweep drops every expired group.
	for i := range 4096 {
		h.event(2*time.Hour+time.Duration(i)*time.Millisecond, "kind", "success", "user", "x")
	}
	h.event(3*time.Hour, "kind", "failure", "user", "late")
	if s := h.ev.Stats(); s.Groups > 1 {
		t.Errorf("state not expired: %+v", s)
	}
}

// TestReloadKeepsOrDropsState: through reloads, the state of an unchanged
// correlation carries over and that of a changed one starts over, also
// where the evaluator caches states by position in the Set.
func TestReloadKeepsOrDropsState(t *testing.T) {
	const corr = `title: Failures
name: failures
correlation: {type: event_count, rules: [failure], group-by: [user], timespan: 5m, condition: {gte: 2}}
`
	h := newHarness(t, corr, correlate.Config{})
	reload := func(def string) {
		coll, err := sigma.ParseBytes([]byte(base+"---\n"+def), "test.yml")
		if err != nil {
			t.Fatal(err)
		}
		set, errs := correlate.Compile(coll.Correlations, h.rs)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		h.ev.SetRules(set)
	}
	h.event(0, "kind", "failure", "user", "alice")
	reload(corr) // unchanged: the first failure counts
	h.event(time.Second, "kind", "failure", "user", "alice")
	h.want("failures", 1) // and alice's group is muted for 5m
	reload(strings.Replace(corr, "timespan: 5m", "timespan: 6m", 1))
	h.event(2*time.Second, "kind", "failure", "user", "alice")
	h.want("failures", 1)
	h.event(3*time.Second, "kind", "failure", "user", "alice") // a new group, not muted
	h.want("failures", 2)
}

func TestCompileErrors(t *testing.T) {
	for _, c := range []struct{ corr, want string }{
		{`correlation: {type: event_count, rules: [nope], group-by: [u], timespan: 5m, condition: {gte: 3}}`, "unknown rule"},
		{`correlation: {type: value_count, rules: [push], group-by: [u], timespan: 5m, condition: {gte: 3}}`, "needs condition.field"},
		{`correlation: {type: temporal, rules: [push], group-by: [u], timespan: 5m}`, "at least two rules"},
		{`correlation: {type: baseline, rules: [push], group-by: [u], timespan: 1h, condition: {gte: 3}}`, "needs history"},
		{"name: a\ncorrelation: {type: temporal, rules: [b, push], group-by: [u], timespan: 5m}\n---\nname: b\ncorrelation: {type: temporal, rules: [a, push], group-by: [u], timespan: 5m}", "cycle"},
	} {
		coll, err := sigma.ParseBytes([]byte(base+"---\ntitle: x\n"+c.corr), "test.yml")
		if err != nil {
			t.Fatalf("%s: %v", c.corr, err)
		}
		rs, _ := engine.CompileCollection(coll, engine.Config{})
		_, errs := correlate.Compile(coll.Correlations, rs)
		if len(errs) == 0 || !strings.Contains(fmt.Sprint(errs), c.want) {
			t.Errorf("%s: errors %v, want %q", c.corr, errs, c.want)
		}
	}
}
