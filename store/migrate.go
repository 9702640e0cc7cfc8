package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Migrate brings the schema up to date and returns the names of the
// migrations it applied by this call, like "0001_create_events" (nil when
// the schema was already current).
//
// Each migration runs once and is recorded in schema_migrations together
// with the server version and the feature set it was applied with (an
// upgraded server keeps its old column types until someone migrates the
// data; inserts work against either).
//
// ClickHouse has no transactions or locks, so two processes migrating a
// fresh database at the same moment may both apply a migration. That is
// safe by construction: every statement is idempotent (IF NOT EXISTS) and
// the migrations table is a ReplacingMergeTree keyed by version, so the
// duplicate record collapses. Within one process calls are serialised.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	s.migrateMu.Lock()
	defer s.migrateMu.Unlock()

	db := s.cfg.Database
	if err := s.exec(ctx, fmt.Sprintf("CREATE DATABASE IF NOT EXISTS `%s`", db)); err != nil {
		return nil, fmt.Errorf("migrate: create database %s: %w", db, s.redact(err))
	}
	if err := s.exec(ctx, migrationsTableDDL(db)); err != nil {
		return nil, fmt.Errorf("migrate: create schema_migrations: %w", s.redact(err))
	}
	done, err := s.appliedVersions(ctx)
	if err != nil {
		return nil, err
	}

	var applied []string
	for _, m := range migrations(s.cfg, s.features) {
		if done[m.version] {
			continue
		}
		for _, stmt := range m.statements {
			if err := s.exec(ctx, stmt); err != nil {
				return applied, fmt.Errorf("migrate: %04d_%s: %w", m.version, m.name, s.redact(err))
			}
		}
		if err := s.recordMigration(ctx, m); err != nil {
			return applied, err
		}
		applied = append(applied, fmt.Sprintf("%04d_%s", m.version, m.name))
	}
	return applied, nil
}

// exec runs one schema statement, in its cluster form when the store is
// on a cluster (clusterStatements), tolerating a racing migrator's
// duplicate column.
func (s *Store) exec(ctx context.Context, stmt string) error {
	stmts, err := clusterStatements(stmt, s.cfg.Cluster)
	if err != nil {
		return err
	}
	for _, q := range stmts {
		if err := s.conn.Exec(ctx, q); err != nil && !duplicateColumn(q, err) {
			return err
		}
	}
	return nil
}

// duplicateColumn reports whether err is an ADD COLUMN finding the column
// already there: a racing migrator added it first (18.16 has no ADD COLUMN
// IF NOT EXISTS).
func duplicateColumn(stmt string, err error) bool {
	var ex *clickhouse.Exception
	return strings.Contains(stmt, "ADD COLUMN") && errors.As(err, &ex) && ex.Code == codeDuplicateColumn
}

// codeDuplicateColumn is ClickHouse's DUPLICATE_COLUMN error code.
const codeDuplicateColumn = 44

func (s *Store) appliedVersions(ctx context.Context) (map[uint32]bool, error) {
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT version FROM "+s.table("schema_migrations"))
	if err != nil {
		return nil, fmt.Errorf("migrate: read schema_migrations: %w", s.redact(err))
	}
	defer rows.Close()
	done := map[uint32]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("migrate: read schema_migrations: %w", s.redact(err))
		}
		done[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: read schema_migrations: %w", s.redact(err))
	}
	return done, nil
}

func (s *Store) recordMigration(ctx context.Context, m migration) error {
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.table("schema_migrations")+
		" (version, name, applied_at, server_version, features)")
	if err != nil {
		return fmt.Errorf("migrate: record %04d_%s: %w", m.version, m.name, s.redact(err))
	}
	defer b.Close()
	if err := b.Append(m.version, m.name, time.Now().UTC(), s.version.String(), s.features.String()); err != nil {
		return fmt.Errorf("migrate: record %04d_%s: %w", m.version, m.name, s.redact(err))
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("migrate: record %04d_%s: %w", m.version, m.name, s.redact(err))
	}
	return nil
}
