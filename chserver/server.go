package chserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Defaults for Options.
const (
	DefaultStartTimeout = 30 * time.Second
	DefaultStopTimeout  = 15 * time.Second
)

// startAttempts bounds retries when a picked port was taken between
// choosing it and the server binding it.
const startAttempts = 3

// Options configure Start. The zero value is ready to use.
type Options struct {
	// Dir holds the config, data and log. Empty means a new temporary
	// directory, removed by Stop. A caller-supplied Dir is never removed.
	Dir string
	// Keep leaves the temporary directory in place after Stop, for
	// post-mortems.
	Keep bool
	// Binary is the server binary; empty means Find.
	Binary string
	// StartTimeout bounds the wait for the server to answer a query;
	// zero means DefaultStartTimeout.
	StartTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL; zero
	// means DefaultStopTimeout.
	StopTimeout time.Duration
	// Ports, when set, are used instead of free ports picked by Start: the
	// servers of a cluster must know each other's ports before any of them
	// starts. A port taken meanwhile is then an error for the caller to
	// retry. Files in Dir/config.d (macros, remote_servers, zookeeper) are
	// merged into the generated config by the server itself.
	Ports *Ports
}

// Server is a running (or stopped) private clickhouse-server. Its methods are
// safe for concurrent use.
type Server struct {
	binary     string
	dir        string
	removeDir  bool
	configPath string
	logPath    string
	ports      Ports
	startWait  time.Duration
	stopWait   time.Duration

	mu      sync.Mutex
	proc    *process // nil while not running
	removed bool     // Stop has cleaned up; the Server is finished
}

// process is one run of the server binary.
type process struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed once the process has been reaped
	waitErr error         // valid after done
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Start launches a server and returns once its native port answers
// `SELECT 1`. On error nothing is left running and a temporary directory is
// removed (unless opts.Keep); the error carries the tail of the server log.
func Start(ctx context.Context, opts Options) (*Server, error) {
	binary := opts.Binary
	if binary == "" {
		var err error
		if binary, err = Find(); err != nil {
			return nil, err
		}
	}
	s := &Server{
		binary:    binary,
		dir:       opts.Dir,
		startWait: opts.StartTimeout,
		stopWait:  opts.StopTimeout,
	}
	if s.startWait <= 0 {
		s.startWait = DefaultStartTimeout
	}
	if s.stopWait <= 0 {
		s.stopWait = DefaultStopTimeout
	}
	if s.dir == "" {
		dir, err := os.MkdirTemp("", "tripline-clickhouse-")
		if err != nil {
			return nil, fmt.Errorf("start clickhouse: %w", err)
		}
		s.dir, s.removeDir = dir, !opts.Keep
	} else if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("start clickhouse: %w", err)
	}
	if abs, err := filepath.Abs(s.dir); err == nil {
		s.dir = abs
	}
	s.logPath = filepath.Join(s.dir, "clickhouse-server.log")

	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		if opts.Ports != nil {
			s.ports = *opts.Ports
		} else if s.ports, err = freePorts(); err != nil {
			break
		}
		if s.configPath, err = writeConfig(s.dir, s.logPath, s.ports); err != nil {
			break
		}
		s.mu.Lock()
		err = s.launchLocked(ctx)
		s.mu.Unlock()
		if err == nil {
			return s, nil
		}
		// Another process may have taken a port between freePorts closing
		// its listener and the server binding it: pick new ports.
		if opts.Ports != nil || !strings.Contains(s.logTail(), "Address already in use") || ctx.Err() != nil {
			break
		}
	}
	if s.removeDir {
		os.RemoveAll(s.dir)
	}
	return nil, err
}

// launchLocked starts the binary and waits until it serves queries.
func (s *Server) launchLocked(ctx context.Context) error {
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start clickhouse: open log: %w", err)
	}
	cmd := exec.Command(s.binary, serverArgs(s.binary, s.configPath)...)
	cmd.Dir = s.dir
	// Output before the server's own logger is set up (config errors,
	// "Logging warning to ...") lands in the same file as the log.
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start clickhouse: %s: %w", s.binary, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	s.proc = p

	if err := s.waitReady(ctx, p); err != nil {
		s.terminateLocked(0) // a half-started server is not worth a graceful stop
		return fmt.Errorf("start clickhouse (%s, native port %d): %w\n--- tail of %s ---\n%s",
			s.binary, s.ports.TCP, err, s.logPath, s.logTail())
	}
	return nil
}

