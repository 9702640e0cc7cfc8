package detect

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/tripline/tripline/detection"
	"github.com/tripline/tripline/record"
)

// StateStore is what correlation state needs from storage: the stored
// events to rebuild from, and each msp's frontier. *store.Store
// implements it.
type StateStore interface {
	// ReplayEvents calls fn with the JSON of each stored event of msp with
	// a time in [from, to), ordered by time (at the store's precision).
	ReplayEvents(ctx context.Context, msp string, from, to time.Time, fn func(doc []byte) error) error
	// Frontiers returns a consumer group's last recorded frontier of
	// every msp; SaveFrontiers records some.
	Frontiers(ctx context.Context, group string) ([]record.Frontier, error)
	SaveFrontiers(ctx context.Context, group string, fs []record.Frontier) error
}

// DefaultMaxReplay caps how much history a rebuild reads (anomaly
// histories longer than this start over from what it covers).
const DefaultMaxReplay = 30 * 24 * time.Hour

// startedAt is the frontier recorded for an msp whose events the group
// has started to evaluate but none of which reached the correlations yet:
// a rebuild replays all its stored events.
var startedAt = time.Unix(0, 0).UTC()

// adopt rebuilds the correlation state of every msp of a partition of the
// normalised topic, when the handler starts reading it (at start, after a
// rebalance hands it over, or after it skipped ahead):
//
//   - msps with a recorded frontier F: their events up to F were handed to
//     the correlations before, and the detections stored, so they are
//     replayed from the events table without emitting (from F minus the
//     longest correlation horizon, capped by MaxReplay); stored events
//     after F are held like new input, since their offsets may already be
//     committed. Kafka then delivers again what it still has, which the
//     core recognises.
//   - msps without one are new to this consumer group; their state is
//     built from what Kafka delivers.
//
// Detection IDs are deterministic, so a rebuilt detector writes the same
// rows one that never stopped would have.
func (h *Handler) adopt(ctx context.Context, partition int, ps *partitionState, emit detection.Emit) error {
	ps.adopted = true
	if h.State == nil || h.Partitions <= 0 || h.core.Snapshot().Correlations.Len() == 0 {
		return nil
	}
	fs, err := h.State.Frontiers(ctx, h.Group)
	if err != nil {
		ps.adopted = false
		return fmt.Errorf("rebuild correlation state of partition %d: %w", partition, err)
	}
	for _, f := range fs {
		if PartitionOf(f.MSP, h.Partitions) != partition {
			continue
		}
		if err := h.restore(ctx, f, emit); err != nil {
			ps.adopted = false
			return err
		}
		ps.msps[f.MSP] = true
	}
	return nil
}

// PartitionOf is the partition of the normalised topic that holds msp's
// events: the murmur2 hash of the key, as ingest's writer places them.
func PartitionOf(msp string, partitions int) int {
	all := make([]int, partitions)
	for i := range all {
		all[i] = i
	}
	return (&kafka.Murmur2Balancer{}).Balance(kafka.Message{Key: []byte(msp)}, all...)
}

// restore rebuilds one msp's state from its stored events (see adopt).
func (h *Handler) restore(ctx context.Context, f record.Frontier, emit detection.Emit) error {
	snap := h.core.Snapshot()
	msp := f.MSP
	start := time.Now()
	frontier := detection.Key{Time: f.Time, ID: f.EventID}
	window := snap.Correlations.Horizon()
	if h.grouper != nil {
		// Alerts still open are rebuilt from the same replay.
		window = max(window, snap.AlertHold())
		h.grouper.Forget(msp)
	}
	maxReplay := h.MaxReplay
	if maxReplay <= 0 {
		maxReplay = DefaultMaxReplay
	}
	from := f.Time.Add(-min(window, maxReplay))
	if f.Time.Equal(startedAt) {
		from = startedAt
	}
	h.core.Restore(msp, frontier)
	n := 0
	drop := func(detection.Result) {}
	// Release the silent part as the replay goes (the store orders by
	// time at its precision, so once a later second starts, the earlier
	// ones are complete): memory stays at what the frontier has not
	// covered yet.
	var second time.Time
	err := h.State.ReplayEvents(ctx, msp, from, farFuture(f.Time), func(doc []byte) error {
		ev, err := h.Decoder.Decode(doc)
		if err != nil {
			return nil // stored rows were valid when ingested; skip the odd one
		}
		if ev.Time.Before(from) {
			return nil
		}
		if s := ev.Time.Truncate(time.Second); s.After(second) {
			if !second.IsZero() {
				upTo := s.Add(-time.Nanosecond)
				if upTo.After(f.Time) {
					upTo = f.Time
				}
				h.core.Advance(msp, upTo, drop)
			}
			second = s
		}
		n++
		in := detection.ContractEvent(&ev)
		h.core.Replay(&in, emit)
		return nil
	})
	if h.Rebuilt != nil {
		h.Rebuilt(n, time.Since(start), err)
	}
	if err != nil {
		return fmt.Errorf("rebuild correlation state of %s: %w", msp, err)
	}
	h.core.Advance(msp, f.Time, drop)
	if h.grouper != nil {
		// The watermark had passed the frontier: alerts that ended by
		// then were resolved before the restart.
		h.grouper.Advance(msp, f.Time)
	}
	h.saved[msp] = frontier
	h.Log.Info().Str("msp", msp).Int("events", n).Time("frontier", f.Time).Dur("took", time.Since(start)).Msg("correlation state rebuilt")
	return nil
}

// farFuture bounds a replay's end: every stored event of the msp.
func farFuture(t time.Time) time.Time {
	if now := time.Now(); now.After(t) {
		t = now
	}
	return t.Add(366 * 24 * time.Hour)
}
