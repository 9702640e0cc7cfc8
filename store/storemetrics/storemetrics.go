// Package storemetrics times the workers' ClickHouse inserts for Prometheus.
// It wraps a *store.Store and lives apart from it, so that store itself
// does not depend on Prometheus:
//
//	tripline_clickhouse_insert_seconds{table}       latency of one INSERT (a batch), failed attempts included
//	tripline_clickhouse_rows_inserted_total{table}  rows acknowledged by ClickHouse
//	tripline_clickhouse_insert_errors_total{table}  failed INSERTs (the batch is retried)
//
// table is events, detections or correlation_frontiers.
package storemetrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/store"
)

// Tables whose inserts Store times, as the table label spells them.
const (
	TableEvents     = "events"
	TableDetections = "detections"
	TableFrontiers  = "correlation_frontiers"
	TableAlerts     = "alerts"
	TableIncidents  = "incidents"
)

// Store is a *store.Store whose inserts (InsertEvents, InsertDetections,
// InsertAlerts, InsertIncidents, SaveFrontiers) are timed and counted; every other method (the history
// reads of stateful detection, say) is promoted unchanged.
type Store struct {
	*store.Store
	seconds *prometheus.HistogramVec
	rows    *prometheus.CounterVec
	errors  *prometheus.CounterVec
}

// Instrument wraps st and registers its metrics on reg (if not nil).
func Instrument(st *store.Store, reg prometheus.Registerer) *Store {
	s := &Store{
		Store: st,
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tripline_clickhouse_insert_seconds", Help: "Latency of one ClickHouse INSERT (a batch), by table; failed attempts included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"table"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tripline_clickhouse_rows_inserted_total", Help: "Rows acknowledged by ClickHouse, by table (replays included; dedup happens in ClickHouse).",
		}, []string{"table"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tripline_clickhouse_insert_errors_total", Help: "Failed ClickHouse INSERTs, by table (the batch is retried).",
		}, []string{"table"}),
	}
	for _, t := range []string{TableEvents, TableDetections} {
		s.rows.WithLabelValues(t)
		s.errors.WithLabelValues(t)
	}
	if reg != nil {
		reg.MustRegister(s.seconds, s.rows, s.errors)
	}
	return s
}

func (s *Store) observe(table string, n int, start time.Time, err error) {
	s.seconds.WithLabelValues(table).Observe(time.Since(start).Seconds())
	if err != nil {
		s.errors.WithLabelValues(table).Inc()
		return
	}
	s.rows.WithLabelValues(table).Add(float64(n))
}

// InsertEvents implements ingest.EventStore.
func (s *Store) InsertEvents(ctx context.Context, rows []record.Event) error {
	start := time.Now()
	err := s.Store.InsertEvents(ctx, rows)
	s.observe(TableEvents, len(rows), start, err)
	return err
}

// InsertDetections implements detect.DetectionStore.
func (s *Store) InsertDetections(ctx context.Context, ds []record.Detection) error {
	start := time.Now()
	err := s.Store.InsertDetections(ctx, ds)
	s.observe(TableDetections, len(ds), start, err)
	return err
}

// InsertAlerts implements detect.AlertStore.
func (s *Store) InsertAlerts(ctx context.Context, as []record.Alert) error {
	start := time.Now()
	err := s.Store.InsertAlerts(ctx, as)
	s.observe(TableAlerts, len(as), start, err)
	return err
}

// InsertIncidents implements detect.AlertStore.
func (s *Store) InsertIncidents(ctx context.Context, is []record.Incident) error {
	start := time.Now()
	err := s.Store.InsertIncidents(ctx, is)
	s.observe(TableIncidents, len(is), start, err)
	return err
}

// SaveFrontiers implements detect.StateStore's write. No frontiers is no
// INSERT, and is not observed.
func (s *Store) SaveFrontiers(ctx context.Context, group string, fs []record.Frontier) error {
	if len(fs) == 0 {
		return s.Store.SaveFrontiers(ctx, group, fs)
	}
	start := time.Now()
	err := s.Store.SaveFrontiers(ctx, group, fs)
	s.observe(TableFrontiers, len(fs), start, err)
	return err
}
