package kafkaio_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/kafkaio"
)

func TestWatchLagPerPartition(t *testing.T) {
	b := broker.ForTest(t, broker.Options{Topics: []string{"t"}, Partitions: 3})
	cfg := b.Config()
	produce(t, cfg, "t", 0, 700)

	parts, err := cfg.PartitionLags(context.Background(), "watched", []string{"t"})
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, p := range parts {
		sum += p.Lag
	}
	if len(parts) != 3 || sum != 700 {
		t.Fatalf("PartitionLags = %+v, want 3 partitions summing to 700", parts)
	}

	reg := prometheus.NewRegistry()
	m := kafkaio.NewLagMetrics(reg, "watched")
	ctx, cancel := context.WithCancel(context.Background())
	polls := make(chan error, 10)
	go cfg.WatchLag(ctx, "watched", []string{"t"}, 50*time.Millisecond, m, zerolog.Nop(), func(err error) {
		select {
		case polls <- err:
		default:
		}
	})
	if err := <-polls; err != nil {
		t.Fatal(err)
	}
	cancel()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series, total := 0, 0.0
	for _, mf := range mfs {
		if mf.GetName() != "tripline_consumer_lag" {
			continue
		}
		for _, m := range mf.GetMetric() {
			series++
			total += m.GetGauge().GetValue()
		}
	}
	if series != 3 || total != 700 {
		t.Fatalf("tripline_consumer_lag: %d series summing to %v, want 3 partitions summing to 700", series, total)
	}
}
