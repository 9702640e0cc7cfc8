package store

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// Defaults applied by Open for zero Config fields.
const (
	DefaultAddr         = "127.0.0.1:9000"
	DefaultDatabase     = "tripline"
	DefaultUser         = "default"
	DefaultDialTimeout  = 10 * time.Second
	DefaultReadTimeout  = 5 * time.Minute
	DefaultMaxOpenConns = 8
)

// Config says where the store lives. Password is secret: Config's String
// and LogValue redact it, and no error from this package contains it.
type Config struct {
	// Addr is host:port of the native protocol (9000, or 9440 with TLS).
	// The HTTP interface is not used.
	Addr string
	// Database holds tripline's tables; Migrate creates it.
	Database string
	User     string
	Password string
	// TLS enables TLS when non-nil.
	TLS         *tls.Config
	DialTimeout time.Duration
	// ReadTimeout bounds one server reply; long analyst queries do not go
	// through this package.
	ReadTimeout  time.Duration
	MaxOpenConns int
	// Compress enables LZ4 on the wire: worth it across a network, a small
	// CPU cost on loopback.
	Compress bool
	// RetentionDays expires events this many days after their time (0 =
	// keep forever). Applied when Migrate creates the table, and only on
	// servers with TTL support (19.6+); see Features.
	RetentionDays int
	// DetectionRetentionDays is the same for detections, which are few and
	// usually kept longer than raw events.
	DetectionRetentionDays int
	// Cluster is the ClickHouse cluster (remote_servers) the schema lives
	// on; empty for a single server. Migrate then creates replicated
	// per-shard tables and Distributed tables over them ON CLUSTER (see
	// cluster.go), and inserts wait for every shard (insert_distributed_sync).
	Cluster string
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// withDefaults fills zero fields and validates the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.User == "" {
		c.User = DefaultUser
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.MaxOpenConns <= 0 {
		c.MaxOpenConns = DefaultMaxOpenConns
	}
	// The database name is spliced into DDL and queries: allow plain
	// identifiers only rather than quote arbitrary text.
	if !identRe.MatchString(c.Database) {
		return c, fmt.Errorf("store config: database name %q is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)", c.Database)
	}
	if c.Cluster != "" && !identRe.MatchString(c.Cluster) {
		return c, fmt.Errorf("store config: cluster name %q is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)", c.Cluster)
	}
	if c.RetentionDays < 0 || c.DetectionRetentionDays < 0 {
		return c, errors.New("store config: retention days must not be negative")
	}
	return c, nil
}

// String describes the config without the password.
func (c Config) String() string {
	pw := ""
	if c.Password != "" {
		pw = ":****"
	}
	return fmt.Sprintf("clickhouse://%s%s@%s/%s", c.User, pw, c.Addr, c.Database)
}

// LogValue keeps the password out of structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("database", c.Database),
		slog.String("user", c.User),
		slog.Bool("password_set", c.Password != ""),
		slog.Bool("tls", c.TLS != nil),
	)
}

// redact replaces the password in an error's text. The driver is not known
// to echo passwords, but an error string is too easy to log to take the
// chance; when it has to rewrite, the error chain is dropped because every
// wrapped error would still carry the secret.
func redact(err error, password string) error {
	if err == nil || password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), password, "****"))
}
