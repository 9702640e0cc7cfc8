package silence

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/record"
)

func testAlert() *record.Alert {
	return &record.Alert{
		AlertID: "a1", RuleID: "kaseya-mass-push", RuleTitle: "Mass software push", Level: "high",
		Tags: []string{"attack.t1072", "attack.execution"}, MSP: "msp-a", Tenant: "t-1", ActorUser: "tech1",
		GroupKeys:   []string{"msp", "package.sha256"},
		GroupValues: []string{"msp-a", "abc123"},
	}
}

func TestParseAndMatch(t *testing.T) {
	a := testAlert()
	for _, c := range []struct {
		m    string
		want bool
	}{
		{"rule_id=kaseya-mass-push", true},
		{"rule_id!=kaseya-mass-push", false},
		{"rule_id=kaseya", false},
		{"rule_id=~kaseya", false}, // anchored
		{"rule_id=~kaseya.*", true},
		{"rule_id!~kaseya.*", false},
		{"rule_title=Mass software push", true},
		{`level=~"high|critical"`, true},
		{"level=~high|critical", true},
		{"level=critical", false},
		{"level!=critical", true},
		{"msp=msp-a", true},
		{"tenant=t-2", false},
		{"tenant!~t-[0-9]", false},
		{"actor_user=tech1", true},
		{"actor.user=tech1", true}, // not grouped on: the alert's actor
		{"tag=attack.t1072", true},
		{"tag=attack.t9999", false},
		{"tag!=attack.t9999", true},
		{"tag!=attack.t1072", false},
		{"tag=~attack\\.t10.*", true},
		{"tag!~attack\\..*", false},
		{"package.sha256=abc123", true},
		{"package.sha256!=abc123", false},
		{"script.sha256=", true}, // not grouped on: empty
		{"script.sha256!=x", true},
		{"attributes.site=", true},
		{"rule_id = kaseya-mass-push", true},
		{`rule_title=" Mass software push"`, false}, // quoted: the space stays
	} {
		m, err := Parse(c.m)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.m, err)
			continue
		}
		if got := m.Matches(a); got != c.want {
			t.Errorf("%q on the alert = %v, want %v", c.m, got, c.want)
		}
	}
}

// TestLiteralFastPath holds the string comparison of literal alternations
// to what the regular expression would answer.
func TestLiteralFastPath(t *testing.T) {
	for _, expr := range []string{"high|critical", "high", "abc|abd", "a.c", "(?i)high", "high|", "x|x+", `a\.b|c`, "", "t-1|t-2|t-3"} {
		m, err := Parse("tenant=~" + expr)
		if err != nil {
			t.Fatal(err)
		}
		slow := Matcher{Key: m.Key, Op: m.Op, Value: m.Value, field: m.field, re: m.re}
		for _, v := range []string{"high", "HIGH", "critical", "abc", "abd", "a.c", "abc ", "", "x", "xx", "a.b", "c", "t-2", "t-4"} {
			a := &record.Alert{Tenant: v}
			if m.Matches(a) != slow.Matches(a) {
				t.Errorf("tenant=~%s on %q: fast path %v, regexp %v", expr, v, m.Matches(a), slow.Matches(a))
			}
		}
	}
	if m, _ := Parse("level=~high|critical"); m.alts == nil {
		t.Error("high|critical does not take the fast path")
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{
		"", "rule_id", "=x", "!=x", "=~x", "nosuch=1", "package.sha=1", "attributes.=1",
		"rule_id=~(", "level=hgih", "rule_id=~" + strings.Repeat("a", MaxMatcherLen),
		strings.Repeat("k", MaxKeyLen+1) + "=1",
	} {
		if m, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", bad, m)
		}
	}
	m, err := Parse("level=~high|critical")
	if err != nil || m.String() != "level=~high|critical" || m.Op != Regex || m.Key != "level" {
		t.Errorf("Parse round trip: %+v %v", m, err)
	}
}

func TestCanonicalRoundTrip(t *testing.T) {
	for _, raw := range []string{"level = high", `rule_title=" padded "`, `tenant="quoted"`, `tag=~"a|b"`, `rule_title=""x"`, "actor_user!="} {
		m, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(m.String())
		if err != nil || again.Key != m.Key || again.Op != m.Op || again.Value != m.Value {
			t.Errorf("%q -> %q -> %+v, %v", raw, m.String(), again, err)
		}
	}
	got, err := Canonical([]string{" level = high ", "tag=~\"a|b\""})
	if err != nil || strings.Join(got, ",") != "level=high,tag=~a|b" {
		t.Errorf("Canonical = %q, %v", got, err)
	}
}

func validSilence(now time.Time) record.Silence {
	return record.Silence{
		SilenceID: "s1", Matchers: []string{"rule_id=kaseya-mass-push"}, Starts: now, Ends: now.Add(time.Hour),
		Author: "alice", Reason: "CHG-42 planned rollout",
	}
}

