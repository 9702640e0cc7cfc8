// Package broker runs an in-process Kafka-protocol broker
// (github.com/twmb/franz-go/pkg/kfake) on loopback, for `tripline demo` and
// for tests. Clients reach it over real TCP with the real Kafka protocol, so
// the code under test is the same kafka-go code that talks to Apache Kafka
// in production.
package broker

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tripline/tripline/kafkaio"
)

// Broker is a running in-process cluster.
type Broker struct {
	cluster *kfake.Cluster
}

// Options configure Start.
type Options struct {
	// Partitions per pipeline topic (default 4).
	Partitions int
	// Topics to create in addition to the pipeline's four.
	Topics []string
	// DataDir, when set, persists the log so a restarted broker keeps it.
	DataDir string
	// Port to listen on (0 picks a free one).
	Port int
}

// PipelineTopics are the topics tripline reads and writes by default.
var PipelineTopics = []string{kafkaio.TopicRemoteSessions, kafkaio.TopicSoftwareUpdates, kafkaio.TopicVendor, kafkaio.TopicEvents, kafkaio.TopicDLQ,
	kafkaio.TopicAlerts, kafkaio.TopicAlertsDLQ}

// Start starts a single-node cluster on 127.0.0.1 with the pipeline topics.
func Start(opts Options) (*Broker, error) {
	if opts.Partitions <= 0 {
		opts.Partitions = 4
	}
	kopts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(opts.Port),
		kfake.DefaultNumPartitions(opts.Partitions),
		kfake.AllowAutoTopicCreation(),
		// Auto-created topics accept what the pipeline topics do.
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(kafkaio.TopicMaxMessageBytes)}),
		kfake.ListenFn(listenLoopback),
	}
	if opts.DataDir != "" {
		kopts = append(kopts, kfake.DataDir(opts.DataDir))
	}
	if len(opts.Topics) > 0 {
		kopts = append(kopts, kfake.SeedTopics(int32(opts.Partitions), opts.Topics...))
	}
	c, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, fmt.Errorf("start in-process Kafka broker: %w", err)
	}
	// The pipeline topics get the max.message.bytes kafkaio.EnsureTopics
	// gives them, as a topic setting that DescribeConfigs reports, so the
	// demo and the tests run with the limits production topics should have
	// (docs/limits.md) and the workers read them back. A restarted broker
	// with a DataDir already has them.
	for _, t := range PipelineTopics {
		if c.TopicInfo(t) != nil {
			continue
		}
		if err := c.CreateTopic(t, int32(opts.Partitions), map[string]string{"max.message.bytes": strconv.Itoa(kafkaio.TopicMaxMessageBytes)}); err != nil {
			c.Close()
			return nil, fmt.Errorf("create topic %s: %w", t, err)
		}
	}
	return &Broker{cluster: c}, nil
}

// Addrs returns the bootstrap addresses.
func (b *Broker) Addrs() []string { return b.cluster.ListenAddrs() }

// Config returns a kafkaio.Config pointing at the broker.
func (b *Broker) Config() kafkaio.Config { return kafkaio.Config{Brokers: b.Addrs()} }

// Close stops the broker.
func (b *Broker) Close() { b.cluster.Close() }

// ForTest starts a broker that is closed when the test ends.
func ForTest(tb testing.TB, opts Options) *Broker {
	tb.Helper()
	b, err := Start(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Close)
	return b
}
