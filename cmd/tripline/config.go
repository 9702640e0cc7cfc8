package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/store"
)

// parseFlags parses args, then fills every flag not given on the command
// line from its TRIPLINE_* environment variable (--clickhouse-db reads
// TRIPLINE_CLICKHOUSE_DB). Flags win over the environment.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return errUsage
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		name := envName(f.Name)
		if v, ok := os.LookupEnv(name); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s: %w", name, e)
			}
		}
	})
	return err
}

func envName(flagName string) string {
	return "TRIPLINE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// secret reads a secret from TRIPLINE_<NAME>, or from the file named by
// TRIPLINE_<NAME>_FILE (trailing newline trimmed). Secrets never come from
// flags: flags show up in ps output and shell history.
//
// Both set is an error: which one would win is a guess, and an operator who
// rotated the file while a stale variable lingers would log in with the
// old secret. The error names the variables, never their values.
func secret(name string) (string, error) {
	env := "TRIPLINE_" + name
	v, inEnv := os.LookupEnv(env)
	path := os.Getenv(env + "_FILE")
	if inEnv && path != "" {
		return "", fmt.Errorf("both %s and %s_FILE are set; set only one", env, env)
	}
	if inEnv {
		return v, nil
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			// The path is not secret; the content would be.
			return "", fmt.Errorf("read %s_FILE: %w", env, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", nil
}

// commonFlags are shared by the long-running workers.
type commonFlags struct {
	brokers      string
	clickhouse   string
	database     string
	chUser       string
	logLevel     string
	logFormat    string
	metricsAddr  string
	pprof        bool
	batchSize    int
	flushEvery   time.Duration
	shutdownWait time.Duration
	lagEvery     time.Duration
	session      time.Duration
	maxMessage   int
	cluster      string // ClickHouse cluster name, empty for one server

	// Security settings; passwords are not flags (see secret).
	chTLS      bool
	chTLSFiles kafkaio.TLSFiles
	kTLS       bool
	kTLSFiles  kafkaio.TLSFiles
	kSASL      string
	kSASLUser  string
}

func (c *commonFlags) register(fs *flag.FlagSet, workers bool) {
	fs.StringVar(&c.clickhouse, "clickhouse", "127.0.0.1:9000", "ClickHouse native-protocol address HOST:PORT")
	fs.StringVar(&c.database, "clickhouse-db", "tripline", "ClickHouse database")
	fs.StringVar(&c.chUser, "clickhouse-user", "default", "ClickHouse user (password: TRIPLINE_CLICKHOUSE_PASSWORD or _FILE)")
	fs.StringVar(&c.cluster, "cluster", "", "ClickHouse cluster (remote_servers) name: migrate creates the schema ON CLUSTER, replicated and sharded by msp; workers insert synchronously through the Distributed tables (docs/cluster.md)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "auto", "log format: json, console, or auto (console when stderr is a terminal)")
	// Flag names are literal so that tools (and the deployment tests) can
	// find every TRIPLINE_* variable. Setting any file implies TLS.
	fs.BoolVar(&c.chTLS, "clickhouse-tls", false, "connect to ClickHouse over TLS (native TLS port, usually 9440)")
	fs.StringVar(&c.chTLSFiles.CAFile, "clickhouse-tls-ca", "", helpTLSCA)
	fs.StringVar(&c.chTLSFiles.CertFile, "clickhouse-tls-cert", "", helpTLSCert)
	fs.StringVar(&c.chTLSFiles.KeyFile, "clickhouse-tls-key", "", helpTLSKey)
	fs.StringVar(&c.chTLSFiles.ServerName, "clickhouse-tls-server-name", "", helpTLSServerName)
	fs.BoolVar(&c.chTLSFiles.InsecureSkipVerify, "clickhouse-tls-insecure-skip-verify", false, helpTLSInsecure)
	if !workers {
		return
	}
	c.registerKafka(fs, "127.0.0.1:9092")
	fs.DurationVar(&c.session, "kafka-session-timeout", 10*time.Second, "how long the group waits for a crashed consumer before reassigning its partitions (broker minimum: 6s by default)")
	fs.DurationVar(&c.lagEvery, "lag-interval", 2*time.Second, "how often the consumer lag metric (and Kafka readiness) is refreshed")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "serve /metrics, /healthz and /readyz on this address (e.g. :9464)")
	fs.BoolVar(&c.pprof, "pprof", false, "also serve Go's profiler under /debug/pprof/ on --metrics-addr (off by default: it exposes the process's internals)")
	// Each batch is one ClickHouse insert and so one part the server
	// merges later, rewriting its rows at every level: 5,000-event parts
	// cost the server about four times the CPU per event of 20,000-event
	// ones, merges included (docs/storage.md). The interval lets a batch
	// fill at moderate rates; a second is nothing against the minutes a
	// detection may take.
	fs.IntVar(&c.batchSize, "batch-size", 20000, "messages per batch (ClickHouse insert)")
	fs.DurationVar(&c.flushEvery, "flush-interval", time.Second, "longest a message waits for its batch to fill")
	fs.DurationVar(&c.shutdownWait, "shutdown-timeout", 30*time.Second, "how long SIGTERM waits for in-flight batches")
	fs.IntVar(&c.maxMessage, "max-message-bytes", 0, "max.message.bytes of the topics the worker writes (0: ask the brokers, Kafka's default 1048588 if they cannot say); bigger messages are dead-lettered, in reduced form if need be")
}

// registerKafka adds the broker flags: the workers' and those of commands
// that only produce to Kafka (alerts close and reopen, console), where no
// default broker means "do not produce".
func (c *commonFlags) registerKafka(fs *flag.FlagSet, brokers string) {
	fs.StringVar(&c.brokers, "brokers", brokers, "Kafka bootstrap brokers HOST:PORT[,...]")
	fs.BoolVar(&c.kTLS, "kafka-tls", false, "connect to the Kafka brokers over TLS")
	fs.StringVar(&c.kTLSFiles.CAFile, "kafka-tls-ca", "", helpTLSCA)
	fs.StringVar(&c.kTLSFiles.CertFile, "kafka-tls-cert", "", helpTLSCert)
	fs.StringVar(&c.kTLSFiles.KeyFile, "kafka-tls-key", "", helpTLSKey)
	fs.StringVar(&c.kTLSFiles.ServerName, "kafka-tls-server-name", "", helpTLSServerName)
	fs.BoolVar(&c.kTLSFiles.InsecureSkipVerify, "kafka-tls-insecure-skip-verify", false, helpTLSInsecure)
	fs.StringVar(&c.kSASL, "kafka-sasl-mechanism", "", "Kafka SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (password: TRIPLINE_KAFKA_SASL_PASSWORD or _FILE)")
	fs.StringVar(&c.kSASLUser, "kafka-sasl-user", "", "Kafka SASL user")
}

const (
	helpTLSCA         = "PEM file of the CA that signed the server certificate (default: system roots)"
	helpTLSCert       = "PEM client certificate for mutual TLS"
	helpTLSKey        = "PEM private key of the client certificate"
	helpTLSServerName = "server name to verify (default: the host of the address)"
	helpTLSInsecure   = "do not verify the server certificate (testing only)"
)

func tlsWanted(on bool, f kafkaio.TLSFiles) bool {
	return on || f.CAFile != "" || f.CertFile != "" || f.KeyFile != "" || f.ServerName != "" || f.InsecureSkipVerify
}

// kafka returns the broker settings, with TLS and SASL when configured. The
// SASL password comes from TRIPLINE_KAFKA_SASL_PASSWORD(_FILE) only.
func (c *commonFlags) kafka() (kafkaio.Config, error) {
	var brokers []string
	for _, b := range strings.Split(c.brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	cfg := kafkaio.Config{Brokers: brokers, SessionTimeout: c.session}
	if tlsWanted(c.kTLS, c.kTLSFiles) {
		t, err := c.kTLSFiles.Config()
		if err != nil {
			return cfg, fmt.Errorf("kafka: %w", err)
		}
		cfg.TLS = t
	}
	pw, err := secret("KAFKA_SASL_PASSWORD")
	if err != nil {
		return cfg, err
	}
	if cfg.SASL, err = kafkaio.NewSASL(c.kSASL, c.kSASLUser, pw); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func (c *commonFlags) storeConfig() (store.Config, error) {
	pw, err := secret("CLICKHOUSE_PASSWORD")
	if err != nil {
		return store.Config{}, err
	}
	cfg := store.Config{Addr: c.clickhouse, Database: c.database, User: c.chUser, Password: pw, Cluster: c.cluster}
	if tlsWanted(c.chTLS, c.chTLSFiles) {
		if cfg.TLS, err = c.chTLSFiles.Config(); err != nil {
			return cfg, fmt.Errorf("clickhouse: %w", err)
		}
	}
	return cfg, nil
}

func (c *commonFlags) openStore(ctx context.Context) (*store.Store, error) {
	cfg, err := c.storeConfig()
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, cfg)
}

func newLogger(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Nop(), fmt.Errorf("log level %q: %w", level, err)
	}
	console := format == "console"
	if format == "auto" {
		if f, ok := w.(*os.File); ok {
			console = isatty.IsTerminal(f.Fd())
		}
	}
	if console {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}
