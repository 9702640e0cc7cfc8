package engine

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/sigma"
)

func corpusDirOrEmpty() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		cand := filepath.Join(dir, "shared", "sigmahq-rules", "rules")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// corpusDir finds shared/sigmahq-rules/rules by walking up from the test's
// working directory.
func corpusDir(t testing.TB) string {
	t.Helper()
	if dir := corpusDirOrEmpty(); dir != "" {
		return dir
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("SigmaHQ corpus (shared/sigmahq-rules/rules) not found above the working directory")
	}
	t.Skip("SigmaHQ corpus (shared/sigmahq-rules/rules) not found; skipping")
	return ""
}

// corpusConfig provides values for the standard placeholders so corpora
// that use `|expand` (SigmaHQ's rules-placeholder) compile.
var corpusConfig = Config{
	Placeholders: map[string][]string{
		"Administrators":    {"administrator", "adm_*"},
		"JumpServers":       {"jump*"},
		"Workstations":      {"ws*"},
		"Servers":           {"srv*"},
		"DomainControllers": {"dc*"},
	},
}

const corpusRuleCount = 3141

func TestCorpusConformance(t *testing.T) {
	dir := corpusDir(t)
	coll, perrs := sigma.ParseDir(dir)
	rs, cerrs := CompileCollection(coll, corpusConfig)
	var fails []string
	for _, e := range append(perrs, cerrs...) {
		fails = append(fails, e.Error())
	}
	sort.Strings(fails)
	if len(fails) > 0 {
		t.Errorf("%d problems:\n%s", len(fails), strings.Join(fails, "\n"))
	}
	t.Logf("parsed %d rules, %d correlations, %d filters; compiled %d/%d", len(coll.Rules), len(coll.Correlations), len(coll.Filters), rs.Len(), corpusRuleCount)
	if rs.Len() != corpusRuleCount {
		t.Errorf("compiled %d rules, want %d", rs.Len(), corpusRuleCount)
	}
}

// synthEvent builds an event from a rule's own values so that corpus tests
// exercise matching paths (not just misses): every field gets a string that
// satisfies the first value of its item.
func synthEvent(r *sigma.Rule, variant int) map[string]any {
	doc := map[string]any{}
	for _, name := range r.Detection.Order {
		s := r.Detection.Searches[name]
		g := s.Groups[variant%len(s.Groups)]
		for _, it := range g.Items {
			if it.Keyword() || len(it.Values) == 0 {
				continue
			}
			v := it.Values[variant%len(it.Values)]
			switch v.Kind {
			case sigma.NumberValue:
				doc[it.Field] = v.Num
				continue
			case sigma.BoolValue:
				doc[it.Field] = v.Bool
				continue
			case sigma.NullValue:
				continue
			}
			txt := sigma.ParsePattern(v.Raw).Literal()
			if it.Has("all") {
				var parts []string
				for _, x := range it.Values {
					parts = append(parts, sigma.ParsePattern(x.Raw).Literal())
				}
				txt = strings.Join(parts, " ")
			}
			switch {
			case it.Has("contains"):
				txt = "Pre " + txt + " Post"
			case it.Has("endswith"):
				txt = `C:\Some\Dir` + txt
			case it.Has("startswith"):
				txt += " tail"
			}
			doc[it.Field] = txt
		}
	}
	return doc
}

// TestCorpusPrefilterSound checks on the whole corpus that the literal
// prefilter never changes results: every event is matched with and without
// it.
func TestCorpusPrefilterSound(t *testing.T) {
	dir := corpusDir(t)
	coll, _ := sigma.ParseDir(dir)
	withPF, _ := CompileCollection(coll, corpusConfig)
	cfg := corpusConfig
	cfg.DisablePrefilter = true
	without, _ := CompileCollection(coll, cfg)
	var events []map[string]any
	for _, r := range coll.Rules {
		for v := 0; v < 2; v++ {
			events = append(events, synthEvent(r, v))
		}
	}
	for _, e := range sysmonEvents() {
		events = append(events, e.doc)
	}
	matched := 0
	for i, doc := range events {
		ev := fields.Map{Doc: doc}
		a := ids2(withPF.Match(ev, nil))
		b := ids2(without.Match(ev, nil))
		if a != b {
			t.Fatalf("event %d %v:\nwith prefilter:    %s\nwithout prefilter: %s", i, doc, a, b)
		}
		if a != "" {
			matched++
		}
	}
	t.Logf("%d events, %d matched at least one rule", len(events), matched)
	if matched < len(events)/3 {
		t.Errorf("only %d of %d synthetic events matched; the test is not exercising matches", matched, len(events))
	}
}

func ids2(rules []*Rule) string {
	var b strings.Builder
	for _, r := range rules {
		b.WriteString(r.Identity())
		b.WriteByte(',')
	}
	return b.String()
}
