package watermark_test

import (
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/watermark"
)

var t0 = time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)

func marker(at time.Time, srcs ...watermark.Source) watermark.Progress {
	return watermark.Progress{V: watermark.Version, At: at, Sources: srcs}
}

func src(topic string, maxTime time.Time, lag int64) watermark.Source {
	return watermark.Source{Topic: topic, Partition: 0, MaxTime: maxTime, Lag: lag}
}

func TestMergerWatermark(t *testing.T) {
	const lateness, idle = 5 * time.Minute, 30 * time.Second
	wall := t0.Add(24 * time.Hour)
	tests := []struct {
		name    string
		markers []watermark.Progress
		now     time.Time
		want    time.Time // zero: none yet
	}{
		{name: "no marker yet, not for the idle timeout", now: wall},
		{name: "no marker for the idle timeout: the wall clock", now: wall.Add(idle), want: wall.Add(idle - lateness)},
		{
			name: "the slowest source holds it back",
			markers: []watermark.Progress{marker(wall,
				src("a", t0.Add(3*time.Hour), 100), src("b", t0.Add(time.Hour), 100))},
			now: wall, want: t0.Add(time.Hour - lateness),
		},
		{
			name: "a source with data on its way and nothing forwarded holds everything",
			markers: []watermark.Progress{marker(wall,
				src("a", t0.Add(3*time.Hour), 100), src("b", time.Time{}, 7))},
			now: wall,
		},
		{
			name: "a caught-up source holds until the idle timeout on the writer's clock",
			markers: []watermark.Progress{
				marker(wall, src("a", t0.Add(3*time.Hour), 100), src("b", t0.Add(time.Hour), 0)),
				marker(wall.Add(idle/2), src("a", t0.Add(4*time.Hour), 50), src("b", t0.Add(time.Hour), 0)),
			},
			now: wall.Add(time.Hour), want: t0.Add(time.Hour - lateness),
		},
		{
			name: "an idle source stops holding it",
			markers: []watermark.Progress{
				marker(wall, src("a", t0.Add(3*time.Hour), 100), src("b", t0.Add(time.Hour), 0)),
				marker(wall.Add(idle), src("a", t0.Add(4*time.Hour), 50), src("b", t0.Add(time.Hour), 0)),
			},
			now: wall.Add(idle), want: t0.Add(4*time.Hour - lateness),
		},
		{
			name: "a lagging source never idles",
			markers: []watermark.Progress{
				marker(wall, src("a", t0.Add(3*time.Hour), 0), src("b", t0.Add(time.Hour), 10)),
				marker(wall.Add(time.Hour), src("a", t0.Add(3*time.Hour), 0), src("b", t0.Add(time.Hour), 10)),
			},
			now: wall.Add(time.Hour), want: t0.Add(time.Hour - lateness),
		},
		{
			name: "all sources idle: the writer's clock",
			markers: []watermark.Progress{
				marker(wall, src("a", t0.Add(3*time.Hour), 0), src("b", t0.Add(time.Hour), 0)),
				marker(wall.Add(idle), src("a", t0.Add(3*time.Hour), 0), src("b", t0.Add(time.Hour), 0)),
			},
			now: wall.Add(48 * time.Hour), want: wall.Add(idle - lateness),
		},
		{
			name: "two writers: each knows its own source, times only move forward",
			markers: []watermark.Progress{
				marker(wall, src("a", t0.Add(3*time.Hour), 5), src("b", time.Time{}, 5)),
				marker(wall, src("a", time.Time{}, 5), src("b", t0.Add(2*time.Hour), 5)),
			},
			now: wall, want: t0.Add(2*time.Hour - lateness),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := watermark.Merger{Lateness: lateness, IdleTimeout: idle}
			m.Read(3, wall)
			for _, p := range tt.markers {
				m.Observe(3, p, wall)
			}
			got, ok := m.Watermark(3, tt.now)
			if ok != !tt.want.IsZero() || !got.Equal(tt.want) {
				t.Fatalf("watermark %v (%v), want %v", got, ok, tt.want)
			}
		})
	}
}

func TestMergerNeverMovesBack(t *testing.T) {
	m := watermark.Merger{}
	m.Observe(0, marker(t0, src("a", t0.Add(time.Hour), 1)), t0)
	first, _ := m.Watermark(0, t0)
	// A rebalanced ingest reports an older time for the source.
	m.Observe(0, marker(t0, src("a", t0, 1), src("b", t0, 1)), t0)
	if got, _ := m.Watermark(0, t0); got.Before(first) {
		t.Fatalf("watermark moved back from %v to %v", first, got)
	}
}

