package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/tripline/tripline/api"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/triage"
)

const consoleUsage = `Usage:
  tripline console --listen ADDR --tokens FILE [--clickhouse ...] [--brokers ...]
  tripline console token --name NAME --role viewer|analyst [--msp MSP [--tenant T]]

console serves the HTTP JSON API under /api/ (see /api/openapi.yaml).
token prints a new random token on stdout and, on stderr, the line to add
to the tokens file (which stores only its SHA-256).
`

func runConsole(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "token" {
		return runConsoleToken(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, consoleUsage); fs.PrintDefaults() }
	var c commonFlags
	c.register(fs, false)
	listen := fs.String("listen", "127.0.0.1:8080", "HTTP listen address")
	tokensFile := fs.String("tokens", "", "API tokens file: lines name:sha256hex:role[:msp[:tenant]] (required)")
	c.registerKafka(fs, "")
	topic := fs.String("alerts-topic", kafkaio.TopicAlerts, "publish closes and reopens here when --brokers is set, for tripline notify")
	shutdown := fs.Duration("shutdown-timeout", 10*time.Second, "how long SIGTERM waits for requests in flight")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *tokensFile == "" {
		fmt.Fprint(stderr, "tripline console: --tokens is required\n\n"+consoleUsage)
		return errUsage
	}
	log, err := newLogger(stderr, c.logLevel, c.logFormat)
	if err != nil {
		return err
	}
	tokens, err := api.LoadTokens(*tokensFile)
	if err != nil {
		return err
	}
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	svc := triage.New(st)
	pub, closePub, err := c.alertPublisher(*topic)
	if err != nil {
		return err
	}
	defer closePub()
	if pub != nil {
		svc = svc.WithPublisher(pub)
	} else {
		log.Warn().Msg("no --brokers: closes and reopens are not published to tripline.alerts (notify will not resolve them)")
	}
	srv := api.NewHTTPServer(*listen, api.New(svc, tokens, log).Handler())
	log.Info().Str("addr", ln.Addr().String()).Int("tokens", tokens.Len()).Msg("console API listening")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), *shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

func runConsoleToken(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("console token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "token name: the actor of its actions (required)")
	role := fs.String("role", api.RoleViewer, "viewer (read) or analyst (read, triage, silence)")
	msp := fs.String("msp", "", "bind the token to this MSP (default: every MSP)")
	tenant := fs.String("tenant", "", "with --msp: bind the token to this tenant of the MSP (a client's view)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	secret, line, err := api.NewToken(*name, *role, *msp, *tenant)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "add this line to the tokens file:\n%s\n", line)
	fmt.Fprintln(stdout, secret)
	return nil
}
