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
func secret(name string) (string, error) {
	env := "TRIPLINE_" + name
	if v, ok := os.LookupEnv(env); ok {
		return v, nil
	}
	if path := os.Getenv(env + "_FILE"); path != "" {
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
	batchSize    int
	flushEvery   time.Duration
	shutdownWait time.Duration
}

func (c *commonFlags) register(fs *flag.FlagSet, workers bool) {
	fs.StringVar(&c.clickhouse, "clickhouse", "127.0.0.1:9000", "ClickHouse native-protocol address HOST:PORT")
	fs.StringVar(&c.database, "clickhouse-db", "tripline", "ClickHouse database")
	fs.StringVar(&c.chUser, "clickhouse-user", "default", "ClickHouse user (password: TRIPLINE_CLICKHOUSE_PASSWORD or _FILE)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "auto", "log format: json, console, or auto (console when stderr is a terminal)")
	if !workers {
		return
	}
	fs.StringVar(&c.brokers, "brokers", "127.0.0.1:9092", "Kafka bootstrap brokers HOST:PORT[,...]")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "serve /metrics, /healthz and /readyz on this address (e.g. :9464)")
	fs.IntVar(&c.batchSize, "batch-size", 5000, "messages per batch (ClickHouse insert)")
	fs.DurationVar(&c.flushEvery, "flush-interval", 200*time.Millisecond, "longest a message waits for its batch to fill")
	fs.DurationVar(&c.shutdownWait, "shutdown-timeout", 30*time.Second, "how long SIGTERM waits for in-flight batches")
}

func (c *commonFlags) kafka() kafkaio.Config {
	var brokers []string
	for _, b := range strings.Split(c.brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	return kafkaio.Config{Brokers: brokers}
}

func (c *commonFlags) storeConfig() (store.Config, error) {
	pw, err := secret("CLICKHOUSE_PASSWORD")
	if err != nil {
		return store.Config{}, err
	}
	return store.Config{Addr: c.clickhouse, Database: c.database, User: c.chUser, Password: pw}, nil
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