func TestMarkerRoundTripAndRouting(t *testing.T) {
	tr := watermark.NewTracker()
	tr.Now = func() time.Time { return t0 }
	tr.SetLags([]watermark.Lag{{Topic: "msp.remote_sessions", Partition: 2, Lag: 9}})
	tr.Forwarded("msp.remote_sessions", 2, t0.Add(-time.Hour))
	tr.Forwarded("msp.remote_sessions", 2, t0.Add(-2*time.Hour)) // older: ignored
	pr, ok := tr.Progress()
	if !ok {
		t.Fatal("no marker after a lag poll")
	}
	msgs, err := pr.Messages("tripline.events", 3)
	if err != nil || len(msgs) != 3 {
		t.Fatal(msgs, err)
	}
	b := watermark.Balancer{Fallback: &kafka.Murmur2Balancer{}}
	for i, m := range msgs {
		if got := b.Balance(m, 0, 1, 2); got != i {
			t.Errorf("marker %d routed to partition %d", i, got)
		}
		if watermark.Control(&m) != watermark.KindProgress {
			t.Errorf("marker %d is not a control message", i)
		}
		p, err := watermark.Parse(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		if !p.At.Equal(t0) || len(p.Sources) != 1 || !p.Sources[0].MaxTime.Equal(t0.Add(-time.Hour)) || p.Sources[0].Lag != 9 {
			t.Errorf("marker %d: %+v", i, p)
		}
	}
	ev := kafka.Message{Key: []byte("msp-a")}
	if watermark.Control(&ev) != "" || b.Balance(ev, 0, 1, 2) != (&kafka.Murmur2Balancer{}).Balance(ev, 0, 1, 2) {
		t.Error("events must keep the key's partition")
	}
	for _, bad := range []string{`{`, `{"v":2,"sources":[]}`} {
		if _, err := watermark.Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
}

// TestSlowSourceIsNotPassedBeforeIngestKnowsIt is issue 14: ingest
// forwards a first batch from its fastest source (native events, hours
// ahead) before its first lag poll has told it that a slower source (the
// vendor topic, through an adapter) has a backlog. A marker written then
// named the fast source alone, the detector's watermark jumped to its time,
// and every older event of the slow source arrived behind it: late, lost
// to the correlations. The tracker makes no marker until a poll has named
// every source, so the watermark waits for the slow one.
func TestSlowSourceIsNotPassedBeforeIngestKnowsIt(t *testing.T) {
	const lateness = 5 * time.Minute
	wall := t0.Add(48 * time.Hour)
	fast, slow := "msp.remote_sessions", "msp.vendor"
	tr := watermark.NewTracker()
	tr.Now = func() time.Time { return wall }
	m := watermark.Merger{Lateness: lateness, IdleTimeout: 2 * time.Second}
	observe := func() {
		t.Helper()
		if p, ok := tr.Progress(); ok {
			m.Observe(0, p, wall)
		}
	}
	late := func(ev time.Time) bool {
		wm, ok := m.Watermark(0, wall)
		return ok && ev.Before(wm)
	}

	// The first batch: the fast source, up to 12 h into the backlog.
	m.Read(0, wall)
	tr.Forwarded(fast, 0, t0.Add(12*time.Hour))
	observe()
	if wm, ok := m.Watermark(0, wall); ok {
		t.Fatalf("watermark %v from a marker written before ingest knew every source", wm)
	}
	// The first lag poll names the slow source and its backlog.
	tr.SetLags([]watermark.Lag{{Topic: fast, Partition: 0, Lag: 5000}, {Topic: slow, Partition: 0, Lag: 800}})
	observe()
	if wm, ok := m.Watermark(0, wall); ok {
		t.Fatalf("watermark %v while a source with a backlog has forwarded nothing", wm)
	}
	// The slow source's first batch, 1 h into the backlog: in time.
	if late(t0.Add(time.Hour)) {
		t.Fatal("the slow source's first event is late")
	}
	tr.Forwarded(slow, 0, t0.Add(time.Hour))
	observe()
	if wm, _ := m.Watermark(0, wall); !wm.Equal(t0.Add(time.Hour - lateness)) {
		t.Fatalf("watermark %v, want the slow source's time minus the lateness %v", wm, t0.Add(time.Hour-lateness))
	}
	// Within the lateness of the slow source's newest time: still in time.
	if late(t0.Add(time.Hour - lateness + time.Second)) {
		t.Fatal("an event within the lateness is late")
	}
}

func TestTrackerNamesEverySourceOrNone(t *testing.T) {
	tr := watermark.NewTracker()
	tr.Now = func() time.Time { return t0 }
	tr.Forwarded("a", 1, t0)
	if p, ok := tr.Progress(); ok {
		t.Fatalf("marker %+v before a lag poll", p)
	}
	tr.SetLags([]watermark.Lag{{Topic: "b", Partition: 0, Lag: 7}, {Topic: "a", Partition: 1, Lag: 0}, {Topic: "a", Partition: 0, Lag: 3}})
	p, ok := tr.Progress()
	if !ok {
		t.Fatal("no marker after a lag poll")
	}
	want := []watermark.Source{
		{Topic: "a", Partition: 0, Lag: 3},
		{Topic: "a", Partition: 1, MaxTime: t0, Lag: 0},
		{Topic: "b", Partition: 0, Lag: 7},
	}
	if len(p.Sources) != len(want) {
		t.Fatalf("sources %+v, want %+v", p.Sources, want)
	}
	for i := range want {
		if g := p.Sources[i]; g.Topic != want[i].Topic || g.Partition != want[i].Partition || !g.MaxTime.Equal(want[i].MaxTime) || g.Lag != want[i].Lag {
			t.Errorf("source %d: %+v, want %+v", i, g, want[i])
		}
	}
	// A later poll that fails to name a source (a topic gone) keeps it.
	tr.SetLags([]watermark.Lag{{Topic: "a", Partition: 0, Lag: 0}})
	if p, _ := tr.Progress(); len(p.Sources) != 3 {
		t.Fatalf("a source was forgotten: %+v", p.Sources)
	}
}
