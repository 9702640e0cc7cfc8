package simulate

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// recorder is a Writer that keeps each batch; fail, when set, decides a
// call's error from its index.
type recorder struct {
	batches [][]kafka.Message
	fail    func(call int) error
}

func (r *recorder) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	if r.fail != nil {
		if err := r.fail(len(r.batches)); err != nil {
			r.batches = append(r.batches, nil)
			return err
		}
	}
	r.batches = append(r.batches, append([]kafka.Message(nil), msgs...))
	return nil
}

// messages returns a next function over n messages, every third of an
// attack.
func messages(n int) func() (Message, bool) {
	i := 0
	return func() (Message, bool) {
		if i == n {
			return Message{}, false
		}
		m := Message{Topic: TopicRemoteSessions, Key: []byte("msp"), Value: []byte{byte(i)}}
		if i%3 == 2 {
			m.Scenario = "brute-force"
		}
		i++
		return m, true
	}
}

func TestProduce(t *testing.T) {
	var w recorder
	p, err := Produce(context.Background(), &w, messages(10), ProduceOptions{BatchSize: 4})
	if err != nil || p != (Produced{Messages: 10, Attacks: 3}) {
		t.Fatalf("Produce = %+v, %v; want 10 messages, 3 attacks", p, err)
	}
	var sizes []int
	for i, b := range w.batches {
		sizes = append(sizes, len(b))
		for j, m := range b {
			if m.Topic != TopicRemoteSessions || string(m.Key) != "msp" || m.Value[0] != byte(i*4+j) {
				t.Fatalf("batch %d message %d = %+v", i, j, m)
			}
		}
	}
	if len(sizes) != 3 || sizes[0] != 4 || sizes[1] != 4 || sizes[2] != 2 {
		t.Errorf("batch sizes %v, want [4 4 2]", sizes)
	}

	// A failed write ends the feed; only acknowledged messages count.
	down := errors.New("broker down")
	w = recorder{fail: func(call int) error {
		if call == 1 {
			return down
		}
		return nil
	}}
	p, err = Produce(context.Background(), &w, messages(10), ProduceOptions{BatchSize: 4})
	if !errors.Is(err, down) || p != (Produced{Messages: 4, Attacks: 1}) {
		t.Errorf("failing write: Produce = %+v, %v; want 4 messages, 1 attack and the error", p, err)
	}

	// Interrupted: the last batch's failure is not an error.
	ctx, cancel := context.WithCancel(context.Background())
	next := messages(10)
	n := 0
	w = recorder{fail: func(call int) error { return ctx.Err() }}
	p, err = Produce(ctx, &w, func() (Message, bool) {
		if n++; n == 3 {
			cancel()
		}
		return next()
	}, ProduceOptions{BatchSize: 4})
	if err != nil || p.Messages != 0 {
		t.Errorf("interrupted: Produce = %+v, %v; want nothing sent and no error", p, err)
	}

	// Interrupted while a full batch is written: no error either.
	ctx, cancel = context.WithCancel(context.Background())
	w = recorder{fail: func(call int) error {
		if call == 1 {
			cancel()
			return ctx.Err()
		}
		return nil
	}}
	p, err = Produce(ctx, &w, messages(10), ProduceOptions{BatchSize: 4})
	if err != nil || p.Messages != 4 {
		t.Errorf("interrupted mid-feed: Produce = %+v, %v; want 4 sent and no error", p, err)
	}
}

// TestProduceLinger: a slow feed's messages are written once Linger has
// passed, not held until the batch fills.
func TestProduceLinger(t *testing.T) {
	var w recorder
	next := messages(3)
	slow := func() (Message, bool) {
		time.Sleep(15 * time.Millisecond)
		return next()
	}
	p, err := Produce(context.Background(), &w, slow, ProduceOptions{BatchSize: 100, Linger: 10 * time.Millisecond})
	if err != nil || p.Messages != 3 || len(w.batches) != 3 {
		t.Fatalf("Produce = %+v, %v in %d batches; want 3 batches of one", p, err, len(w.batches))
	}
}

func TestInEventTime(t *testing.T) {
	now := time.Now()
	times := []time.Time{now.Add(-time.Hour), now.Add(60 * time.Millisecond), now.Add(time.Hour)}
	i := 0
	ctx, cancel := context.WithCancel(context.Background())
	next := InEventTime(ctx, func() (Message, bool) {
		m := Message{Time: times[i]}
		i++
		return m, true
	})
	if _, ok := next(); !ok || time.Since(now) > 50*time.Millisecond {
		t.Fatalf("an event in the past was held (%s)", time.Since(now))
	}
	if _, ok := next(); !ok || time.Since(now) < 60*time.Millisecond {
		t.Fatalf("an event 60ms ahead came after %s", time.Since(now))
	}
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, ok := next(); ok {
		t.Fatal("an event an hour ahead came before the context ended")
	}
}

// TestStartBefore: from the start it gives, the last event is not in the
// future, on a weekday morning and a weekend night, for the default world
// and a bigger one; unlimited feeds start an hour back.
func TestStartBefore(t *testing.T) {
	for _, now := range []time.Time{
		time.Date(2026, 11, 11, 9, 30, 0, 0, time.UTC),  // Wednesday morning
		time.Date(2026, 11, 15, 23, 10, 0, 0, time.UTC), // Sunday night
	} {
		for _, cfg := range []Config{
			{Seed: 1, Events: 20000},
			{Seed: 3, Events: 20000, MSPs: 6, TenantsPerMSP: 20, Scenarios: []string{"kaseya-style"}},
		} {
			cfg.Start = StartBefore(now, cfg)
			g, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var last Message
			for m, ok := g.Next(); ok; m, ok = g.Next() {
				last = m
			}
			if last.Time.After(now) {
				t.Errorf("now %s, %d MSPs: from %s the last event is at %s", now, cfg.MSPs, cfg.Start, last.Time)
			}
		}
	}
	now := time.Date(2026, 11, 11, 9, 30, 20, 0, time.UTC)
	if got := StartBefore(now, Config{}); !got.Equal(time.Date(2026, 11, 11, 8, 30, 0, 0, time.UTC)) {
		t.Errorf("unlimited: StartBefore = %s, want an hour back", got)
	}
}
