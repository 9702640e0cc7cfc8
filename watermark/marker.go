package watermark

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// Control headers. A message on tripline.events with HeaderControl set is
// not an event; consumers that do not know a kind skip it.
const (
	HeaderControl = "tripline-control"
	// KindProgress is a progress marker (Progress as JSON).
	KindProgress = "progress"
	// HeaderPartition routes a control message to one partition (see
	// Balancer).
	HeaderPartition = "tripline-partition"
)

// Version is the marker format version.
const Version = 1

// Source is one raw source partition as one ingest worker knows it.
type Source struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	// MaxTime is the newest event time of the source that the writer has
	// forwarded (zero: none yet).
	MaxTime time.Time `json:"max_time,omitzero"`
	// Lag is the ingest group's lag on the source when the writer last
	// polled it; -1 means unknown.
	Lag int64 `json:"lag"`
}

// Progress is one marker.
type Progress struct {
	V int `json:"v"`
	// At is the writer's wall clock when it wrote the marker. Idleness is
	// judged on this clock, not the reader's: a detector catching up reads
	// an hour of markers in seconds, and must not see a source idle that
	// was only quiet for a second.
	At      time.Time `json:"at"`
	Sources []Source  `json:"sources"`
}

// Messages returns one marker message per partition of topic.
func (p Progress) Messages(topic string, partitions int) ([]kafka.Message, error) {
	p.V = Version
	body, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("progress marker: %w", err)
	}
	out := make([]kafka.Message, partitions)
	for i := range out {
		out[i] = kafka.Message{
			Topic: topic,
			Value: body,
			Headers: []kafka.Header{
				{Key: HeaderControl, Value: []byte(KindProgress)},
				{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(i), 10)},
			},
		}
	}
	return out, nil
}

// Control returns the control kind of m ("" for an event).
func Control(m *kafka.Message) string {
	for _, h := range m.Headers {
		if h.Key == HeaderControl {
			return string(h.Value)
		}
	}
	return ""
}

// Parse decodes a progress marker.
func Parse(value []byte) (Progress, error) {
	var p Progress
	if err := json.Unmarshal(value, &p); err != nil {
		return Progress{}, fmt.Errorf("progress marker: %w", err)
	}
	if p.V != Version {
		return Progress{}, fmt.Errorf("progress marker: version %d, want %d", p.V, Version)
	}
	return p, nil
}

// Balancer sends messages carrying HeaderPartition to that partition and
// every other message where Fallback says.
type Balancer struct {
	Fallback kafka.Balancer
}

// Balance implements kafka.Balancer.
func (b Balancer) Balance(m kafka.Message, partitions ...int) int {
	for _, h := range m.Headers {
		if h.Key != HeaderPartition {
			continue
		}
		if n, err := strconv.Atoi(string(h.Value)); err == nil {
			for _, p := range partitions {
				if p == n {
					return p
				}
			}
		}
		break
	}
	return b.Fallback.Balance(m, partitions...)
}
