package chserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func selectOne(t *testing.T, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n uint8
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil || n != 1 {
		t.Fatalf("SELECT 1 on %s: %d, %v", addr, n, err)
	}
}

func processGone(pid int) bool {
	// Signal 0 checks existence; the child was reaped by Wait, so the PID
	// is not even a zombie once Stop returns.
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func requireBinary(t *testing.T) {
	t.Helper()
	skipShort(t)
	if _, err := Find(); err != nil {
		skipOrFatal(t, err)
	}
}

func TestStartStop(t *testing.T) {
	requireBinary(t)
	ctx := context.Background()
	srv, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			srv.Stop()
		}
	})

	if !strings.HasPrefix(srv.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr = %q, want loopback", srv.Addr())
	}
	selectOne(t, srv.Addr())
	pid1 := srv.PID()

	addr := srv.Addr()
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != addr {
		t.Fatalf("restart moved the server from %s to %s", addr, srv.Addr())
	}
	if !processGone(pid1) {
		t.Fatalf("old server process %d still exists after Restart", pid1)
	}
	selectOne(t, srv.Addr())

	pid2, dir := srv.PID(), srv.Dir()
	if _, err := os.Stat(srv.LogPath()); err != nil {
		t.Fatalf("log file: %v", err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if !processGone(pid2) {
		t.Fatalf("server process %d still exists after Stop", pid2)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("server directory %s still exists after Stop (err %v)", dir, err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestKillRestartKeepsData(t *testing.T) {
	srv := ForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "CREATE TABLE default.k (x UInt8) ENGINE = MergeTree ORDER BY x"); err != nil {
		t.Fatal(err)
	}
	// INSERT ... VALUES through Exec hangs on 18.16 (the server waits for
	// data blocks); a batch is what the store uses anyway.
	b, err := conn.PrepareBatch(ctx, "INSERT INTO default.k (x)")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Append(uint8(7)); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	pid := srv.PID()
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	if !processGone(pid) || srv.PID() != 0 {
		t.Fatalf("server %d survived Kill", pid)
	}
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	var x uint8
	// The pool's old connections died with the server; the driver redials.
	for i := 0; ; i++ {
		err = conn.QueryRow(ctx, "SELECT x FROM default.k").Scan(&x)
		if err == nil || i == 3 {
			break
		}
	}
	if err != nil || x != 7 {
		t.Fatalf("after kill and restart: x=%d err=%v", x, err)
	}
}

func TestKeepAndDir(t *testing.T) {
	requireBinary(t)
	dir := filepath.Join(t.TempDir(), "ch")
	srv, err := Start(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if srv.Dir() != dir {
		t.Fatalf("Dir = %s, want %s", srv.Dir(), dir)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "config.xml")); err != nil {
		t.Fatalf("caller-supplied dir was cleaned up: %v", err)
	}
}

func TestStartFailureReportsLog(t *testing.T) {
	// A config path the server cannot use: the binary exits at once and the
	// error must say why, with the log tail, and leave nothing behind.
	fake := filepath.Join(t.TempDir(), "clickhouse-server")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'boom: cannot start' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Options{Binary: fake, StartTimeout: 5 * time.Second})
	if err == nil {
		t.Fatal("Start with a failing binary succeeded")
	}
	if !strings.Contains(err.Error(), "boom: cannot start") || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("error lacks the exit and log tail: %v", err)
	}
}

func TestFindMissing(t *testing.T) {
	t.Setenv(EnvBinary, filepath.Join(t.TempDir(), "nope"))
	_, err := Find()
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "apt-get install -y clickhouse-server clickhouse-client") {
		t.Fatalf("Find with a bad override: %v", err)
	}
}

// TestRestartWaitsForItsPort: a port of the killed server held by another
// process for a while (here a listener, released after 2 s) delays Restart
// instead of failing it.
func TestRestartWaitsForItsPort(t *testing.T) {
	srv := ForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", srv.ports.HTTP))
	if err != nil {
		t.Fatalf("hold the killed server's HTTP port: %v", err)
	}
	released := time.AfterFunc(2*time.Second, func() { l.Close() })
	defer released.Stop()
	start := time.Now()
	if err := srv.Restart(ctx); err != nil {
		t.Fatalf("restart while the port was held for 2 s: %v", err)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("restarted after %v, while its port was still held", took)
	}
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Ping(ctx); err != nil {
		t.Fatalf("the restarted server does not answer: %v", err)
	}
}
