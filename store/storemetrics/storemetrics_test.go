package storemetrics

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/store/storetest"
)

// What the workers are given: one wrapper serves ingest's and detect's
// stores alike.
var (
	_ ingest.EventStore     = (*Store)(nil)
	_ detect.DetectionStore = (*Store)(nil)
	_ detect.StateStore     = (*Store)(nil)
)

// TestInstrument: acknowledged rows are counted by table, failed inserts
// counted as errors, every attempt timed; an empty SaveFrontiers is no
// INSERT and not observed.
func TestInstrument(t *testing.T) {
	srv := chserver.ForTest(t)
	reg := prometheus.NewRegistry()
	s := Instrument(storetest.Migrated(t, srv.Addr()), reg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	now := time.Now().UTC().Truncate(time.Second)
	ds := []record.Detection{
		{DetectionID: "d1", RuleID: "r", Level: "high", MSP: "m", FirstTime: now, LastTime: now, EventIDs: []string{"e1"}, DetectedAt: now},
		{DetectionID: "d2", RuleID: "r", Level: "high", MSP: "m", FirstTime: now, LastTime: now, EventIDs: []string{"e2"}, DetectedAt: now},
	}
	if err := s.InsertDetections(ctx, ds); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveFrontiers(ctx, "g", []record.Frontier{{MSP: "m", Time: now, EventID: "e2"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveFrontiers(ctx, "g", nil); err != nil {
		t.Fatal(err)
	}
	// An event without its contract.Event fails before anything is sent.
	if err := s.InsertEvents(ctx, []record.Event{{Topic: "t"}}); err == nil {
		t.Fatal("inserting an event without its contract.Event succeeded")
	}

	got := gather(t, reg)
	for _, c := range []struct {
		series string
		want   float64
	}{
		{"tripline_clickhouse_rows_inserted_total{table=detections}", 2},
		{"tripline_clickhouse_rows_inserted_total{table=correlation_frontiers}", 1},
		{"tripline_clickhouse_rows_inserted_total{table=events}", 0},
		{"tripline_clickhouse_insert_errors_total{table=events}", 1},
		{"tripline_clickhouse_insert_errors_total{table=detections}", 0},
		{"tripline_clickhouse_insert_seconds{table=events}", 1},
		{"tripline_clickhouse_insert_seconds{table=detections}", 1},
		{"tripline_clickhouse_insert_seconds{table=correlation_frontiers}", 1},
	} {
		if v, ok := got[c.series]; !ok || v != c.want {
			t.Errorf("%s = %v (present %v), want %v", c.series, v, ok, c.want)
		}
		delete(got, c.series)
	}
	for series := range got {
		t.Errorf("unexpected series %s", series)
	}
}

// gather returns every series of reg as name{label=value} and its value
// (a histogram's: its count of observations).
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName() + "{"
			for i, l := range m.GetLabel() {
				if i > 0 {
					key += ","
				}
				key += l.GetName() + "=" + l.GetValue()
			}
			key += "}"
			switch {
			case m.GetHistogram() != nil:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			default:
				out[key] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}
