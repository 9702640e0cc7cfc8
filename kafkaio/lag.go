package kafkaio

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/segmentio/kafka-go"
)

// PartitionLag is how far a consumer group is behind on one partition: the
// partition's end offset minus the group's committed offset (or minus the
// partition's first offset when the group has committed nothing yet).
type PartitionLag struct {
	Topic     string
	Partition int
	Lag       int64
}

// GroupLag returns how many messages of topics the group has not committed
// yet, summed over partitions. The demo and the end-to-end tests use it to
// know when the pipeline has caught up; operators get the same figure per
// partition from the metrics (see PartitionLags and WatchLag).
func (c Config) GroupLag(ctx context.Context, group string, topics []string) (int64, error) {
	parts, err := c.PartitionLags(ctx, group, topics)
	if err != nil {
		return 0, err
	}
	var lag int64
	for _, p := range parts {
		lag += p.Lag
	}
	return lag, nil
}

// PartitionLags returns the group's lag on every partition of topics,
// ordered by topic and partition.
func (c Config) PartitionLags(ctx context.Context, group string, topics []string) ([]PartitionLag, error) {
	t := c.transport()
	defer t.CloseIdleConnections()
	return partitionLags(ctx, &kafka.Client{Addr: kafka.TCP(c.Brokers...), Transport: t, Timeout: 10 * time.Second}, group, topics)
}

func partitionLags(ctx context.Context, client *kafka.Client, group string, topics []string) ([]PartitionLag, error) {
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("lag of %s: metadata: %w", group, err)
	}
	ends := map[string][]kafka.OffsetRequest{}
	fetch := map[string][]int{}
	for _, t := range meta.Topics {
		if errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
			// A topic that does not exist yet has nothing to read, as
			// the consumer group sees it too (no partitions until it is
			// created): a raw topic no producer has written (msp.vendor
			// in a deployment without receive or poll) is not an error.
			continue
		}
		if t.Error != nil {
			return nil, fmt.Errorf("lag of %s: topic %s: %w", group, t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			ends[t.Name] = append(ends[t.Name], kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
			fetch[t.Name] = append(fetch[t.Name], p.ID)
		}
	}
	last, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: ends})
	if err != nil {
		return nil, fmt.Errorf("lag of %s: list offsets: %w", group, err)
	}
	committed, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: fetch})
	if err != nil {
		return nil, fmt.Errorf("lag of %s: offset fetch: %w", group, err)
	}
	done := map[string]map[int]int64{}
	for topic, parts := range committed.Topics {
		done[topic] = map[int]int64{}
		for _, p := range parts {
			done[topic][p.Partition] = p.CommittedOffset
		}
	}
	var out []PartitionLag
	for topic, parts := range last.Topics {
		for _, p := range parts {
			if p.Error != nil {
				return nil, fmt.Errorf("lag of %s: %s/%d: %w", group, topic, p.Partition, p.Error)
			}
			c, ok := done[topic][p.Partition]
			if !ok || c < 0 {
				c = p.FirstOffset
			}
			out = append(out, PartitionLag{Topic: topic, Partition: p.Partition, Lag: max(p.LastOffset-c, 0)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out, nil
}

// PartitionCount returns how many partitions topic has.
func (c Config) PartitionCount(ctx context.Context, topic string) (int, error) {
	t := c.transport()
	defer t.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(c.Brokers...), Transport: t, Timeout: 10 * time.Second}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return 0, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	for _, tm := range meta.Topics {
		if tm.Name != topic {
			continue
		}
		if tm.Error != nil {
			return 0, fmt.Errorf("partitions of %s: %w", topic, tm.Error)
		}
		return len(tm.Partitions), nil
	}
	return 0, fmt.Errorf("partitions of %s: topic not in metadata", topic)
}
