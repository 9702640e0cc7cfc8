package rules

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/sigmahq"
	"github.com/tripline/tripline/sigmahq/sigmahqtest"
	"github.com/tripline/tripline/simulate"
)

// sigmaHQSource is a rule directory holding one plain rule and the pack's
// SigmaHQ list, plus extra list lines.
func sigmaHQSource(t *testing.T, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	list, err := os.ReadFile(filepath.Join("msp", sigmahq.ListFile))
	if err != nil {
		t.Fatal(err)
	}
	list = append(list, []byte(strings.Join(extra, "\n")+"\n")...)
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	rule := "title: own\nid: own-rule\nlogsource: {product: msp, category: software_update}\ndetection:\n  sel: {script.command|contains: certutil}\n  condition: sel\nlevel: low\n"
	for name, data := range map[string][]byte{"own.yml": []byte(rule), "sub/" + sigmahq.ListFile: list} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestLoadBundleSigmaHQ: the loader that detect and rules eval share
// adds the listed SigmaHQ rules and their views, reports a rule it skips
// at the list's file:line, and fails clearly without the checkout.
func TestLoadBundleSigmaHQ(t *testing.T) {
	corpus := sigmahqtest.Corpus(t)
	dir := sigmaHQSource(t, "windows/process_creation/proc_creation_win_no_such_rule.yml")
	ev := decodeOne(t, `{"event_type":"script.run","time":"2026-11-22T08:10:00Z","msp":"m","tenant":"t","tool":"datto-rmm","actor":{"user":"u"},"script":{"interpreter":"cmd","command":"certutil -decode C:\\ProgramData\\a.crt C:\\ProgramData\\a.exe"}}`)
	tests := []struct {
		name     string
		src      Source
		wantErr  error
		wantHits []string
		warns    int
	}{
		{"off without a checkout", Source{Path: dir}, nil, []string{"own-rule"}, 0},
		{"on with the checkout", Source{Path: dir, SigmaHQ: corpus}, nil, []string{"own-rule", "cc9cbe82-7bc0-4ef5-bc23-bbfb83947be7"}, 1},
		{"no list in the source", Source{Path: filepath.Join(dir, "own.yml"), SigmaHQ: corpus}, nil, []string{"own-rule"}, 1},
		{"checkout missing", Source{Path: dir, SigmaHQ: filepath.Join(t.TempDir(), "sigma")}, sigmahq.ErrNoCorpus, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var warns []error
			tc.src.Warn = func(err error) { warns = append(warns, err) }
			b, errs := LoadBundle(tc.src, engine.Config{})
			if tc.wantErr != nil {
				if len(errs) != 1 || !errors.Is(errs[0], tc.wantErr) {
					t.Fatalf("errs = %v, want %v", errs, tc.wantErr)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			var got []string
			for _, r := range b.Rules.Match(ev, nil) {
				got = append(got, r.ID)
			}
			if !slices.Equal(got, tc.wantHits) {
				t.Errorf("matches %v, want %v", got, tc.wantHits)
			}
			if len(warns) != tc.warns {
				t.Fatalf("warnings %v, want %d", warns, tc.warns)
			}
			if tc.warns > 0 && tc.src.Path == dir && !strings.HasPrefix(warns[0].Error(), filepath.Join(dir, "sub", sigmahq.ListFile)+":") {
				t.Errorf("warning %q does not start with the list's file:line", warns[0])
			}
		})
	}
}

func decodeOne(t *testing.T, raw string) *contract.Event {
	t.Helper()
	dec := contract.Decoder{Now: func() time.Time { return time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) }}
	ev, err := dec.Decode([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return &ev
}

// TestSigmaHQSubsetQuality measures what the pack's SigmaHQ subset adds
// on every convention profile of the simulator, attacks injected (a week,
// 3 MSPs, 30 tenants each): its benign medium-or-higher detections per
// tenant-month, which count against the pack's budget of 1 (the subset's
// rules are stateless and feed no correlation, so the pack's own figure
// plus this one is the pack's with the subset on), and the attacks it
// catches, which must not shrink.
func TestSigmaHQSubsetQuality(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and evaluates the simulator's week on every profile")
	}
	corpus := sigmahqtest.Corpus(t)
	dir := t.TempDir()
	list, err := os.ReadFile(filepath.Join("msp", sigmahq.ListFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, sigmahq.ListFile), list, 0o644); err != nil {
		t.Fatal(err)
	}
	b, errs := LoadBundle(Source{Path: dir, SigmaHQ: corpus, Warn: func(err error) { t.Error(err) }}, engine.Config{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var scenarios []string
	for _, s := range simulate.Scenarios() {
		scenarios = append(scenarios, s.Name)
	}
	// The attacks whose commands are scripts an intruder pushes.
	mustCatch := []string{"api-key-abuse", "cloud-hopper", "election-off-hours", "kaseya-style", "screenconnect-takeover", "stolen-credential"}
	for _, profile := range simulate.ProfileNames() {
		t.Run(profile, func(t *testing.T) {
			gen, err := simulate.New(simulate.Config{Seed: 1, Start: qualityStart, Duration: 7 * 24 * time.Hour,
				MSPs: 3, TenantsPerMSP: 30, OnboardAt: 3 * 24 * time.Hour, Scenarios: scenarios,
				ScenarioAt: 3*24*time.Hour + 3*time.Hour, ScenarioSpacing: 6 * time.Hour,
				Conventions: simulate.Profiles()[profile]})
			if err != nil {
				t.Fatal(err)
			}
			dec := contract.Decoder{Now: func() time.Time { return time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) }}
			m := b.Rules.NewMatcher()
			var dst []*engine.Rule
			tenants := map[string]bool{}
			benign := map[string]int{}
			caught := map[string]bool{}
			events := 0
			for {
				msg, ok := gen.Next()
				if !ok {
					break
				}
				ev, err := dec.Decode(msg.Value)
				if err != nil {
					t.Fatal(err)
				}
				events++
				if ev.Tenant != "" {
					tenants[ev.MSP+"/"+ev.Tenant] = true
				}
				dst = m.Match(&ev, dst[:0])
				for _, r := range dst {
					if levelRank[r.Level] < levelRank["medium"] {
						continue
					}
					if msg.Scenario == "" {
						benign[r.Title]++
					} else {
						caught[msg.Scenario] = true
					}
				}
			}
			n := 0
			for _, c := range benign {
				n += c
			}
			tm := float64(len(tenants)) * 7 / 30
			var got []string
			for s := range caught {
				got = append(got, s)
			}
			sort.Strings(got)
			t.Logf("%s: %d events, %.1f tenant-months, %d benign medium+ (%.3f per tenant-month) %v, attacks caught %v",
				profile, events, tm, n, float64(n)/tm, benign, got)
			if perTM := float64(n) / tm; perTM > 0.05 {
				t.Errorf("the SigmaHQ subset adds %.3f benign medium+ detections per tenant-month (budget share 0.05): %v", perTM, benign)
			}
			for _, s := range mustCatch {
				if !caught[s] {
					t.Errorf("attack %s not caught by the subset", s)
				}
			}
		})
	}
}

// TestManagerSigmaHQ: the detector's rule manager loads the same SigmaHQ
// rules, logs a skipped one, and refuses to start without the checkout.
func TestManagerSigmaHQ(t *testing.T) {
	corpus := sigmahqtest.Corpus(t)
	dir := sigmaHQSource(t, "windows/process_creation/proc_creation_win_no_such_rule.yml")
	var log bytes.Buffer
	m, err := NewManager(ManagerConfig{Dir: dir, SigmaHQ: corpus, Log: zerolog.New(&log)})
	if err != nil {
		t.Fatal(err)
	}
	ev := decodeOne(t, `{"event_type":"script.run","time":"2026-11-22T08:10:00Z","msp":"m","tenant":"t","tool":"atera","actor":{"user":"u"},"script":{"interpreter":"powershell","command":"Set-MpPreference -DisableRealtimeMonitoring $true"}}`)
	var got []string
	for _, r := range m.Match(ev, nil) {
		got = append(got, r.ID)
	}
	want := []string{"1ec65a5f-9473-4f12-97da-622044d6df21", "14c71865-6cd3-44ae-adaa-1db923fae5f2"}
	if !slices.Equal(got, want) {
		t.Errorf("matches %v, want %v", got, want)
	}
	if !strings.Contains(log.String(), `"message":"SigmaHQ rule skipped"`) || !strings.Contains(log.String(), "proc_creation_win_no_such_rule.yml skipped") {
		t.Errorf("log lacks the skipped rule:\n%s", log.String())
	}
	if _, err := NewManager(ManagerConfig{Dir: dir, SigmaHQ: t.TempDir(), Log: zerolog.Nop()}); !errors.Is(err, sigmahq.ErrNoCorpus) {
		t.Errorf("missing checkout: err = %v", err)
	}
}
