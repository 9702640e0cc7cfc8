package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Store writes tripline's events and detections to ClickHouse. It is safe
// for concurrent use.
type Store struct {
	cfg      Config
	conn     driver.Conn
	version  Version
	features Features

	// migrateMu serialises Migrate calls within one process; across
	// processes, idempotent DDL and a ReplacingMergeTree migrations table
	// make a concurrent run harmless (see Migrate).
	migrateMu sync.Mutex

	// eventCols keeps InsertEvents' column buffers from one batch to the
	// next (see eventColumnsSlot).
	eventCols eventColumnsSlot
	// extra are the event fields no column holds, written to the extra
	// column (eventExtra; tests narrow the columns to exercise it).
	extra []extraField
}

// Open connects over the native protocol, checks the connection with a
// ping and probes the server version to pick the schema features. The
// database need not exist yet: Migrate creates it.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	opts := &clickhouse.Options{
		Protocol: clickhouse.Native,
		Addr:     []string{cfg.Addr},
		// No Database here: it may not exist before Migrate, and every
		// statement names it explicitly.
		Auth:            clickhouse.Auth{Username: cfg.User, Password: cfg.Password},
		TLS:             cfg.TLS,
		DialTimeout:     cfg.DialTimeout,
		ReadTimeout:     cfg.ReadTimeout,
		MaxOpenConns:    cfg.MaxOpenConns,
		MaxIdleConns:    cfg.MaxOpenConns,
		ConnMaxLifetime: time.Hour,
		ClientInfo: clickhouse.ClientInfo{Products: []struct{ Name, Version string }{
			{Name: "tripline", Version: "1"},
		}},
	}
	if cfg.Cluster != "" {
		// Writes go through the Distributed tables and return once every
		// shard has the rows: a worker commits its Kafka offsets only
		// after that, so a lost node cannot lose acknowledged events
		// (asynchronous Distributed inserts would queue them on the node
		// that took the insert). Numeric: 18.16 takes no string settings
		// from a client.
		opts.Settings = clickhouse.Settings{"insert_distributed_sync": 1}
	}
	if cfg.Compress {
		opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %s: %w", cfg.Addr, redact(err, cfg.Password))
	}
	s := &Store{cfg: cfg, conn: conn}
	if err := s.Ping(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	sv, err := conn.ServerVersion()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("open clickhouse %s: server version: %w", cfg.Addr, redact(err, cfg.Password))
	}
	s.version = Version{Major: int(sv.Version.Major), Minor: int(sv.Version.Minor), Patch: int(sv.Version.Patch)}
	s.features = FeaturesFor(s.version)
	s.extra = eventExtra
	return s, nil
}

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping clickhouse %s as %s: %w", s.cfg.Addr, s.cfg.User, redact(err, s.cfg.Password))
	}
	return nil
}

// Close releases the connections.
func (s *Store) Close() error {
	if err := s.conn.Close(); err != nil {
		return fmt.Errorf("close clickhouse: %w", s.redact(err))
	}
	return nil
}

// ServerVersion is the server's version, probed by Open.
func (s *Store) ServerVersion() Version { return s.version }

// Features are the schema features chosen for this server.
func (s *Store) Features() Features { return s.features }

// Database is the database holding tripline's tables.
func (s *Store) Database() string { return s.cfg.Database }

func (s *Store) redact(err error) error { return redact(err, s.cfg.Password) }

// table is the qualified name of one of tripline's tables.
func (s *Store) table(name string) string { return "`" + s.cfg.Database + "`." + name }
