package alert

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/record"
)

var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func fixedClock() func() time.Time { return func() time.Time { return t0.Add(48 * time.Hour) } }

// ev is a contract event: the Source detections carry.
type ev struct {
	id, msp, tenant, user, ip, pkg, script string
	at                                     time.Duration // after t0
}

func (e ev) source() *contract.Event {
	c := &contract.Event{EventID: e.id, EventType: contract.TypeSoftwarePush, Time: t0.Add(e.at), MSP: e.msp, Tenant: e.tenant}
	c.Actor.User, c.Actor.IP, c.Package.SHA256, c.Script.SHA256 = e.user, e.ip, e.pkg, e.script
	return c
}

// det is a plain rule's detection of e.
func det(rule, level string, e ev) (record.Detection, fields.Source) {
	src := e.source()
	return record.Detection{
		DetectionID: rule + "/" + e.id, RuleID: rule, RuleTitle: "title " + rule, Level: level,
		MSP: e.msp, Tenant: e.tenant, ActorUser: e.user, FirstTime: src.Time, LastTime: src.Time,
		EventIDs: []string{e.id}, Summary: "summary " + e.id,
	}, src
}

func TestIDsArePinned(t *testing.T) {
	// These values are stored and delivered: a change here breaks
	// deduplication of every replay. Never update them.
	fp := Fingerprint("rule-1", []string{"msp", "tenant", "actor.user"}, []string{"msp-a", "t-1", "tech1"})
	ws := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	got := []string{fp, AlertID(fp, ws), IncidentID("msp-a", "package.sha256", "abc", ws)}
	want := []string{
		"ba8809ac5ffdbdfc684b875a5c89de0d",
		"fd627a5f-d5fb-5228-a8bf-51dede0d446f",
		"1f46158e-d062-587e-a15a-52ca79e3295a",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("IDs = %q, want %q", got, want)
	}
}

func TestFingerprintSeparatesFields(t *testing.T) {
	a := Fingerprint("r", []string{"a", "b"}, []string{"x\x00b", ""})
	b := Fingerprint("r", []string{"a", "b"}, []string{"x", "b"})
	c := Fingerprint("r", []string{"a"}, []string{"x"})
	d := Fingerprint("r2", []string{"a"}, []string{"x"})
	if a == b || b == c || c == d {
		t.Fatalf("fingerprints collide: %s %s %s %s", a, b, c, d)
	}
}

func TestWindowStart(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		w    time.Duration
		want time.Time
	}{
		{time.Date(2026, 12, 1, 23, 59, 59, 999, time.UTC), 24 * time.Hour, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), 24 * time.Hour, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 12, 2, 1, 30, 0, 0, time.FixedZone("x", 3600)), time.Hour, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)},
		// 7 days aligned on the epoch (a Thursday), not on year 1.
		{time.Date(1970, 1, 8, 0, 0, 0, 0, time.UTC), 7 * 24 * time.Hour, time.Date(1970, 1, 8, 0, 0, 0, 0, time.UTC)},
		{time.Date(1969, 12, 31, 12, 0, 0, 0, time.UTC), 24 * time.Hour, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)},
		{time.Time{}, 24 * time.Hour, time.Unix(0, 0).UTC()},
		{time.Date(2026, 12, 2, 0, 0, 0, 5, time.UTC), 0, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)},
	} {
		if got := WindowStart(tc.t, tc.w); !got.Equal(tc.want) {
			t.Errorf("WindowStart(%v, %v) = %v, want %v", tc.t, tc.w, got, tc.want)
		}
	}
}

func TestEntityPrecedence(t *testing.T) {
	for _, tc := range []struct {
		e          ev
		kind, want string
	}{
		{ev{user: "u", ip: "1.2.3.4", pkg: "P", script: "S"}, "package.sha256", "P"},
		{ev{user: "u", ip: "1.2.3.4", script: "S"}, "script.sha256", "S"},
		{ev{user: "u", ip: "1.2.3.4"}, "actor.user", "u"},
		{ev{ip: "1.2.3.4"}, "actor.ip", "1.2.3.4"},
		{ev{}, "", ""},
	} {
		kind, v, ok := Entity(tc.e.source())
		if kind != tc.kind || v != tc.want || ok != (tc.kind != "") {
			t.Errorf("Entity(%+v) = %q %q %v, want %q %q", tc.e, kind, v, ok, tc.kind, tc.want)
		}
	}
}

