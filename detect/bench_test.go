package detect_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/watermark"
)

// BenchmarkHandleBatch is the detector's own CPU per event, without Kafka
// and ClickHouse: four days of simulated traffic with every attack, in the
// binary encoding ingest writes, handed to a fresh handler (the shipped
// pack, correlations included) in batches of 5,000, each followed by the
// progress markers ingest writes after a batch, so that the watermark
// advances and held events are released as in the worker.
func BenchmarkHandleBatch(b *testing.B) {
	const batchSize = 5000
	snap := pack(b)
	raw := corpus(b, 4)
	tracker := watermark.NewTracker()
	var batches [][]kafka.Message
	var cur []kafka.Message
	left := map[string]int64{}
	for _, m := range raw {
		left[m.topic]++
	}
	for i, m := range raw {
		v, err := m.event.AppendBinary(nil)
		if err != nil {
			b.Fatal(err)
		}
		cur = append(cur, kafka.Message{Topic: "tripline.events", Offset: int64(i), Value: v})
		tracker.Forwarded(m.topic, 0, m.event.Time)
		left[m.topic]--
		if len(cur) == batchSize || i == len(raw)-1 {
			var lags []watermark.Lag
			for topic, n := range left {
				lags = append(lags, watermark.Lag{Topic: topic, Partition: 0, Lag: n})
			}
			tracker.SetLags(lags)
			pr, _ := tracker.Progress()
			marks, err := pr.Messages("tripline.events", 1)
			if err != nil {
				b.Fatal(err)
			}
			for _, mk := range marks {
				mk.Partition = 0
				cur = append(cur, mk)
			}
			batches = append(batches, cur)
			cur = nil
		}
	}
	now := simStart.Add(60 * 24 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		h := &detect.Handler{
			Rules: staticSnapshots{snap}, Store: &memDetections{ids: map[string]string{}}, Log: zerolog.Nop(),
			Decoder: contract.Decoder{Now: func() time.Time { return now }},
			Now:     func() time.Time { return now },
		}
		for _, batch := range batches {
			if err := h.HandleBatch(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(raw)), "ns/event")
}
