package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/record"
)

// ReplayEvents returns one MSP's events in a time range, in time order,
// once each even when a replay stored them twice: the detector rebuilds
// correlation state from it.
func TestReplayEvents(t *testing.T) {
	s := openTest(t, "t_replay")
	ctx := testCtx(t)
	const n = 300
	rows := make([]record.Event, n)
	for i := range rows {
		rows[i] = record.Event{Event: minimalEvent(t, i, time.Duration(n-i)*time.Minute), Topic: "events", Offset: int64(i)}
	}
	for range 2 {
		if err := s.InsertEvents(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	from, to := time.Now().Add(-200*time.Minute), time.Now().Add(-50*time.Minute)
	want := 0
	for _, r := range rows {
		if r.Event.MSP == "msp-1" && !r.Event.Time.Before(from) && r.Event.Time.Before(to) {
			want++
		}
	}
	dec := contract.Decoder{}
	var got []contract.Event
	if err := s.ReplayEvents(ctx, "msp-1", from, to, func(doc []byte) error {
		ev, err := dec.Decode(doc)
		if err != nil {
			t.Fatalf("stored doc does not decode: %v: %s", err, doc)
		}
		if !ev.Time.Before(from) && ev.Time.Before(to) { // exact bounds are the caller's
			got = append(got, ev)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != want || want == 0 {
		t.Fatalf("replayed %d events, want %d", len(got), want)
	}
	for i, ev := range got {
		if ev.MSP != "msp-1" || ev.Time.Before(from) || !ev.Time.Before(to) || (i > 0 && ev.Time.Before(got[i-1].Time)) {
			t.Fatalf("event %d out of range or order: %s %s", i, ev.MSP, ev.Time)
		}
	}
}

// BenchmarkReplayEvents measures the correlation rebuild's read: one
// MSP's 20,000 stored events (registry context included) replayed as
// normalised documents.
func BenchmarkReplayEvents(b *testing.B) {
	s := openTest(b, "b_replay")
	ctx := context.Background()
	const n = 20_000
	yes, no, hour := true, false, int64(9)
	rows := make([]record.Event, n)
	for i := range rows {
		ev := decode(b, fmt.Sprintf(fullEventFmt, fmt.Sprintf("replay-%d", i), recent(time.Duration(n-i)*time.Second)))
		ev.Context = &contract.Context{MSPKnown: &yes, TenantContracted: &yes, ToolApproved: &no, ActorKnown: &yes,
			LocalHour: &hour, Weekday: "wed", AssetTags: []string{"critical"}}
		doc, err := ev.MarshalJSON()
		if err != nil {
			b.Fatal(err)
		}
		rows[i] = record.Event{Event: ev, Doc: doc, Topic: "tripline.events", Offset: int64(i)}
	}
	if err := s.InsertEvents(ctx, rows); err != nil {
		b.Fatal(err)
	}
	from, to := time.Now().Add(-2*n*time.Second), time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		got := 0
		if err := s.ReplayEvents(ctx, "msp-a", from, to, func([]byte) error { got++; return nil }); err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("replayed %d of %d", got, n)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
}
