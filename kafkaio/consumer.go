package kafkaio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
)

// Fetcher is the part of *kafka.Reader the Consumer needs.
type Fetcher interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
}

// BatchHandler processes one batch. It returns nil only when everything the
// batch produced has been acknowledged downstream; it must be safe to call
// again with the same batch after an error (the Consumer retries). A handler
// that cannot ever succeed for an input must dead-letter it instead of
// returning an error, or the Consumer retries forever.
type BatchHandler interface {
	HandleBatch(ctx context.Context, batch []kafka.Message) error
}

// Consumer reads batches from a consumer group, hands them to a handler, and
// commits their offsets once the handler succeeded.
type Consumer struct {
	Fetcher Fetcher
	Handler BatchHandler
	// BatchSize caps a batch; FlushInterval caps how long the first message
	// of a batch waits for company.
	BatchSize     int
	FlushInterval time.Duration
	// ShutdownTimeout bounds shutting down after ctx is cancelled: the
	// final flush gets all of it but a reserve (closeReserve) for leaving
	// the group and closing connections.
	ShutdownTimeout time.Duration
	// RetryMin and RetryMax bound the exponential backoff between attempts
	// of a failing batch.
	RetryMin, RetryMax time.Duration
	Log                zerolog.Logger
	// Observe, when set, is told about each attempt's outcome (metrics,
	// readiness).
	Observe func(size int, took time.Duration, err error)
}

func (c *Consumer) defaults() {
	if c.BatchSize <= 0 {
		c.BatchSize = 5000
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 200 * time.Millisecond
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.RetryMin <= 0 {
		c.RetryMin = 100 * time.Millisecond
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 10 * time.Second
	}
}

// errAbandoned marks a batch given up at the shutdown timeout, unflushed or
// uncommitted: not a failure, since its offsets are not committed and the
// group delivers it again.
var errAbandoned = errors.New("abandoned at the shutdown timeout")

// closeReserve is the part of a shutdown timeout kept for what follows the
// flush (leaving the group, closing the writer), so that the process ends
// within the timeout: a tenth, at most 2 s.
func closeReserve(timeout time.Duration) time.Duration {
	return min(timeout/10, 2*time.Second)
}

// Run consumes until ctx is cancelled or fetching fails for good. On
// cancellation it stops fetching, flushes and commits what it holds and
// returns nil. A batch that cannot be flushed within the shutdown budget
// (ShutdownTimeout less closeReserve; ClickHouse or the broker down) is
// abandoned with a warning and Run still returns nil: nothing is lost,
// because its offsets were not committed and the group redelivers it; the
// writes are idempotent. Memory is bounded: at most one batch being
// handled, one waiting, and one being filled.
func (c *Consumer) Run(ctx context.Context) error {
	c.defaults()
	// flushCtx outlives ctx by the flush budget so in-flight work can finish.
	flushCtx, cancelFlush := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelFlush()
	stopTimer := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(c.ShutdownTimeout-closeReserve(c.ShutdownTimeout), cancelFlush)
		context.AfterFunc(flushCtx, func() { t.Stop() })
	})
	defer stopTimer()

	batches := make(chan []kafka.Message, 1)
	var wg sync.WaitGroup
	var fetchErr, flushErr error

	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(batches)
		fetchErr = c.fetch(ctx, batches)
	}()
	go func() {
		defer wg.Done()
		for b := range batches {
			if flushErr != nil {
				continue // drain: nothing after a failed batch may be committed
			}
			flushErr = c.flush(flushCtx, b)
		}
	}()
	wg.Wait()

	if errors.Is(flushErr, errAbandoned) {
		c.Log.Warn().Err(flushErr).Dur("shutdown_timeout", c.ShutdownTimeout).
			Msg("stopping with a batch not written or not committed; its offsets are not committed, so it will be redelivered")
		flushErr = nil
	}
	if flushErr != nil {
		return flushErr
	}
	if fetchErr != nil && !errors.Is(fetchErr, context.Canceled) {
		return fetchErr
	}
	return nil
}

