package notify

import "github.com/prometheus/client_golang/prometheus"

// Metrics are notify's Prometheus metrics. Labels are receiver names and
// fixed words from the config and this package: never secrets, never
// alert content.
type Metrics struct {
	messages     *prometheus.CounterVec
	deliveries   *prometheus.CounterVec
	delay        *prometheus.HistogramVec
	silenced     prometheus.Counter
	unrouted     prometheus.Counter
	deadLettered *prometheus.CounterVec
	repeats      *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them on reg (if not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tripline_notify_messages_total", Help: "tripline.alerts messages read, by kind (invalid: unreadable, dead-lettered).",
		}, []string{"kind"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tripline_notify_deliveries_total", Help: "Delivery attempts by receiver and result (delivered, retry, failed).",
		}, []string{"receiver", "result"}),
		delay: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tripline_notify_delivery_delay_seconds",
			Help:    "Time from an alert's first event to the receiver's 2xx, by receiver.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600},
		}, []string{"receiver"}),
		silenced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tripline_notify_silenced_total", Help: "Alert messages not delivered because a silence holds the alert (suppressed_by).",
		}),
		unrouted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tripline_notify_unrouted_total", Help: "Alert messages no route matched.",
		}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tripline_notify_dead_lettered_total", Help: "Messages sent to the dead-letter topic after a receiver did not accept them, by receiver.",
		}, []string{"receiver"}),
		repeats: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tripline_notify_repeats_total", Help: "Renotifications of open alerts (repeat_interval), by receiver and result.",
		}, []string{"receiver", "result"}),
	}
	if reg != nil {
		reg.MustRegister(m.messages, m.deliveries, m.delay, m.silenced, m.unrouted, m.deadLettered, m.repeats)
	}
	return m
}

func (m *Metrics) message(kind string) {
	switch kind {
	case "opened", "updated", "resolved", "closed", "reopened", "invalid":
	default:
		kind = "other" // bounded label values whatever a producer writes
	}
	m.messages.WithLabelValues(kind).Inc()
}

// initReceivers creates the series of every receiver at zero, so rates
// and alerts on them work before the first delivery.
func (m *Metrics) initReceivers(names []string) {
	for _, n := range names {
		for _, r := range []string{ResultDelivered, ResultRetry, ResultFailed} {
			m.deliveries.WithLabelValues(n, r)
		}
		m.deadLettered.WithLabelValues(n)
	}
}