func TestGrouper(t *testing.T) {
	type in struct {
		rule, level string
		e           ev
	}
	type alertWant struct {
		rule, tenant, level string
		count               uint64
		events              []string
		group               []string
	}
	pushPolicy := Policy{GroupBy: []string{"msp", "package.sha256"}}
	for _, tc := range []struct {
		name      string
		policy    Policy
		in        []in
		alerts    []alertWant
		incidents [][]string // tenants of each incident, by first time
		levels    []string   // level of each incident
		kinds     []string   // message kinds, in order
	}{
		{
			name: "a repeat inside the window raises the count",
			in: []in{
				{"r1", "medium", ev{id: "e1", msp: "m", tenant: "t1", user: "u1", at: time.Hour}},
				{"r1", "medium", ev{id: "e2", msp: "m", tenant: "t1", user: "u1", at: 2 * time.Hour}},
				{"r1", "medium", ev{id: "e2", msp: "m", tenant: "t1", user: "u1", at: 2 * time.Hour}}, // replayed
			},
			alerts:    []alertWant{{"r1", "t1", "medium", 2, []string{"e1", "e2"}, []string{"m", "t1", "u1"}}},
			incidents: [][]string{{"t1"}}, levels: []string{"medium"},
			kinds: []string{KindOpened, KindUpdated},
		},
		{
			name: "the next window is a new alert",
			in: []in{
				{"r1", "low", ev{id: "e1", msp: "m", tenant: "t1", user: "u1", at: time.Hour}},
				{"r1", "low", ev{id: "e2", msp: "m", tenant: "t1", user: "u1", at: 25 * time.Hour}},
			},
			alerts: []alertWant{
				{"r1", "t1", "low", 1, []string{"e1"}, []string{"m", "t1", "u1"}},
				{"r1", "t1", "low", 1, []string{"e2"}, []string{"m", "t1", "u1"}},
			},
			incidents: [][]string{{"t1"}, {"t1"}}, levels: []string{"low", "low"},
			kinds: []string{KindOpened, KindOpened},
		},
		{
			name: "other tenants and users are other alerts, one incident by package",
			in: []in{
				{"r1", "high", ev{id: "e1", msp: "m", tenant: "t1", user: "u1", pkg: "P", at: time.Hour}},
				{"r1", "high", ev{id: "e2", msp: "m", tenant: "t2", user: "u1", pkg: "P", at: time.Hour}},
				{"r2", "critical", ev{id: "e3", msp: "m", tenant: "t3", user: "u2", pkg: "P", at: time.Hour}},
				{"r1", "high", ev{id: "e4", msp: "other", tenant: "t1", user: "u1", pkg: "P", at: time.Hour}},
			},
			alerts: []alertWant{
				{"r1", "t1", "high", 1, []string{"e1"}, []string{"m", "t1", "u1"}},
				{"r1", "t1", "high", 1, []string{"e4"}, []string{"other", "t1", "u1"}},
				{"r1", "t2", "high", 1, []string{"e2"}, []string{"m", "t2", "u1"}},
				{"r2", "t3", "critical", 1, []string{"e3"}, []string{"m", "t3", "u2"}},
			},
			// Same first time: by incident ID.
			incidents: [][]string{{"t1"}, {"t1", "t2", "t3"}}, levels: []string{"high", "critical"},
			kinds: []string{KindOpened, KindOpened, KindOpened, KindOpened},
		},
		{
			name:   "a mass push grouped by package is one alert",
			policy: pushPolicy,
			in: []in{
				{"push", "high", ev{id: "e1", msp: "m", tenant: "t1", user: "u1", pkg: "P", at: time.Hour}},
				{"push", "high", ev{id: "e2", msp: "m", tenant: "t2", user: "u1", pkg: "P", at: time.Hour}},
				{"push", "high", ev{id: "e3", msp: "m", tenant: "t3", user: "u1", pkg: "P", at: 30 * time.Minute}},
			},
			alerts:    []alertWant{{"push", "t3", "high", 3, []string{"e3", "e1", "e2"}, []string{"m", "P"}}},
			incidents: [][]string{{"t1", "t2", "t3"}}, levels: []string{"high"},
			kinds: []string{KindOpened, KindUpdated, KindUpdated},
		},
		{
			name: "an earlier detection moves the alert to its incident",
			in: []in{
				{"r1", "low", ev{id: "e2", msp: "m", tenant: "t1", user: "u1", pkg: "P2", at: 2 * time.Hour}},
				{"r1", "low", ev{id: "e1", msp: "m", tenant: "t1", user: "u1", pkg: "P1", at: time.Hour}},
			},
			alerts:    []alertWant{{"r1", "t1", "low", 2, []string{"e1", "e2"}, []string{"m", "t1", "u1"}}},
			incidents: [][]string{{"t1"}}, levels: []string{"low"},
			kinds: []string{KindOpened, KindUpdated},
		},
		{
			name: "no entity, no incident",
			in: []in{
				{"r1", "low", ev{id: "e1", msp: "m", tenant: "t1", at: time.Hour}},
			},
			alerts: []alertWant{{"r1", "t1", "low", 1, []string{"e1"}, []string{"m", "t1", ""}}},
			kinds:  []string{KindOpened},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGrouper(Config{Now: fixedClock()})
			var kinds []string
			for _, x := range tc.in {
				d, src := det(x.rule, x.level, x.e)
				ch := g.Add(&d, src, tc.policy)
				if d.AlertID == "" {
					t.Fatalf("%s: no alert ID", d.DetectionID)
				}
				for _, m := range ch.Messages {
					kinds = append(kinds, m.Kind)
				}
			}
			if !slices.Equal(kinds, tc.kinds) {
				t.Errorf("message kinds = %v, want %v", kinds, tc.kinds)
			}
			alerts := g.Alerts()
			slices.SortFunc(alerts, func(a, b record.Alert) int {
				return cmpStrings(a.RuleID+a.Tenant+a.MSP, b.RuleID+b.Tenant+b.MSP)
			})
			if len(alerts) != len(tc.alerts) {
				t.Fatalf("%d alerts, want %d: %+v", len(alerts), len(tc.alerts), alerts)
			}
			incidents := map[string]bool{}
			for i, w := range tc.alerts {
				a := alerts[i]
				if a.RuleID != w.rule || a.Tenant != w.tenant || a.Level != w.level || a.Count != w.count ||
					!slices.Equal(a.EventIDs, w.events) || !slices.Equal(a.GroupValues, w.group) {
					t.Errorf("alert %d = %+v, want %+v", i, a, w)
				}
				if a.AlertID != AlertID(a.Fingerprint, a.WindowStart) || a.Fingerprint != Fingerprint(a.RuleID, a.GroupKeys, a.GroupValues) {
					t.Errorf("alert %d: IDs are not the pure functions", i)
				}
				if a.IncidentID != "" {
					incidents[a.IncidentID] = true
				}
			}
			inc := g.Incidents()
			if len(inc) != len(tc.incidents) || len(incidents) != len(inc) {
				t.Fatalf("incidents = %+v, want tenants %v", inc, tc.incidents)
			}
			for i, w := range tc.incidents {
				if !slices.Equal(inc[i].Tenants, w) || inc[i].Level != tc.levels[i] || !incidents[inc[i].IncidentID] {
					t.Errorf("incident %d = %+v, want tenants %v level %s", i, inc[i], w, tc.levels[i])
				}
			}
		})
	}
}

func cmpStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestSamplesAreCapped(t *testing.T) {
	g := NewGrouper(Config{Now: fixedClock()})
	// Arrive newest first: the kept samples are still the earliest.
	for i := 3 * MaxSamples; i > 0; i-- {
		d, src := det("r", "low", ev{id: fmt.Sprintf("e%03d", i), msp: "m", tenant: "t", user: "u", at: time.Duration(i) * time.Second})
		g.Add(&d, src, Policy{})
	}
	a := g.Alerts()[0]
	if a.Count != 3*MaxSamples || len(a.EventIDs) != MaxSamples || a.EventIDs[0] != "e001" || a.EventIDs[MaxSamples-1] != fmt.Sprintf("e%03d", MaxSamples) {
		t.Fatalf("count %d, samples %v", a.Count, a.EventIDs)
	}
	if !a.FirstTime.Equal(t0.Add(time.Second)) || !a.LastTime.Equal(t0.Add(3*MaxSamples*time.Second)) {
		t.Fatalf("first %v last %v", a.FirstTime, a.LastTime)
	}
}

func TestAdvanceResolvesAndForgets(t *testing.T) {
	g := NewGrouper(Config{Now: fixedClock()})
	d1, s1 := det("r", "low", ev{id: "e1", msp: "m", tenant: "t", user: "u", at: time.Hour})      // window 12-01
	d2, s2 := det("r", "low", ev{id: "e2", msp: "m", tenant: "t", user: "u", at: 30 * time.Hour}) // window 12-02
	d3, s3 := det("c", "high", ev{id: "e3", msp: "m", tenant: "t", user: "u", at: time.Hour})     // correlation, lag 1h
	g.Add(&d1, s1, Policy{})
	g.Add(&d2, s2, Policy{})
	g.Add(&d3, s3, Policy{Lag: time.Hour})
	day2 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	if ch := g.Advance("other", day2); !ch.Empty() {
		t.Fatalf("another msp's watermark resolved %+v", ch)
	}
	ch := g.Advance("m", day2)
	if len(ch.Messages) != 1 || ch.Messages[0].Kind != KindResolved || ch.Messages[0].Alert.AlertID != d1.AlertID {
		t.Fatalf("resolved %+v, want %s only", ch.Messages, d1.AlertID)
	}
	if ch := g.Advance("m", day2.Add(-time.Minute)); !ch.Empty() {
		t.Fatal("a watermark going back resolved something")
	}
	// The first window's alert is gone: a late detection of it gets its
	// IDs but changes nothing.
	late, ls := det("r", "low", ev{id: "e0", msp: "m", tenant: "t", user: "u", at: 2 * time.Hour})
	if ch := g.Add(&late, ls, Policy{}); !ch.Empty() || late.AlertID != d1.AlertID || g.Stats().Late != 1 {
		t.Fatalf("late detection: %+v, alert %s, stats %+v", ch, late.AlertID, g.Stats())
	}
	// The correlation's alert waits for its lag.
	d4, s4 := det("c", "high", ev{id: "e4", msp: "m", tenant: "t", user: "u", at: 23 * time.Hour})
	if ch := g.Add(&d4, s4, Policy{Lag: time.Hour}); len(ch.Messages) != 1 || ch.Messages[0].Kind != KindUpdated {
		t.Fatalf("correlation inside its lag: %+v", ch)
	}
	ch = g.Advance("m", day2.Add(time.Hour))
	if len(ch.Messages) != 1 || ch.Messages[0].Alert.AlertID != d3.AlertID || ch.Messages[0].Alert.Count != 2 {
		t.Fatalf("resolved %+v, want %s with count 2", ch.Messages, d3.AlertID)
	}
	if st := g.Stats(); st.Alerts != 1 {
		t.Fatalf("stats %+v, want the second window's alert only", st)
	}
	g.Advance("m", day2.Add(72*time.Hour))
	if st := g.Stats(); st.Alerts != 0 || st.Incidents != 0 {
		t.Fatalf("state left after every window ended: %+v", st)
	}
}

