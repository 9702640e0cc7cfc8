package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/ops"
	"github.com/tripline/tripline/receive"
)

const receiveUsage = `Usage:
  tripline receive --listen ADDR --tokens FILE [--hmac-secrets FILE] [--mapping FILE] [--topic msp.vendor] [--tls-cert F --tls-key F] [--brokers ...]
  tripline receive token --name NAME --msp MSP

receive serves POST /v1/ingest/{format} for vendor webhooks and batch posts
(docs/sources.md, "Webhooks and batch posts"): bodies in a format of
tripline convert, or contract-v1 JSON lines, from senders holding a bearer
token of --tokens (lines name:sha256hex:msp; the token decides the msp) or
signing bodies with an MSP's secret of --hmac-secrets.
Bodies are written unconverted to --topic with the tripline-format and
tripline-msp headers, for tripline ingest (add the topic to its --topics).
202 means Kafka acknowledged them (acks=all); 429 and 503 mean retry.
token prints a new random token on stdout and, on stderr, the tokens-file
line (which stores only its SHA-256).
`

func runReceive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "token" {
		return runReceiveToken(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("receive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, receiveUsage); fs.PrintDefaults() }
	var c commonFlags
	c.registerKafka(fs, "127.0.0.1:9092")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "auto", "log format: json, console, or auto (console when stderr is a terminal)")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "serve /metrics, /healthz and /readyz on this address (e.g. :9464)")
	fs.IntVar(&c.maxMessage, "max-message-bytes", 0, "max.message.bytes of --topic (0: ask the brokers, Kafka's default 1048588 if they cannot say)")
	listen := fs.String("listen", "127.0.0.1:8443", "HTTP(S) listen address")
	tokensFile := fs.String("tokens", "", "sender tokens file: lines name:sha256hex:msp")
	secretsFile := fs.String("hmac-secrets", "", "per-MSP HMAC secrets file, lines msp:secret (32+ characters; keep it mode 0600): also admit bodies signed with X-Tripline-Signature")
	topic := fs.String("topic", receive.DefaultTopic, "raw topic to write (created if missing, with --partitions)")
	partitions := fs.Int("partitions", 6, "partitions of --topic when the receiver creates it")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate (PEM; with --tls-key)")
	tlsKey := fs.String("tls-key", "", "private key of --tls-cert (PEM)")
	maxBody := fs.Int64("max-body-bytes", receive.DefaultMaxBodyBytes, "largest request body; larger gets 413")
	maxRecords := fs.Int("max-records", receive.DefaultMaxRecords, "most records in one request; more gets 413")
	maxInFlight := fs.Int("max-in-flight", receive.DefaultMaxInFlight, "requests handled at once; more get 429")
	tokenInURL := fs.Bool("token-in-url", false, "also accept the token as ?token= on the URL, for webhooks that cannot set an Authorization header (URLs end up in logs: prefer the header)")
	writeTimeout := fs.Duration("write-timeout", receive.DefaultWriteTimeout, "how long a request waits for Kafka's acknowledgement before 503")
	mappings := mappingFlag(fs, true)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, err := adapt.LoadFormats(*mappings...); err != nil {
		return err
	}
	if (*tokensFile == "" && *secretsFile == "") || (*tlsCert == "") != (*tlsKey == "") {
		fmt.Fprint(stderr, "tripline receive: --tokens or --hmac-secrets is required; --tls-cert and --tls-key go together\n\n"+receiveUsage)
		return errUsage
	}
	log, err := newLogger(stderr, c.logLevel, c.logFormat)
	if err != nil {
		return err
	}
	var tokens *receive.Tokens
	if *tokensFile != "" {
		if tokens, err = receive.LoadTokens(*tokensFile); err != nil {
			return err
		}
	}
	var secrets *receive.Secrets
	if *secretsFile != "" {
		if secrets, err = receive.LoadSecrets(*secretsFile); err != nil {
			return err
		}
	}
	kcfg, err := c.kafka()
	if err != nil {
		return err
	}
	if len(kcfg.Brokers) == 0 {
		return errors.New("no --brokers")
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	o := ops.Config{Addr: c.metricsAddr, Log: log.With().Str("worker", "receive").Logger(), Kafka: kcfg}
	return ops.Run(ctx, o, func(ctx context.Context, reg prometheus.Registerer, ready func(bool)) error {
		w, limit := rawTopicWriter(ctx, kcfg, *topic, *partitions, c.maxMessage, log)
		defer w.Close()
		var wg sync.WaitGroup
		ctx, stop := context.WithCancel(ctx)
		defer func() { stop(); wg.Wait() }()
		formats, err := watchFormats(ctx, &wg, *mappings, log, reg)
		if err != nil {
			return err
		}
		srv, err := receive.New(receive.Config{Producer: w, Topic: *topic, Tokens: tokens, TokenInURL: *tokenInURL, Secrets: secrets, Formats: formats,
			MaxBodyBytes: *maxBody, MaxRecords: *maxRecords, MaxMessageBytes: limit, MaxInFlight: *maxInFlight,
			WriteTimeout: *writeTimeout, Registerer: reg, Log: log, Ready: ready})
		if err != nil {
			return err
		}
		log.Info().Str("addr", ln.Addr().String()).Str("topic", *topic).Int("tokens", tokens.Len()).Int("hmac_msps", secrets.Len()).Bool("tls", *tlsCert != "").
			Int("max_message_bytes", limit).Msg("receive listening")
		return srv.Serve(ctx, ln, receive.ServeOptions{TLSCert: *tlsCert, TLSKey: *tlsKey})
	})
}

// runReceiveToken prints a new sender token and its tokens-file line.
func runReceiveToken(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("receive token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "token name, e.g. the sending tool (required)")
	msp := fs.String("msp", "", "the MSP whose records the token posts (required)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	secret, line, err := receive.NewToken(*name, *msp)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "add this line to the tokens file:\n%s\n", line)
	fmt.Fprintln(stdout, secret)
	return nil
}
