package registry

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tripline/tripline/contract"
)

// The registry rules' test cases carry context fields written by hand.
// Each must be exactly what ingest derives for that event from the example
// registry, so the rule tests exercise real enrichment output.
func TestRuleTestContextsAreWhatIngestWrites(t *testing.T) {
	r := exampleRegistry(t)
	files, err := filepath.Glob("../rules/msp/registry/*.tests.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule tests found (%v)", err)
	}
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tf struct {
			Match   []map[string]any `yaml:"match"`
			NoMatch []map[string]any `yaml:"no_match"`
		}
		if err := yaml.Unmarshal(data, &tf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		// A correlation's cases are sequences: each event with its own
		// time is checked (a _repeat copy is checked as written, so
		// repeats keep to a weekly rhythm, where the local clock stays).
		var cases []map[string]any
		for _, c := range append(tf.Match, tf.NoMatch...) {
			seq, ok := c["sequence"].([]any)
			if !ok {
				cases = append(cases, c)
				continue
			}
			for _, item := range seq {
				ev, ok := item.(map[string]any)
				if _, timed := ev["time"]; !ok || !timed {
					continue
				}
				clean := map[string]any{}
				for k, v := range ev {
					if !strings.HasPrefix(k, "_") {
						clean[k] = v
					}
				}
				cases = append(cases, clean)
			}
		}
		for i, c := range cases {
			written, ok := c["context"]
			if !ok {
				continue // the no-registry case
			}
			raw, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			// As ingest: the case's own context is discarded, then derived.
			dec := contract.Decoder{DiscardContext: true}
			ev, err := dec.Decode(raw)
			if err != nil {
				t.Fatalf("%s case %d: %v", f, i, err)
			}
			got := normaliseJSON(t, r.Context(&ev))
			if want := normaliseJSON(t, written); !reflect.DeepEqual(got, want) {
				t.Errorf("%s case %d: written context\n %v\nbut ingest derives\n %v", filepath.Base(f), i, want, got)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Errorf("only %d cases with context checked", checked)
	}
}

func normaliseJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
