package kafkaio

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// Message size limits (docs/limits.md). A broker refuses a record batch
// larger than the topic's max.message.bytes, and kafka-go refuses, before
// sending, a single message larger than its writer's BatchBytes; a batch
// handler that does not check sizes first retries such a message forever.
const (
	// TopicMaxMessageBytes is the max.message.bytes EnsureTopics sets on
	// the topics it creates (and the in-process broker's default): a
	// contract-size message (1 MiB) whose normalised form grew by escaping
	// or enrichment, or that carries dead-letter headers, still fits.
	TopicMaxMessageBytes = 2<<20 + 64<<10
	// DefaultBrokerMaxMessageBytes is Apache Kafka's default
	// message.max.bytes, assumed when a topic's limit cannot be read.
	DefaultBrokerMaxMessageBytes = 1048588
	// recordBatchOverhead is what a broker counts on top of kafka-go's
	// per-message estimate: the 61-byte record batch header, with room to
	// spare (the estimate is above the encoded size of each record).
	recordBatchOverhead = 1 << 10
)

// WriterBatchBytes is the BatchBytes of a writer to topics that accept at
// most maxMessageBytes: the largest message it will send, and the largest
// record batch it builds.
func WriterBatchBytes(maxMessageBytes int) int {
	return max(maxMessageBytes-recordBatchOverhead, 1)
}

// MaxMessageBytes returns the smallest max.message.bytes of topics, as the
// brokers report it (a topic override, else the broker's message.max.bytes).
// A writer that writes to all of them must stay below it.
func (c Config) MaxMessageBytes(ctx context.Context, topics ...string) (int, error) {
	if len(c.Brokers) == 0 {
		return 0, errors.New("no Kafka brokers configured")
	}
	client := &kafka.Client{Addr: kafka.TCP(c.Brokers...), Transport: c.transport(), Timeout: 15 * time.Second}
	req := &kafka.DescribeConfigsRequest{}
	for _, t := range topics {
		req.Resources = append(req.Resources, kafka.DescribeConfigRequestResource{
			ResourceType: kafka.ResourceTypeTopic, ResourceName: t, ConfigNames: []string{"max.message.bytes"},
		})
	}
	resp, err := client.DescribeConfigs(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("describe topic configs: %w", err)
	}
	limit := 0
	found := map[string]bool{}
	for _, r := range resp.Resources {
		if r.Error != nil {
			return 0, fmt.Errorf("describe topic %s: %w", r.ResourceName, r.Error)
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName != "max.message.bytes" {
				continue
			}
			n, err := strconv.Atoi(e.ConfigValue)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("topic %s: max.message.bytes %q is not a positive integer", r.ResourceName, e.ConfigValue)
			}
			found[r.ResourceName] = true
			if limit == 0 || n < limit {
				limit = n
			}
		}
	}
	for _, t := range topics {
		if !found[t] {
			return 0, fmt.Errorf("topic %s: broker did not report max.message.bytes", t)
		}
	}
	return limit, nil
}

// WriterLimit is the per-message limit for a writer to topics: from the
// brokers' max.message.bytes when override is 0, else override (an
// operator who knows better, or a broker that does not answer
// DescribeConfigs). It never fails: when the brokers cannot say, it
// assumes Kafka's default and reports why in err, for a warning.
func (c Config) WriterLimit(ctx context.Context, override int, topics ...string) (int, error) {
	if override > 0 {
		return WriterBatchBytes(override), nil
	}
	n, err := c.MaxMessageBytes(ctx, topics...)
	if err != nil {
		return WriterBatchBytes(DefaultBrokerMaxMessageBytes), fmt.Errorf("assuming Kafka's default max.message.bytes (%d): %w", DefaultBrokerMaxMessageBytes, err)
	}
	return WriterBatchBytes(n), nil
}
