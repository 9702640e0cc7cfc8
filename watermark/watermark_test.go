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
	tr.SetLag("msp.remote_sessions", 2, 9)
	tr.Forwarded("msp.remote_sessions", 2, t0.Add(-time.Hour))
	tr.Forwarded("msp.remote_sessions", 2, t0.Add(-2*time.Hour)) // older: ignored
	msgs, err := tr.Progress().Messages("tripline.events", 3)
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
