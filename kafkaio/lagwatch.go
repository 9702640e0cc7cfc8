package kafkaio

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
)

// LagMetrics export a consumer group's lag per partition.
type LagMetrics struct {
	lag    *prometheus.GaugeVec
	errors prometheus.Counter
}

// NewLagMetrics creates the lag metrics and registers them on reg (if not
// nil):
//
//	tripline_consumer_lag{group,topic,partition}   messages not yet committed
//	tripline_consumer_lag_errors_total{group}      failed lag polls
func NewLagMetrics(reg prometheus.Registerer, group string) *LagMetrics {
	m := &LagMetrics{
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tripline_consumer_lag",
			Help: "Messages of a partition the consumer group has not committed yet (end offset minus committed offset).",
		}, []string{"group", "topic", "partition"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name:        "tripline_consumer_lag_errors_total",
			Help:        "Lag polls that failed (broker unreachable or refusing).",
			ConstLabels: prometheus.Labels{"group": group},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.lag, m.errors)
	}
	return m
}

// WatchLag polls the group's lag on topics every interval until ctx ends and
// exports it on m. A failed poll keeps the last values (the lag alert fires
// on them) and counts an error; onPoll, when set, is told each poll's
// outcome (readiness).
func (c Config) WatchLag(ctx context.Context, group string, topics []string, interval time.Duration, m *LagMetrics, log zerolog.Logger, onPoll func(error)) {
	if interval <= 0 {
		interval = 15 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	// One transport for all polls: its connections are reused rather than
	// opened anew every interval.
	tr := c.transport()
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(c.Brokers...), Transport: tr, Timeout: max(interval, 5*time.Second)}
	for {
		pollCtx, cancel := context.WithTimeout(ctx, max(interval, 5*time.Second))
		parts, err := partitionLags(pollCtx, client, group, topics)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			m.errors.Inc()
			log.Debug().Err(err).Str("group", group).Msg("lag poll failed")
		} else {
			for _, p := range parts {
				m.lag.WithLabelValues(group, p.Topic, strconv.Itoa(p.Partition)).Set(float64(p.Lag))
			}
		}
		if onPoll != nil {
			onPoll(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
