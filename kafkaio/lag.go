package kafkaio

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// GroupLag returns how many messages of topics the group has not committed
// yet, summed over partitions. The demo and the end-to-end tests use it to
// know when the pipeline has caught up; operators get the same figure per
// partition from the metrics.
func (c Config) GroupLag(ctx context.Context, group string, topics []string) (int64, error) {
	client := &kafka.Client{Addr: kafka.TCP(c.Brokers...), Transport: c.transport(), Timeout: 10 * time.Second}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return 0, fmt.Errorf("lag of %s: metadata: %w", group, err)
	}
	ends := map[string][]kafka.OffsetRequest{}
	fetch := map[string][]int{}
	for _, t := range meta.Topics {
		if t.Error != nil {
			return 0, fmt.Errorf("lag of %s: topic %s: %w", group, t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			ends[t.Name] = append(ends[t.Name], kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
			fetch[t.Name] = append(fetch[t.Name], p.ID)
		}
	}
	last, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: ends})
	if err != nil {
		return 0, fmt.Errorf("lag of %s: list offsets: %w", group, err)
	}
	committed, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: fetch})
	if err != nil {
		return 0, fmt.Errorf("lag of %s: offset fetch: %w", group, err)
	}
	done := map[string]map[int]int64{}
	for topic, parts := range committed.Topics {
		done[topic] = map[int]int64{}
		for _, p := range parts {
			done[topic][p.Partition] = p.CommittedOffset
		}
	}
	var lag int64
	for topic, parts := range last.Topics {
		for _, p := range parts {
			if p.Error != nil {
				return 0, fmt.Errorf("lag of %s: %s/%d: %w", group, topic, p.Partition, p.Error)
			}
			c, ok := done[topic][p.Partition]
			if !ok || c < 0 {
				c = p.FirstOffset
			}
			if d := p.LastOffset - c; d > 0 {
				lag += d
			}
		}
	}
	return lag, nil
}
