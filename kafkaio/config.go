package kafkaio

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
)

// Default topic names of the pipeline.
const (
	TopicRemoteSessions  = "msp.remote_sessions"
	TopicSoftwareUpdates = "msp.software_updates"
	// TopicVendor carries vendor records of every format and MSP, told
	// apart by their tripline-format and tripline-msp headers: what
	// tripline receive and tripline poll write (docs/sources.md).
	TopicVendor = "msp.vendor"
	TopicEvents = "tripline.events"
	TopicDLQ    = "tripline.dlq"
	// TopicAlerts carries alert changes from detect to notify
	// (docs/alerts.md); TopicAlertsDLQ what notify could not deliver.
	TopicAlerts    = "tripline.alerts"
	TopicAlertsDLQ = "tripline.alerts.dlq"
)

// RawTopics are the raw topics ingest reads by default: the two contract
// topics and the vendor topic. A new slice each call.
func RawTopics() []string {
	return []string{TopicRemoteSessions, TopicSoftwareUpdates, TopicVendor}
}

// Config says how to reach the brokers.
type Config struct {
	Brokers  []string
	ClientID string
	TLS      *tls.Config
	SASL     sasl.Mechanism
	// SessionTimeout is how long the group coordinator waits for a silent
	// consumer (a crashed process) before giving its partitions to the
	// others; zero means 10 s. The broker bounds it
	// (group.min.session.timeout.ms, 6 s by default).
	SessionTimeout time.Duration
}

func (c Config) dialer() *kafka.Dialer {
	return &kafka.Dialer{
		ClientID:      c.clientID(),
		Timeout:       10 * time.Second,
		DialFunc:      dialBuffered,
		TLS:           c.TLS,
		SASLMechanism: c.SASL,
	}
}

// readBufferBytes is how much a connection of a reader takes from its
// socket at once.
const readBufferBytes = 64 << 10

// dialBuffered dials as kafka-go's Dialer does by default (both IP
// families, Go's keep-alive) and reads the connection through a
// readBufferBytes buffer. kafka-go reads every connection through a
// 4 KiB bufio.Reader it does not let callers size: a read system call for
// every six or seven events of tripline.events a consumer fetches. Its
// reads now come from the larger buffer; TLS, when configured, sits on top
// of it.
func dialBuffered(ctx context.Context, network, address string) (net.Conn, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &bufferedConn{Conn: conn, r: bufio.NewReaderSize(conn, readBufferBytes)}, nil
}

// bufferedConn is a net.Conn whose reads go through r.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c Config) transport() *kafka.Transport {
	return &kafka.Transport{
		ClientID:    c.clientID(),
		DialTimeout: 10 * time.Second,
		TLS:         c.TLS,
		SASL:        c.SASL,
	}
}

func (c Config) clientID() string {
	if c.ClientID == "" {
		return "tripline"
	}
	return c.ClientID
}

// ReaderOptions tune a consumer-group reader.
type ReaderOptions struct {
	// QueueCapacity bounds the messages kafka-go prefetches (memory bound).
	QueueCapacity int
	// MaxBytes bounds one fetch response.
	MaxBytes int
	// StartOffset applies when the group has no committed offset yet.
	StartOffset int64
}

// NewGroupReader returns a consumer-group reader over topics. Commits are
// synchronous (CommitInterval 0) so that CommitMessages returning nil means
// the offset is stored by the broker.
func (c Config) NewGroupReader(group string, topics []string, opts ReaderOptions) (*kafka.Reader, error) {
	if len(c.Brokers) == 0 {
		return nil, errors.New("no Kafka brokers configured")
	}
	if group == "" {
		return nil, errors.New("consumer group name is empty")
	}
	if opts.QueueCapacity == 0 {
		opts.QueueCapacity = 10000
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = 16 << 20
	}
	if opts.StartOffset == 0 {
		opts.StartOffset = kafka.FirstOffset
	}
	session := c.SessionTimeout
	if session <= 0 {
		session = 10 * time.Second
	}
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:               c.Brokers,
		GroupID:               group,
		GroupTopics:           topics,
		Dialer:                c.dialer(),
		QueueCapacity:         opts.QueueCapacity,
		MinBytes:              1,
		MaxBytes:              opts.MaxBytes,
		MaxWait:               250 * time.Millisecond,
		CommitInterval:        0,
		StartOffset:           opts.StartOffset,
		WatchPartitionChanges: true,
		HeartbeatInterval:     time.Second,
		SessionTimeout:        session,
		RebalanceTimeout:      session,
		JoinGroupBackoff:      time.Second,
		ReadBackoffMin:        50 * time.Millisecond,
		ReadBackoffMax:        time.Second,
	}), nil
}