func TestIncidentOutlivesItsWindow(t *testing.T) {
	corr := Policy{Window: 6 * time.Hour, Lag: time.Hour}
	for _, tc := range []struct {
		name    string
		hold    time.Duration
		members int
	}{
		{"held for the longest policy", corr.Window + corr.Lag, 2},
		// Too short a hold loses the first alert: the incident row
		// written last would miss it.
		{"held too briefly", time.Minute, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGrouper(Config{Now: fixedClock(), Hold: tc.hold})
			d1, s1 := det("hourly", "low", ev{id: "e1", msp: "m", tenant: "t", user: "u", at: 10 * time.Hour})
			g.Add(&d1, s1, Policy{Window: 10 * time.Minute})
			g.Advance("m", t0.Add(24*time.Hour+30*time.Minute))
			// A correlation over 23:30-00:05 comes out now; its window
			// (18:00-24:00) plus lag is still open.
			d2, s2 := det("corr", "high", ev{id: "e2", msp: "m", tenant: "t", user: "u", at: 23*time.Hour + 30*time.Minute})
			d2.LastTime = t0.Add(24*time.Hour + 5*time.Minute)
			ch := g.Add(&d2, s2, corr)
			if len(ch.Incidents) != 1 || len(ch.Incidents[0].AlertIDs) != tc.members || d2.IncidentID != d1.IncidentID {
				t.Fatalf("incident %+v, want %d alerts", ch.Incidents, tc.members)
			}
		})
	}
}

