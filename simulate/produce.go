package simulate

import (
	"context"
	"time"

	"github.com/segmentio/kafka-go"
)

// Writer sends messages to Kafka and returns once they are acknowledged;
// *kafka.Writer implements it.
type Writer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// ProduceOptions say how Produce batches.
type ProduceOptions struct {
	// BatchSize is the most messages one WriteMessages call sends
	// (default 2000).
	BatchSize int
	// Linger, when positive, also writes a batch that is not full once
	// Linger has passed since the last write, checked as each message
	// arrives: a paced feed (Pace) does not hold messages back for long.
	Linger time.Duration
}

// Produced counts the messages Produce had acknowledged.
type Produced struct {
	Messages int
	// Attacks are the messages of an injected scenario (Message.Scenario).
	Attacks int
}

// Produce sends the messages of next (a Generator's Next, or one wrapped by
// Pace or InEventTime) to w in batches, until next returns false or ctx is
// done, and returns what was acknowledged. A failed write is returned as
// is, unless ctx is done: an interrupted feed reports what it sent, and no
// error.
func Produce(ctx context.Context, w Writer, next func() (Message, bool), o ProduceOptions) (Produced, error) {
	size := o.BatchSize
	if size <= 0 {
		size = 2000
	}
	var done Produced
	batch := make([]kafka.Message, 0, size)
	attacks := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := w.WriteMessages(ctx, batch...); err != nil {
			return err
		}
		done.Messages += len(batch)
		done.Attacks += attacks
		batch, attacks = batch[:0], 0
		return nil
	}
	lastFlush := time.Now()
	for ctx.Err() == nil {
		m, ok := next()
		if !ok {
			break
		}
		batch = append(batch, kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value, Headers: m.Headers})
		if m.Scenario != "" {
			attacks++
		}
		if len(batch) == cap(batch) || (o.Linger > 0 && time.Since(lastFlush) > o.Linger) {
			if err := flush(); err != nil {
				return done, interrupted(ctx, err)
			}
			lastFlush = time.Now()
		}
	}
	return done, interrupted(ctx, flush())
}

// interrupted returns err unless ctx is done: a write that failed because
// the feed was interrupted is not an error.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
