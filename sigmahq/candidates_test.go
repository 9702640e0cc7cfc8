package sigmahq

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/sigma"
	"github.com/tripline/tripline/sigmahq/sigmahqtest"
	"github.com/tripline/tripline/simulate"
)

// TestCandidates is the curation run behind the pack's list
// (docs/sigmahq.md): every SigmaHQ process_creation and PowerShell
// script-block rule of the checkout, through the views, over the
// simulator's benign traffic (every convention profile) and its attacks.
// It prints per rule the benign and attack events it fires on. It runs
// when asked for: TRIPLINE_SIGMAHQ_CANDIDATES=1.
func TestCandidates(t *testing.T) {
	if os.Getenv("TRIPLINE_SIGMAHQ_CANDIDATES") != "1" {
		t.Skip("set TRIPLINE_SIGMAHQ_CANDIDATES=1 to measure every candidate rule")
	}
	dir, err := RulesDir(sigmahqtest.Corpus(t))
	if err != nil {
		t.Fatal(err)
	}
	var cands []*sigma.Rule
	total, parsed, unmapped, failed := 0, 0, 0, 0
	reasons := map[string]int{}
	for _, sub := range []string{"windows/process_creation", "windows/powershell/powershell_script"} {
		err := filepath.WalkDir(filepath.Join(dir, sub), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yml") {
				return err
			}
			total++
			coll, err := sigma.ParseFile(p)
			if err != nil || len(coll.Rules) != 1 {
				failed++
				return nil
			}
			parsed++
			r := coll.Rules[0]
			if err := Check(r); err != nil {
				unmapped++
				if se, ok := err.(*sigma.Error); ok {
					reasons[strings.TrimSuffix(strings.TrimPrefix(se.Msg, "field "), " has no counterpart in a pushed script (docs/sigmahq.md)")]++
				}
				return nil
			}
			if _, errs := engine.Compile([]*sigma.Rule{r}, nil, engine.Config{}); len(errs) > 0 {
				failed++
				return nil
			}
			cands = append(cands, r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("candidates: %d files, %d parse, %d use unmapped fields, %d fail, %d evaluable", total, parsed, unmapped, failed, len(cands))
	type kv struct {
		k string
		n int
	}
	var rs []kv
	for k, n := range reasons {
		rs = append(rs, kv{k, n})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].n > rs[j].n })
	for i := 0; i < len(rs) && i < 12; i++ {
		t.Logf("  unmapped field %s: %d rules", rs[i].k, rs[i].n)
	}
	set, errs := engine.Compile(cands, nil, engine.Config{Views: Views()})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	benign := map[string]int{}
	attack := map[string]map[string]bool{}
	examples := map[string]string{}
	tenantMonths := 0.0
	var scen []string
	for _, s := range simulate.Scenarios() {
		scen = append(scen, s.Name)
	}
	for _, name := range simulate.ProfileNames() {
		conv := simulate.Profiles()[name]
		cfg := simulate.Config{Seed: 1, Start: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), Duration: 7 * 24 * time.Hour,
			MSPs: 3, TenantsPerMSP: 30, OnboardAt: 3 * 24 * time.Hour, Scenarios: scen,
			ScenarioAt: 3*24*time.Hour + 3*time.Hour, ScenarioSpacing: 6 * time.Hour, Conventions: conv}
		gen, err := simulate.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		tenants := map[string]bool{}
		dec := contract.Decoder{Now: func() time.Time { return time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) }}
		m := set.NewMatcher()
		var dst []*engine.Rule
		for {
			msg, ok := gen.Next()
			if !ok {
				break
			}
			ev, err := dec.Decode(msg.Value)
			if err != nil {
				continue
			}
			tenants[ev.MSP+"/"+ev.Tenant] = true
			dst = m.Match(&ev, dst[:0])
			for _, r := range dst {
				key := r.Path
				if msg.Scenario == "" {
					benign[key]++
					if _, ok := examples[key]; !ok {
						examples[key] = name + ": " + ev.Script.Interpreter + ": " + ev.Script.Command
					}
				} else {
					if attack[key] == nil {
						attack[key] = map[string]bool{}
					}
					attack[key][msg.Scenario] = true
				}
			}
		}
		tenantMonths += float64(len(tenants)) * 7 / 30
	}
	var keys []string
	for k := range benign {
		keys = append(keys, k)
	}
	for k := range attack {
		if _, ok := benign[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		var sc []string
		for s := range attack[k] {
			sc = append(sc, s)
		}
		sort.Strings(sc)
		fmt.Printf("%-95s benign=%-5d attacks=%s\n", strings.TrimPrefix(k, dir+"/"), benign[k], strings.Join(sc, ","))
		if ex, ok := examples[k]; ok {
			fmt.Printf("    e.g. %.200s\n", ex)
		}
	}
	t.Logf("tenant-months measured: %.1f", tenantMonths)
}