func TestValidate(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	ok := validSilence(now)
	if err := Validate(&ok); err != nil {
		t.Fatal(err)
	}
	max := validSilence(now)
	max.Ends = now.Add(MaxDuration)
	if err := Validate(&max); err != nil {
		t.Fatalf("exactly 30 days: %v", err)
	}
	for name, mod := range map[string]func(*record.Silence){
		"no matchers":  func(s *record.Silence) { s.Matchers = nil },
		"bad matcher":  func(s *record.Silence) { s.Matchers = []string{"nosuch=1"} },
		"too many":     func(s *record.Silence) { s.Matchers = make([]string, MaxMatchers+1) },
		"no end":       func(s *record.Silence) { s.Ends = time.Time{} },
		"no start":     func(s *record.Silence) { s.Starts = time.Time{} },
		"end <= start": func(s *record.Silence) { s.Ends = s.Starts },
		"31 days":      func(s *record.Silence) { s.Ends = s.Starts.Add(MaxDuration + time.Second) },
		"no author":    func(s *record.Silence) { s.Author = " " },
		"no reason":    func(s *record.Silence) { s.Reason = "" },
		"long reason":  func(s *record.Silence) { s.Reason = strings.Repeat("x", MaxReasonLen+1) },
	} {
		s := validSilence(now)
		mod(&s)
		if err := Validate(&s); err == nil {
			t.Errorf("%s: validated", name)
		}
	}
}

func TestSetMatch(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	a := testAlert()
	mk := func(id string, starts, ends time.Time, msp string, ms ...string) record.Silence {
		return record.Silence{SilenceID: id, Matchers: ms, Starts: starts, Ends: ends, Author: "bob", Reason: "r", MSP: msp}
	}
	set, err := NewSet([]record.Silence{
		mk("s-z", now, now.Add(time.Hour), "", "level=high"),
		mk("s-b", now, now.Add(time.Hour), "", "level=high", "tenant=t-1"),
		mk("s-a", now, now.Add(time.Hour), "", "level=high", "tenant=t-2"),      // tenant differs
		mk("s-0", now.Add(-2*time.Hour), now.Add(-time.Hour), "", "level=high"), // expired
		mk("s-1", now, now.Add(time.Hour), "msp-b", "level=high"),               // other msp
		mk("s-bad", now, now.Add(time.Hour), "", "nosuch=1"),
	})
	if err == nil || !strings.Contains(err.Error(), "s-bad") {
		t.Errorf("NewSet error = %v, want one naming s-bad", err)
	}
	if set.Len() != 5 {
		t.Fatalf("Len = %d, want 5 (the invalid one left out)", set.Len())
	}
	if got := set.Match(a, now.Add(time.Minute)); got != "s-b" {
		t.Errorf("Match = %q, want s-b (the lowest matching ID)", got)
	}
	if got := set.Match(a, now.Add(time.Hour)); got != "" {
		t.Errorf("Match at the end = %q, want none (ends is exclusive)", got)
	}
	if got := set.Match(a, now.Add(-90*time.Minute)); got != "s-0" {
		t.Errorf("Match inside the old silence = %q, want s-0", got)
	}
	b := testAlert()
	b.MSP = "msp-b"
	b.Tenant = "t-9"
	if got := set.Match(b, now); got != "s-1" {
		t.Errorf("Match msp-b = %q, want s-1", got)
	}
	var empty *Set
	if empty.Match(a, now) != "" || empty.Len() != 0 {
		t.Error("a nil Set matched")
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	set, a, at := benchSet(50)
	if n := testing.AllocsPerRun(200, func() { set.Match(a, at) }); n != 0 {
		t.Fatalf("Match allocates %.1f times per call", n)
	}
}

// benchSet is n silences of which none matches a, the common case: every
// silence is tested to the end.
func benchSet(n int) (*Set, *record.Alert, time.Time) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	var ss []record.Silence
	for i := range n {
		ms := []string{fmt.Sprintf("rule_id=rule-%d", i)}
		switch i % 3 {
		case 1:
			ms = []string{"level=~high|critical", fmt.Sprintf("tenant=~tx-%d.*", i)}
		case 2:
			ms = []string{"tag=attack.t1072", fmt.Sprintf("package.sha256!~abc.*|x%d", i)}
		}
		ss = append(ss, record.Silence{SilenceID: fmt.Sprintf("s-%03d", i), Matchers: ms, Starts: now, Ends: now.Add(time.Hour), Author: "a", Reason: "r"})
	}
	set, err := NewSet(ss)
	if err != nil {
		panic(err)
	}
	return set, testAlert(), now.Add(time.Minute)
}

func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			set, a, at := benchSet(n)
			b.ReportAllocs()
			for b.Loop() {
				if set.Match(a, at) != "" {
					b.Fatal("matched")
				}
			}
		})
	}
}