// NewWriter returns a synchronous writer that routes each message to the
// topic named on it and partitions by key with the murmur2 hash Java
// producers use, so one MSP's events stay in order on one partition whoever
// produced them. WriteMessages returns only once every message is
// acknowledged by all in-sync replicas. Its BatchBytes suits topics with
// Kafka's default max.message.bytes; NewWriterLimit takes the real limit.
func (c Config) NewWriter() *kafka.Writer {
	return c.NewWriterLimit(WriterBatchBytes(DefaultBrokerMaxMessageBytes))
}

// NewWriterLimit is NewWriter with BatchBytes set to batchBytes
// (WriterBatchBytes of the topics' max.message.bytes): the largest single
// message it sends and the largest record batch it builds. A message above
// it fails the whole WriteMessages call before anything is sent, so callers
// check sizes first (deadletter.Size).
func (c Config) NewWriterLimit(batchBytes int) *kafka.Writer {
	return &kafka.Writer{
		Addr:            kafka.TCP(c.Brokers...),
		Balancer:        &kafka.Murmur2Balancer{},
		RequiredAcks:    kafka.RequireAll,
		BatchSize:       10000,
		BatchBytes:      int64(batchBytes),
		BatchTimeout:    5 * time.Millisecond,
		MaxAttempts:     3,
		WriteBackoffMin: 50 * time.Millisecond,
		WriteBackoffMax: time.Second,
		Transport:       c.transport(),
	}
}

// TopicSpec is a topic to create.
type TopicSpec struct {
	Name       string
	Partitions int
	// MaxMessageBytes is its max.message.bytes; 0 means
	// TopicMaxMessageBytes.
	MaxMessageBytes int
}

// EnsureTopics creates the topics that do not exist yet, with
// max.message.bytes set (TopicSpec.MaxMessageBytes) so that a contract-size
// message and its normalised form and dead letter fit. Existing topics are
// left as they are; workers read their limits (MaxMessageBytes).
func (c Config) EnsureTopics(ctx context.Context, topics []TopicSpec) error {
	if len(c.Brokers) == 0 {
		return errors.New("no Kafka brokers configured")
	}
	client := &kafka.Client{Addr: kafka.TCP(c.Brokers...), Transport: c.transport(), Timeout: 15 * time.Second}
	req := &kafka.CreateTopicsRequest{}
	for _, t := range topics {
		limit := t.MaxMessageBytes
		if limit <= 0 {
			limit = TopicMaxMessageBytes
		}
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: t.Name, NumPartitions: t.Partitions, ReplicationFactor: -1,
			ConfigEntries: []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(limit)}}})
	}
	resp, err := client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	for name, terr := range resp.Errors {
		if terr != nil && !errors.Is(terr, kafka.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", name, terr)
		}
	}
	return nil
}

// Ping checks that at least one broker accepts a connection.
func (c Config) Ping(ctx context.Context) error {
	var last error
	for _, b := range c.Brokers {
		conn, err := c.dialer().DialContext(ctx, "tcp", b)
		if err == nil {
			conn.Close()
			return nil
		}
		last = err
	}
	if last == nil {
		last = errors.New("no brokers configured")
	}
	return fmt.Errorf("reach Kafka: %w", last)
}

// HostPort joins a host and port for broker lists.
func HostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
