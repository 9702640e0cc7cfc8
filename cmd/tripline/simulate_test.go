package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/kafkaio"
)

// TestSimulateRealtimeKafka: a live feed reaches Kafka as it comes; it
// used to be held until 2,000 events had accumulated (over an hour of
// simulated traffic), and lost on Ctrl-C.
func TestSimulateRealtimeKafka(t *testing.T) {
	b, err := broker.Start(broker.Options{Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	// Five minutes of backlog come at once, the rest in real time.
	start := time.Now().UTC().Add(-5 * time.Minute).Format(time.RFC3339)
	go func() {
		done <- run(ctx, []string{"simulate", "--brokers", b.Addrs()[0], "--realtime", "--start", start}, &stdout, &stderr)
	}()
	inKafka := func() int64 {
		var n int64
		for _, topic := range []string{kafkaio.TopicRemoteSessions, kafkaio.TopicSoftwareUpdates} {
			conn, err := kafka.DialLeader(ctx, "tcp", b.Addrs()[0], topic, 0)
			if err != nil {
				continue // not created yet
			}
			last, _ := conn.ReadLastOffset()
			conn.Close()
			n += last
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	for inKafka() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no simulated event reached Kafka in 20 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, stderr.String())
	}
}
