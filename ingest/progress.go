package ingest

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/watermark"
)

// DefaultMarkInterval is how often an ingest worker writes progress
// markers when it has no batch to write them after.
const DefaultMarkInterval = 2 * time.Second

// Progress writes ingest's progress markers to every partition of the
// normalised topic (see package watermark): after each batch, and every
// interval from Run's ticker with the group's lag freshly polled, so an
// idle pipeline's watermarks still advance.
type Progress struct {
	Tracker  *watermark.Tracker
	Producer Producer
	Topic    string
	// partitions of Topic; 0 until known (markers are skipped until then).
	partitions atomic.Int64
	// lastBatchMark is when a batch last wrote a marker (Unix ns): batches
	// write at most one per minBatchMarkGap, so small batches do not
	// multiply markers by the partition count.
	lastBatchMark atomic.Int64
}

// minBatchMarkGap spaces the markers batches write. Skipping one only
// delays the watermark (the next batch or tick writes a newer marker).
const minBatchMarkGap = 100 * time.Millisecond

// afterBatch records what a written batch forwarded and writes a marker.
func (p *Progress) afterBatch(ctx context.Context, maxTimes map[sourceKey]time.Time) error {
	for k, t := range maxTimes {
		p.Tracker.Forwarded(k.topic, k.partition, t)
	}
	now := time.Now().UnixNano()
	if now-p.lastBatchMark.Load() < int64(minBatchMarkGap) {
		return nil
	}
	p.lastBatchMark.Store(now)
	return p.write(ctx)
}

func (p *Progress) write(ctx context.Context) error {
	n := int(p.partitions.Load())
	if n == 0 {
		return nil
	}
	pr, ok := p.Tracker.Progress()
	if !ok {
		return nil // no lag poll yet: a marker would name only the sources forwarded so far
	}
	msgs, err := pr.Messages(p.Topic, n)
	if err != nil {
		return err
	}
	if err := p.Producer.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("write progress markers to %s: %w", p.Topic, kafkaio.SummariseWriteError(err))
	}
	return nil
}

// tick polls the group's lag on the raw topics (and, until known, the
// normalised topic's partition count), then writes a marker. The lag is polled before the marker is
// written, so a source it reports as caught up had all its events written
// before the marker.
func (p *Progress) tick(ctx context.Context, k kafkaio.Config, group string, raw []string, log zerolog.Logger) {
	// The partition count is read once: adding partitions moves msps
	// between them, which needs the workers restarted anyway (README).
	if p.partitions.Load() == 0 {
		n, err := k.PartitionCount(ctx, p.Topic)
		if err != nil {
			log.Warn().Err(err).Msg("progress markers: cannot read the normalised topic's partitions")
			return
		}
		p.partitions.Store(int64(n))
	}
	lags, err := k.PartitionLags(ctx, group, raw)
	if err != nil {
		log.Warn().Err(err).Msg("progress markers: cannot poll the group's lag")
		return
	}
	ls := make([]watermark.Lag, len(lags))
	for i, l := range lags {
		ls[i] = watermark.Lag{Topic: l.Topic, Partition: l.Partition, Lag: l.Lag}
	}
	p.Tracker.SetLags(ls)
	if err := p.write(ctx); err != nil && ctx.Err() == nil {
		log.Warn().Err(err).Msg("progress markers")
	}
}

// run ticks every interval until ctx is done (Run ticks once itself
// before it consumes).
func (p *Progress) run(ctx context.Context, every time.Duration, k kafkaio.Config, group string, raw []string, log zerolog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.tick(ctx, k, group, raw, log)
		}
	}
}

type sourceKey struct {
	topic     string
	partition int
}