func TestMessagesAreDeterministic(t *testing.T) {
	d, src := det("r", "high", ev{id: "e1", msp: "m", tenant: "t", user: "u", at: time.Hour})
	var ids []string
	for range 2 {
		g := NewGrouper(Config{Now: fixedClock()})
		dd := d
		ch := g.Add(&dd, src, Policy{})
		m := ch.Messages[0]
		if m.Kind != KindOpened || m.Alert.Count != 1 || m.Alert.Group["tenant"] != "t" || m.MessageID != MessageID(dd.AlertID, KindOpened, 1) {
			t.Fatalf("message %+v", m)
		}
		ids = append(ids, m.MessageID)
	}
	if ids[0] != ids[1] {
		t.Fatalf("message IDs differ across runs: %v", ids)
	}
}

func TestPolicyNormalized(t *testing.T) {
	for _, tc := range []struct {
		in   Policy
		want Policy
	}{
		{Policy{}, Policy{GroupBy: DefaultGroupBy, Window: DefaultWindow}},
		{Policy{GroupBy: []string{"package.sha256"}, Window: time.Hour}, Policy{GroupBy: []string{"msp", "package.sha256"}, Window: time.Hour}},
		{Policy{Window: 365 * 24 * time.Hour, Lag: -1}, Policy{GroupBy: DefaultGroupBy, Window: MaxWindow}},
	} {
		if got := tc.in.normalized(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("normalized(%+v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// TestOrderIndependence is the property streaming and offline rely on:
// the same detections, in any order, with replays, and with the watermark
// advancing behind them as the detector does, end as the same alerts and
// incidents (the last row written of each).
func TestOrderIndependence(t *testing.T) {
	policies := map[string]Policy{
		"login": {},
		"push":  {GroupBy: []string{"msp", "package.sha256"}},
		"hour":  {Window: time.Hour},
		"corr":  {GroupBy: []string{"msp", "actor.user"}, Window: 6 * time.Hour, Lag: 30 * time.Minute},
	}
	rules := []string{"login", "push", "hour", "corr"}
	levels := []string{"low", "medium", "high", "critical"}
	for seed := uint64(1); seed <= 8; seed++ {
		rng := rand.New(rand.NewPCG(seed, 42))
		type item struct {
			d   record.Detection
			src fields.Source
			p   Policy
		}
		var items []item
		for i := range 400 {
			e := ev{
				id:     fmt.Sprintf("e%04d", i),
				msp:    fmt.Sprintf("m%d", rng.IntN(2)),
				tenant: fmt.Sprintf("t%d", rng.IntN(4)),
				user:   []string{"", "u1", "u2", "u3"}[rng.IntN(4)],
				ip:     []string{"", "10.0.0.1"}[rng.IntN(2)],
				at:     time.Duration(rng.IntN(72*60)) * time.Minute,
			}
			if rng.IntN(3) == 0 {
				e.pkg = []string{"P1", "P2"}[rng.IntN(2)]
			}
			if rng.IntN(4) == 0 {
				e.script = "S1"
			}
			r := rules[rng.IntN(len(rules))]
			d, src := det(r, levels[rng.IntN(len(levels))], e)
			if r == "corr" { // a correlation: several events, first before last
				d.FirstTime = d.FirstTime.Add(-time.Duration(rng.IntN(30)) * time.Minute)
				d.EventIDs = append(d.EventIDs, fmt.Sprintf("x%04d", i))
			}
			items = append(items, item{d, src, policies[r]})
		}
		// Offline: everything in time order, then read the state.
		offline := NewGrouper(Config{Now: fixedClock()})
		alertOf := map[string]string{}
		for _, x := range items {
			d := x.d
			offline.Add(&d, x.src, x.p)
			alertOf[d.DetectionID] = d.AlertID
		}
		wantAlerts := byID(offline.Alerts(), func(a record.Alert) string { return a.AlertID })
		wantIncidents := byID(offline.Incidents(), func(i record.Incident) string { return i.IncidentID })

		for run := range 4 {
			// Streaming: detections come out as their last event is
			// released, give or take 15 minutes of jitter (consumption
			// order), some twice; the watermark trails the newest last
			// time by 20 minutes, so it never passes a plain rule's
			// detection still to come, while a correlation's may start
			// up to its lag before it (as in the detector).
			const lateness = 20 * time.Minute
			shuffled := slices.Clone(items)
			jitter := make(map[string]time.Duration, len(items))
			for _, x := range items {
				jitter[x.d.DetectionID] = time.Duration(rng.IntN(15*60)) * time.Second
			}
			slices.SortFunc(shuffled, func(a, b item) int {
				return a.d.LastTime.Add(jitter[a.d.DetectionID]).Compare(b.d.LastTime.Add(jitter[b.d.DetectionID]))
			})
			if run == 0 {
				rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			}
			g := NewGrouper(Config{Now: fixedClock()})
			gotAlerts, gotIncidents := map[string]record.Alert{}, map[string]record.Incident{}
			newest := map[string]time.Time{}
			resolved := 0
			collect := func(ch Changes) {
				for _, m := range ch.Messages {
					if m.Kind == KindResolved {
						resolved++
					}
				}
				for _, a := range ch.Alerts {
					gotAlerts[a.AlertID] = a
				}
				for _, inc := range ch.Incidents {
					gotIncidents[inc.IncidentID] = inc
				}
			}
			for i, x := range shuffled {
				d := x.d
				collect(g.Add(&d, x.src, x.p))
				if d.AlertID != alertOf[d.DetectionID] {
					t.Fatalf("seed %d: alert ID depends on the order", seed)
				}
				if rng.IntN(10) == 0 { // a replayed detection
					dd := x.d
					if ch := g.Add(&dd, x.src, x.p); !ch.Empty() {
						t.Fatalf("seed %d: a replayed detection changed %+v", seed, ch)
					}
				}
				if run == 0 {
					continue // fully shuffled: no watermark
				}
				msp := x.d.MSP
				if x.d.LastTime.After(newest[msp]) {
					newest[msp] = x.d.LastTime
				}
				if i%5 == 0 {
					collect(g.Advance(msp, newest[msp].Add(-lateness)))
				}
			}
			if run > 0 && resolved == 0 {
				t.Fatalf("seed %d run %d: the watermark resolved nothing", seed, run)
			}
			if seed == 1 && run == 1 {
				t.Logf("streaming: %d alerts resolved on the way, %+v held at the end", resolved, g.Stats())
			}
			if g.Stats().Late != 0 {
				t.Fatalf("seed %d run %d: %d late detections", seed, run, g.Stats().Late)
			}
			for id, inc := range gotIncidents {
				if len(inc.AlertIDs) == 0 {
					delete(gotIncidents, id) // left by an alert that moved
				}
			}
			if diff := compare(wantAlerts, gotAlerts); diff != "" {
				t.Fatalf("seed %d run %d: alerts differ: %s", seed, run, diff)
			}
			if diff := compare(wantIncidents, gotIncidents); diff != "" {
				t.Fatalf("seed %d run %d: incidents differ: %s", seed, run, diff)
			}
		}
		if seed == 1 {
			t.Logf("%d detections: %d alerts, %d incidents", len(items), len(wantAlerts), len(wantIncidents))
		}
	}
}

func byID[T any](s []T, id func(T) string) map[string]T {
	out := map[string]T{}
	for _, x := range s {
		out[id(x)] = x
	}
	return out
}

// compare reports the first difference, ignoring row versions.
func compare[T any](want, got map[string]T) string {
	if len(want) != len(got) {
		return fmt.Sprintf("%d rows, want %d", len(got), len(want))
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			return "missing " + id
		}
		wv, gv := reflect.ValueOf(&w).Elem(), reflect.ValueOf(&g).Elem()
		wv.FieldByName("UpdatedNs").SetInt(0)
		gv.FieldByName("UpdatedNs").SetInt(0)
		if !reflect.DeepEqual(w, g) {
			return fmt.Sprintf("%s:\n got %+v\nwant %+v", id, g, w)
		}
	}
	return ""
}
