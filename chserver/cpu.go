package chserver

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ProcessCPU is the user+system CPU time a process has used so far, read
// from /proc/PID/stat (Linux). Benchmarks use it to charge a ClickHouse
// server's own work, background merges included, to the rows they insert:
// a query's CPU alone misses the merges its parts cause later.
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu time of process %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis are space-separated: utime and stime are the
	// 12th and 13th of them.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu time of process %d: short /proc stat line", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu time of process %d: unparsable /proc stat line", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// CPU is the CPU time the server process has used so far (ProcessCPU).
func (s *Server) CPU() (time.Duration, error) {
	pid := s.PID()
	if pid == 0 {
		return 0, fmt.Errorf("cpu time of clickhouse-server: not running")
	}
	return ProcessCPU(pid)
}
