package receive_test

import (
	"bytes"
	"net/http"
	"os"
	"testing"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/receive"
)

// TestMappingFormat: a receiver given a mapping file accepts its format
// at /v1/ingest/{format}, as ingest will read it; one without the file
// answers 404 for it.
func TestMappingFormat(t *testing.T) {
	formats, err := adapt.LoadFormats("../docs/mappings/kaseya-vsa.yaml")
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile("../adapt/testdata/kaseya-vsa.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		formats adapt.FormatSet
		status  int
	}{
		{"with the mapping", formats, http.StatusAccepted},
		{"without it", nil, http.StatusNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, receive.Config{Formats: c.formats})
			first, _, _ := bytes.Cut(page, []byte("\n"))
			r := e.post("kaseya-vsa", e.tokens["msp-northwind"], first)
			if r.status != c.status {
				t.Fatalf("status %d %v, want %d", r.status, r.body, c.status)
			}
			if c.status != http.StatusAccepted {
				return
			}
			if r.body["records"] != 2.0 {
				t.Fatalf("records %v, want the page's 2", r.body["records"])
			}
			msgs := readTopic(t, e.b.Config(), receive.DefaultTopic)
			if len(msgs) != 1 || header(msgs[0], ingest.HeaderFormat) != "kaseya-vsa" || header(msgs[0], ingest.HeaderMSP) != "msp-northwind" {
				t.Fatalf("%d messages, first %+v", len(msgs), msgs)
			}
			// Built-in formats stay.
			if r := e.post("ninjaone", e.tokens["msp-northwind"], ninjaLines(t)[0]); r.status != http.StatusAccepted {
				t.Fatalf("ninjaone with mappings loaded: %d %v", r.status, r.body)
			}
		})
	}
}
