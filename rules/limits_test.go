package rules

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/tripline/tripline/engine"
)

// aliasBomb is issue 10's rule file: a list of n values, a mapping holding
// it, and a selection listing that mapping n times. With n = 2,000 it used
// to take `rules lint` to 1.9 GB and a live detector from 29 MB to 1.31 GB
// when dropped into its rule directory.
func aliasBomb(n int) string {
	var b strings.Builder
	b.WriteString("title: bomb\nid: bomb\nlogsource: {product: msp}\nvals: &v [")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "u%d", i)
	}
	b.WriteString("]\nmm: &m {actor.user: *v}\ndetection:\n  sel:\n")
	for i := 0; i < n; i++ {
		b.WriteString("    - *m\n")
	}
	b.WriteString("  condition: sel\nlevel: low\n")
	return b.String()
}

func limitRule(id, name, eventType string) string {
	return "title: R " + id + "\nid: " + id + "\nname: " + name + "\nlogsource: {product: msp}\ndetection:\n  sel: {event_type: " + eventType + "}\n  condition: sel\nlevel: low\n"
}

// TestManagerRejectsAliasBombOnReload drops the bomb into a watched rule
// directory: the reload fails in milliseconds, memory does not grow by
// the gigabytes the expansion would take, and the previous set keeps
// matching.
func TestManagerRejectsAliasBombOnReload(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yml", limitRule("aaaaaaaa-0000-4000-8000-000000000001", "login", "auth.login"))
	// The watcher logs on its goroutine while the test reads: locked.
	logs := &lockedLog{}
	m, err := NewManager(ManagerConfig{Dir: dir, PollInterval: 5 * time.Millisecond, Log: zerolog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	before := m.RuleSet()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Watch(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	bomb := aliasBomb(2000)
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	start := time.Now()
	// Written aside and renamed in, as a ConfigMap update swaps files: a
	// poll must not see it half-written.
	write(t, dir, "bomb.tmp", bomb)
	if err := os.Rename(filepath.Join(dir, "bomb.tmp"), filepath.Join(dir, "bomb.yml")); err != nil {
		t.Fatal(err)
	}
	for counterValue(m.reloads.WithLabelValues("error")) == 0 {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the bomb was not rejected; logs:\n%s", logs.String())
		}
		time.Sleep(time.Millisecond)
	}
	took := time.Since(start)
	runtime.ReadMemStats(&ms1)
	alloc := ms1.TotalAlloc - ms0.TotalAlloc
	t.Logf("%d-byte alias bomb rejected by the watching manager in %s; %d KiB allocated meanwhile", len(bomb), took, alloc>>10)
	if alloc > 50<<20 {
		t.Errorf("rejecting the bomb allocated %d MiB, want < 50", alloc>>20)
	}
	if m.RuleSet() != before {
		t.Fatal("the bomb replaced the rule set")
	}
	if !strings.Contains(logs.String(), filepath.Join(dir, "bomb.yml")+":") || !strings.Contains(logs.String(), "YAML aliases expand the rule file past 100000 nodes") {
		t.Errorf("the rejection log does not name file:line and the limit:\n%s", logs.String())
	}
	login := decodeEvent(t, `{"event_type":"auth.login","time":"2026-11-20T10:00:00Z","msp":"m","tool":"x","actor":{"user":"u"}}`)
	if got := m.Match(login, nil); len(got) != 1 {
		t.Fatalf("after the rejected bomb: %d matches, want the previous 1", len(got))
	}
}

// TestManagerRejectsDuplicateName: a second rule with a name already in
// use (other id) is a rejected reload naming both places.
func TestManagerRejectsDuplicateName(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yml", limitRule("aaaaaaaa-0000-4000-8000-000000000001", "login", "auth.login"))
	m, err := NewManager(ManagerConfig{Dir: dir, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	before := m.RuleSet()
	write(t, dir, "b.yml", limitRule("bbbbbbbb-0000-4000-8000-000000000002", "login", "auth.failure"))
	err = m.Reload()
	want := filepath.Join(dir, "b.yml") + `:3:7: rule name "login" is also the name of the rule at ` + filepath.Join(dir, "a.yml") + ":3:7"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Reload() = %v, want %q", err, want)
	}
	if m.RuleSet() != before {
		t.Fatal("a set with a duplicate name replaced the running one")
	}
}

// TestLintFindsIssue10Problems: every problem of issue 10 that lint used to
// pass is an error at file:line, including a duplicate across the
// arguments of `rules lint a b`.
func TestLintFindsIssue10Problems(t *testing.T) {
	correlation := func(timespan string) string {
		return "title: c\nid: c\nlevel: low\ncorrelation:\n  type: event_count\n  rules: [login]\n  group-by: [actor.user]\n  timespan: " + timespan + "\n  condition: {gte: 5}\n"
	}
	reRule := func(re string) string {
		return "title: r\nid: r\nlevel: low\nlogsource: {product: msp}\ndetection:\n  sel:\n    script.command|re: '" + re + "'\n  condition: sel\n"
	}
	for _, tc := range []struct {
		name  string
		files map[string]string // under dir "a" unless the name has a "b/" prefix
		want  []string          // error findings, "file:line:col: error: ..." fragments
	}{
		{name: "clean", files: map[string]string{"r.yml": limitRule("r1", "login", "auth.login")}},
		{name: "alias bomb", files: map[string]string{"bomb.yml": aliasBomb(2000)},
			want: []string{"a/bomb.yml:55:7: error: YAML aliases expand the rule file past 100000 nodes"}},
		{name: "timespan overflow", files: map[string]string{"r.yml": limitRule("r1", "login", "auth.login"), "c.yml": correlation("585y")},
			want: []string{`a/c.yml:8:13: error: timespan "585y" exceeds the maximum of 10y (3650 days)`}},
		{name: "timespan overflow in months", files: map[string]string{"r.yml": limitRule("r1", "login", "auth.login"), "c.yml": correlation("10000000M")},
			want: []string{`a/c.yml:8:13: error: timespan "10000000M" exceeds the maximum`}},
		{name: "lookbehind", files: map[string]string{"r.yml": reRule(`(?<=user )admin`)},
			want: []string{"a/r.yml:7:5: error: ", "RE2 has no lookbehind (?<=...)"}},
		{name: "empty field name", files: map[string]string{"r.yml": "title: r\nid: r\nlevel: low\nlogsource: {product: msp}\ndetection:\n  sel: {'': admin}\n  condition: sel\n"},
			want: []string{"a/r.yml:6:9: error: empty field name"}},
		{name: "duplicate name in a directory", files: map[string]string{"r1.yml": limitRule("r1", "login", "auth.login"), "r2.yml": limitRule("r2", "login", "auth.failure")},
			want: []string{`a/r2.yml:3:7: error: rule name "login" is also the name of the rule at `, "a/r1.yml:3:7"}},
		{name: "duplicate across arguments", files: map[string]string{"r1.yml": limitRule("r1", "login", "auth.login"), "b/r2.yml": limitRule("r2", "login", "auth.failure")},
			want: []string{`b/r2.yml:3:7: error: rule name "login" is also the name of the rule at `, "a/r1.yml:3:7"}},
		{name: "duplicate id across arguments", files: map[string]string{"r1.yml": limitRule("r1", "login", "auth.login"), "b/r2.yml": limitRule("r1", "other", "auth.failure")},
			want: []string{`b/r2.yml:2:5: error: rule id "r1" is also the id of the rule at `, "a/r1.yml:2:5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			paths := []string{filepath.Join(root, "a")}
			for name, content := range tc.files {
				dir := paths[0]
				if rest, ok := strings.CutPrefix(name, "b/"); ok {
					dir, name = filepath.Join(root, "b"), rest
					if len(paths) == 1 {
						paths = append(paths, dir)
					}
				}
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				write(t, dir, name, content)
			}
			findings, err := LintPaths(paths, engine.Config{})
			if err != nil {
				t.Fatal(err)
			}
			var errs []string
			for _, f := range findings {
				if f.Severity == SeverityError {
					errs = append(errs, strings.TrimPrefix(f.String(), root+string(filepath.Separator)))
				}
			}
			if len(tc.want) == 0 {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %q", errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("errors %q, want one", errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs[0], w) {
					t.Errorf("error %q, want it to contain %q", errs[0], w)
				}
			}
		})
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

// TestRuleTestFileLimits: rule test files are bounded like rule files, and
// `_repeat` cannot multiply a sequence past maxSequenceEvents.
func TestRuleTestFileLimits(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "r.yml", limitRule("r1", "login", "auth.login"))
	var b strings.Builder
	b.WriteString("user: &v [")
	for i := 0; i < 2000; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "u%d", i)
	}
	b.WriteString("]\nev: &e {event_type: auth.login, actor: {user: *v}}\nmatch:\n")
	for i := 0; i < 2000; i++ {
		b.WriteString("  - *e\n")
	}
	write(t, dir, "r.tests.yml", b.String())
	results, err := Test([]string{dir}, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "r.tests.yml") + ":"
	if len(results) != 1 || len(results[0].Failures) != 1 || !strings.HasPrefix(results[0].Failures[0], want) ||
		!strings.Contains(results[0].Failures[0], "YAML aliases expand the rule test file past 100000 nodes") {
		t.Fatalf("results %+v, want one failure at %s naming the limit", results, want)
	}

	for _, tc := range []struct {
		repeat []int
		err    string
	}{
		{repeat: []int{10, 5}},
		{repeat: []int{maxSequenceEvents}},
		{repeat: []int{maxSequenceEvents, 1}, err: "sequence event 1: the sequence expands to more than 100000 events"},
		{repeat: []int{1 << 40}, err: "sequence event 0: the sequence expands to more than 100000 events"},
	} {
		var seq []any
		for i, n := range tc.repeat {
			ev := map[string]any{"event_type": "auth.login", "_repeat": n}
			if i == 0 {
				ev["time"] = "2026-11-20T10:00:00Z"
			} else {
				ev["_after"] = "1s"
			}
			seq = append(seq, ev)
		}
		_, err := expandSequence(map[string]any{"sequence": seq})
		if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("_repeat %v: error %v, want %q", tc.repeat, err, tc.err)
		}
	}
}