// waitReady polls the native port until a query succeeds, the process
// exits, ctx ends or the start timeout passes.
func (s *Server) waitReady(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, s.startWait)
	defer cancel()
	var lastErr error
	for {
		if p.exited() {
			return fmt.Errorf("server exited during startup: %v", p.waitErr)
		}
		if lastErr = probe(ctx, s.Addr()); lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w (last probe: %v)", s.startWait, ctx.Err(), lastErr)
		case <-p.done:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// probe runs a real query rather than only connecting: the port opens a
// moment before the server can answer.
func probe(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:         []string{addr},
		DialTimeout:  time.Second,
		MaxOpenConns: 1,
		MaxIdleConns: 1,
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	var one uint8
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// terminateLocked stops the running process: SIGTERM, then SIGKILL after
// grace (immediately when grace is 0). It always reaps the process.
func (s *Server) terminateLocked(grace time.Duration) error {
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	if p.exited() {
		return nil
	}
	if grace > 0 {
		signalGroup(p.cmd.Process, syscall.SIGTERM)
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-p.done:
			return nil
		case <-t.C:
		}
	}
	signalGroup(p.cmd.Process, syscall.SIGKILL)
	<-p.done
	if grace > 0 {
		return fmt.Errorf("clickhouse did not stop within %s of SIGTERM; killed", grace)
	}
	return nil
}

// Addr is the native-protocol address, "127.0.0.1:PORT".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.ports.TCP)) }

// HTTPAddr is the HTTP interface's address (unused by tripline, which
// speaks the native protocol, but handy for curl while debugging).
func (s *Server) HTTPAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.ports.HTTP))
}

// Dir is the directory holding config, data and log.
func (s *Server) Dir() string { return s.dir }

// LogPath is the server's log file (its own log at level warning plus
// anything it printed to stdout/stderr).
func (s *Server) LogPath() string { return s.logPath }

// PID is the server's process ID, or 0 while it is not running.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil || s.proc.exited() {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// Stop shuts the server down (SIGTERM, SIGKILL after the stop timeout) and
// removes its temporary directory unless Options.Keep. Calling it again is a
// no-op.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return nil
	}
	err := s.terminateLocked(s.stopWait)
	s.removed = true
	if s.removeDir {
		if rmErr := os.RemoveAll(s.dir); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("remove %s: %w", s.dir, rmErr))
		}
	}
	if err != nil {
		return fmt.Errorf("stop clickhouse: %w", err)
	}
	return nil
}

// Kill sends SIGKILL to the server and waits until it is gone, simulating a
// crash. Data and ports are kept; Restart brings the server back.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return errors.New("kill clickhouse: not running")
	}
	return s.terminateLocked(0)
}

// Restart stops the server if it is running (gracefully) and starts it
// again with the same ports, config and data, returning once it answers
// queries.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return errors.New("restart clickhouse: server was stopped")
	}
	if err := s.terminateLocked(s.stopWait); err != nil {
		return fmt.Errorf("restart clickhouse: %w", err)
	}
	for attempt := 1; ; attempt++ {
		err := s.launchLocked(ctx)
		// A restart keeps its ports (a cluster's config names them), and
		// while the server was down another process may hold one for a
		// moment, e.g. as an outgoing connection's ephemeral port: wait for
		// it rather than fail (a cluster test's restart did, once).
		if err == nil || attempt == restartAttempts || !strings.Contains(s.logTail(), "Address already in use") {
			return err
		}
		select {
		case <-time.After(restartRetryDelay):
		case <-ctx.Done():
			return err
		}
	}
}

// restartAttempts and restartRetryDelay bound how long Restart waits for a
// port another process holds.
const (
	restartAttempts   = 10
	restartRetryDelay = time.Second
)

// logTail returns the last lines of the server log.
func (s *Server) logTail() string { return tail(s.logPath, 40, 8<<10) }

func tail(path string, lines int, maxBytes int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > maxBytes {
		f.Seek(fi.Size()-maxBytes, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// freePorts reserves three distinct loopback ports by listening on port 0.
// All listeners stay open until all are chosen so the kernel cannot hand out
// the same port twice.
func freePorts() (Ports, error) {
	var ls [3]net.Listener
	defer func() {
		for _, l := range ls {
			if l != nil {
				l.Close()
			}
		}
	}()
	var nums [3]int
	for i := range ls {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return Ports{}, fmt.Errorf("pick free port: %w", err)
		}
		ls[i] = l
		nums[i] = l.Addr().(*net.TCPAddr).Port
	}
	return Ports{TCP: nums[0], HTTP: nums[1], Interserver: nums[2]}, nil
}
