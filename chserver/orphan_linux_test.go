package chserver

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const orphanChildEnv = "CHSERVER_ORPHAN_CHILD"

// TestNoOrphanWhenParentDies kills a process that started a server, without
// any chance to clean up (as `go test -timeout` does), and checks the
// server goes too.
func TestNoOrphanWhenParentDies(t *testing.T) {
	if os.Getenv(orphanChildEnv) == "1" {
		srv, err := Start(context.Background(), Options{})
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		fmt.Printf("PID %d %s\n", srv.PID(), srv.Dir())
		time.Sleep(time.Minute) // wait to be killed
		os.Exit(1)
	}
	requireBinary(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoOrphanWhenParentDies$")
	cmd.Env = append(os.Environ(), orphanChildEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "PID ") {
		t.Fatalf("child said %q (%v)", line, err)
	}
	fields := strings.Fields(line)
	pid, _ := strconv.Atoi(fields[1])
	dir := fields[2]
	defer os.RemoveAll(dir) // the dead parent could not clean up
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("server %d outlived its killed parent", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