// TestSetNodeLimit: files each within their own limit cannot together take
// a load past maxSetNodes; the file that crosses it is named and the
// files after it are not read.
func TestSetNodeLimit(t *testing.T) {
	defer func(n int) { maxSetNodes = n }(maxSetNodes)
	maxSetNodes = 500
	dir := t.TempDir()
	for i := 0; i < 5; i++ {
		var b strings.Builder
		fmt.Fprintf(&b, "title: r%d\nid: r%d\nlevel: low\nlogsource: {product: msp}\ndetection:\n  sel:\n    actor.user: [", i, i)
		for j := 0; j < 100; j++ {
			fmt.Fprintf(&b, "u%d, ", j)
		}
		b.WriteString("x]\n  condition: sel\n")
		write(t, dir, fmt.Sprintf("r%d.yml", i), b.String())
	}
	_, errs := LoadBundle(Source{Path: dir}, engine.Config{})
	want := filepath.Join(dir, "r4.yml") + ": the rule set reaches "
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), want) || !strings.Contains(errs[0].Error(), "more than the limit of 500") {
		t.Fatalf("LoadBundle errors %v, want one starting %q", errs, want)
	}
	findings, err := LintPaths([]string{dir}, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings {
		if f.Severity == SeverityError {
			got = append(got, f.String())
		}
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], filepath.Join(dir, "r4.yml")+": error: the rule set reaches ") {
		t.Fatalf("lint errors %q, want one at r4.yml", got)
	}
}

// lockedLog is a log buffer a goroutine writes while the test reads it.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