// fetch fills batches and hands them to out until ctx ends, then hands
// over what it holds. A batch goes when it has BatchSize messages or when
// FlushInterval has passed since its first message: the fetch waits for the
// next message only until then. Fetching and batching are one goroutine so
// that a message is copied once, from kafka-go's queue into its batch,
// instead of through two more channels and a goroutine switch each
// (BenchmarkConsumer).
//
// A failed fetch (broker unreachable, coordinator moving) is retried with
// backoff rather than ending the worker: kafka-go's group reader reconnects
// and rejoins by itself, nothing has been committed past what was handled,
// and a worker that exits on a broker blip turns a short outage into a
// crash loop. Only io.EOF (reader closed) ends it.
func (c *Consumer) fetch(ctx context.Context, out chan<- []kafka.Message) error {
	f := filling{ctx: ctx, out: out}
	defer f.send() // on the way out, fetched messages are handled and committed
	delay := c.RetryMin
	failures := 0
	for {
		m, err := c.Fetcher.FetchMessage(f.until())
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if f.due() {
				f.send()
				continue
			}
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("fetch: %w", err)
			}
			f.send() // hold no messages while the broker is away
			failures++
			c.Log.Warn().Err(err).Int("attempt", failures).Dur("retry_in", delay).Msg("fetch failed; retrying")
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return ctx.Err()
			}
			delay = min(delay*2, c.RetryMax)
			continue
		}
		if failures > 0 {
			c.Log.Info().Int("failed_attempts", failures).Msg("fetching again")
			failures, delay = 0, c.RetryMin
		}
		if f.batch == nil {
			f.start(c.BatchSize, c.FlushInterval)
		}
		f.batch = append(f.batch, m)
		// A fetch under a passed deadline may still return a message
		// (select picks at random), so the deadline is checked here too.
		if len(f.batch) >= c.BatchSize || f.due() {
			f.send()
		}
	}
}

// filling is the batch being filled and the deadline of its flush
// interval.
type filling struct {
	ctx    context.Context // the consumer's
	out    chan<- []kafka.Message
	batch  []kafka.Message
	flush  context.Context // ends when the batch is due; nil without a batch
	cancel context.CancelFunc
}

// start begins a batch, due after interval.
func (f *filling) start(size int, interval time.Duration) {
	f.batch = make([]kafka.Message, 0, size)
	f.flush, f.cancel = context.WithTimeout(f.ctx, interval)
}

// until is the context a fetch waits under: the batch's deadline, or the
// consumer's when there is no batch.
func (f *filling) until() context.Context {
	if f.flush != nil {
		return f.flush
	}
	return f.ctx
}

// due reports whether the batch's flush interval has passed.
func (f *filling) due() bool { return f.flush != nil && f.flush.Err() != nil }

// send hands the batch over, if there is one. It never blocks for good:
// Run's flush loop drains out until it is closed.
func (f *filling) send() {
	if f.cancel != nil {
		f.cancel()
		f.flush, f.cancel = nil, nil
	}
	if len(f.batch) > 0 {
		f.out <- f.batch
		f.batch = nil
	}
}

// flush hands a batch to the handler until it succeeds, then commits it.
func (c *Consumer) flush(ctx context.Context, batch []kafka.Message) error {
	delay := c.RetryMin
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := c.Handler.HandleBatch(ctx, batch)
		if c.Observe != nil {
			c.Observe(len(batch), time.Since(start), err)
		}
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("batch of %d from %s/%d offset %d %w (last error: %v)", len(batch), batch[0].Topic, batch[0].Partition, batch[0].Offset, errAbandoned, err)
		}
		c.Log.Warn().Err(err).Int("attempt", attempt).Int("batch", len(batch)).Dur("retry_in", delay).
			Str("topic", batch[0].Topic).Int("partition", batch[0].Partition).Int64("offset", batch[0].Offset).
			Msg("batch failed; retrying")
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return fmt.Errorf("batch of %d from %s/%d offset %d %w (last error: %v)", len(batch), batch[0].Topic, batch[0].Partition, batch[0].Offset, errAbandoned, err)
		}
		delay = min(delay*2, c.RetryMax)
	}
	return c.commit(ctx, batch)
}

// commit stores the batch's offsets. A failed commit is not fatal for
// correctness: the messages are redelivered and their writes are idempotent.
func (c *Consumer) commit(ctx context.Context, batch []kafka.Message) error {
	last := lastPerPartition(batch)
	delay := c.RetryMin
	for attempt := 1; attempt <= 5; attempt++ {
		err := c.Fetcher.CommitMessages(ctx, last...)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("commit of a batch of %d %w (last error: %v)", len(batch), errAbandoned, err)
		}
		c.Log.Warn().Err(err).Int("attempt", attempt).Str("topic", last[0].Topic).Int("partition", last[0].Partition).
			Int64("offset", last[0].Offset).Msg("commit failed; retrying")
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return fmt.Errorf("commit of a batch of %d %w (last error: %v)", len(batch), errAbandoned, err)
		}
		delay = min(delay*2, c.RetryMax)
	}
	c.Log.Error().Int("batch", len(batch)).Msg("giving up committing a batch; it will be redelivered and deduplicated")
	return nil
}

// lastPerPartition keeps the highest-offset message of each partition:
// committing it commits everything before it.
func lastPerPartition(batch []kafka.Message) []kafka.Message {
	type tp struct {
		topic     string
		partition int
	}
	idx := make(map[tp]int, 8)
	var out []kafka.Message
	for _, m := range batch {
		k := tp{m.Topic, m.Partition}
		if i, ok := idx[k]; ok {
			if m.Offset > out[i].Offset {
				out[i] = m
			}
			continue
		}
		idx[k] = len(out)
		out = append(out, m)
	}
	return out
}
