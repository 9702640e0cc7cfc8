package kafkaio_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/broker"
	"github.com/tripline/tripline/kafkaio"
)

// brokerChildEnv makes the test binary serve a broker instead of running
// tests (see TestMain): BenchmarkConsumer runs the broker in a child
// process so that the benchmark's own CPU is the consumer's alone.
const brokerChildEnv = "TRIPLINE_KAFKAIO_BROKER_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(brokerChildEnv) != "" {
		os.Exit(serveBroker())
	}
	os.Exit(m.Run())
}

// serveBroker starts a broker with the topic "t", prints its address and
// serves until its standard input closes.
func serveBroker() int {
	b, err := broker.Start(broker.Options{Topics: []string{"t"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer b.Close()
	fmt.Println(strings.Join(b.Addrs(), ","))
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// childBroker runs serveBroker in a child process for the benchmark's
// duration.
func childBroker(b *testing.B) kafkaio.Config {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), brokerChildEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("broker child: %v", err)
	}
	return kafkaio.Config{Brokers: strings.Split(strings.TrimSpace(line), ",")}
}

// counter is a batch handler that counts messages and cancels its
// consumer once it has seen want of them.
type counter struct {
	n, want int64
	cancel  context.CancelFunc
}

func (c *counter) HandleBatch(_ context.Context, batch []kafka.Message) error {
	if atomic.AddInt64(&c.n, int64(len(batch))) >= c.want {
		c.cancel()
	}
	return nil
}

// BenchmarkConsumer is the consumer side's cost per message: a
// kafkaio.Consumer over a group reader, as the workers run it (batches of
// 5,000, commits after each), reading messages shaped like tripline.events
// (an msp key, a 500-byte value) from a broker in a child process over
// TCP, with no headers or with the three provenance headers ingest wrote
// on every event. cpu-ns/msg is this
// process's CPU (rusage) per message, GC included; each iteration is a
// new consumer group reading the topic from the start.
func BenchmarkConsumer(b *testing.B) {
	const n = 100000
	for _, headers := range []int{0, 3} {
		b.Run(fmt.Sprintf("headers-%d", headers), func(b *testing.B) {
			cfg := childBroker(b)
			topic := "t"
			w := cfg.NewWriter()
			value := []byte(strings.Repeat("v", 500))
			msgs := make([]kafka.Message, 0, 10000)
			for i := 0; i < n; i++ {
				m := kafka.Message{Topic: topic, Key: fmt.Appendf(nil, "msp-%02d", i%40), Value: value}
				if headers > 0 {
					m.Headers = []kafka.Header{
						{Key: "tripline-source-topic", Value: []byte("msp.remote_sessions")},
						{Key: "tripline-source-partition", Value: []byte("3")},
						{Key: "tripline-source-offset", Value: fmt.Appendf(nil, "%d", 1000000+i)},
					}[:headers]
				}
				msgs = append(msgs, m)
				if len(msgs) == cap(msgs) || i == n-1 {
					if err := w.WriteMessages(context.Background(), msgs...); err != nil {
						b.Fatal(kafkaio.SummariseWriteError(err))
					}
					msgs = msgs[:0]
				}
			}
			w.Close()

			var cpu time.Duration
			var mallocs uint64
			group := 0
			for b.Loop() {
				group++
				r, err := cfg.NewGroupReader(fmt.Sprintf("bench-%d", group), []string{topic}, kafkaio.ReaderOptions{QueueCapacity: 5000})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				h := &counter{want: n, cancel: cancel}
				c := &kafkaio.Consumer{Fetcher: r, Handler: h, BatchSize: 5000, Log: zerolog.Nop()}
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				before, m0 := processCPU(b), ms.Mallocs
				if err := c.Run(ctx); err != nil {
					b.Fatal(err)
				}
				runtime.ReadMemStats(&ms)
				cpu += processCPU(b) - before
				mallocs += ms.Mallocs - m0
				r.Close()
				if h.n < n {
					b.Fatalf("consumed %d of %d messages", h.n, n)
				}
			}
			msgsRead := float64(b.N) * n
			b.ReportMetric(float64(cpu.Nanoseconds())/msgsRead, "cpu-ns/msg")
			b.ReportMetric(float64(mallocs)/msgsRead, "allocs/msg")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/msgsRead, "ns/msg")
		})
	}
}

// processCPU is the CPU time this process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
