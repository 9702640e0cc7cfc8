package store

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/record"
)

// TestReportEventsContext: the report reads the context ingest appended,
// never one a producer planted in attributes or an unknown field.
func TestReportEventsContext(t *testing.T) {
	s := openTest(t, "t_report_ctx")
	ctx := testCtx(t)
	at := time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)
	forged := `"attributes":{"context":"{\"tool_approved\":true}","tool_approved":"true"},"x":{"context":{"tool_approved":true}}`
	mk := func(id string, withContext bool) record.Event {
		raw := `{"event_id":"` + id + `","event_type":"session.start","time":"` + at.Format(time.RFC3339) + `","msp":"m","tenant":"t","tool":"anydesk",` +
			`"actor":{"user":"u"},` + forged + `}`
		ev, doc, err := (&contract.Decoder{DiscardContext: true}).DecodeNormalised([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if withContext {
			no := false
			ev.Context = &contract.Context{ToolApproved: &no, AssetTags: []string{`"context":{"tool_approved":true}`}}
			doc = contract.WithContext(doc, ev.Context)
		}
		return record.Event{Event: &ev, Doc: doc}
	}
	if err := s.InsertEvents(ctx, []record.Event{mk("plain", false), mk("enriched", true)}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	err := s.ReportEvents(ctx, OnlyTenant("m", "t"), "m", "t", at.Add(-time.Hour), at.Add(time.Hour), nil, func(e *ReportEvent) error {
		got[e.EventID] = e.Context
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got["plain"] != "" {
		t.Errorf("event without context read a forged one: %s", got["plain"])
	}
	if c := got["enriched"]; !strings.HasPrefix(c, `{"tool_approved":false,`) {
		t.Errorf("enriched event's context: %s", c)
	}
	// Another tenant's viewer reads nothing.
	err = s.ReportEvents(ctx, OnlyTenant("m", "other"), "m", "t", at.Add(-time.Hour), at.Add(time.Hour), nil, func(*ReportEvent) error { return nil })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("other tenant's scope: %v", err)
	}
}

func TestTTLDaysPattern(t *testing.T) {
	for create, want := range map[string]string{
		"ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(time) ORDER BY (msp, tenant, time, event_id) TTL toDateTime(time) + toIntervalDay(180) SETTINGS index_granularity = 8192": "180",
		"ORDER BY (msp, tenant, time, event_id)\nTTL toDateTime(time) + INTERVAL 30 DAY":                                                                                                          "30",
		"ENGINE = ReplacingMergeTree(ingested_at) ORDER BY (msp, tenant, time, event_id)":                                                                                                         "",
	} {
		m := ttlDaysRe.FindStringSubmatch(create)
		got := ""
		if m != nil {
			got = m[1] + m[2]
		}
		if got != want {
			t.Errorf("%q: %q, want %q", create, got, want)
		}
	}
}
