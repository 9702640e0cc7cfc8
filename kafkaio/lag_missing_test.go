package kafkaio_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tripline/tripline/kafkaio"
)

// TestPartitionLagsMissingTopic: on brokers that do not create topics, a
// raw topic nobody created yet (msp.vendor without receive or poll) adds
// no lag and no error, so ingest's default topics do not make its
// readiness fail; the topics that exist are still measured.
func TestPartitionLagsMissingTopic(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, kafkaio.TopicRemoteSessions))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := kafkaio.Config{Brokers: c.ListenAddrs()}
	produce(t, cfg, kafkaio.TopicRemoteSessions, 0, 5)
	parts, err := cfg.PartitionLags(context.Background(), "g", kafkaio.RawTopics())
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, p := range parts {
		if p.Topic != kafkaio.TopicRemoteSessions {
			t.Errorf("lag of %s, which does not exist", p.Topic)
		}
		sum += p.Lag
	}
	if len(parts) != 2 || sum != 5 {
		t.Fatalf("PartitionLags = %+v, want msp.remote_sessions' 2 partitions with 5", parts)
	}
}
