package chcluster

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

const orphanChildEnv = "CHCLUSTER_ORPHAN_CHILD"

// TestClusterNoOrphanWhenParentDies kills a process that started a
// cluster, without any chance to clean up (as `go test -timeout` does),
// and checks that ZooKeeper and every server go too.
func TestClusterNoOrphanWhenParentDies(t *testing.T) {
	if os.Getenv(orphanChildEnv) == "1" {
		c, err := Start(context.Background(), Options{})
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		var pids []string
		for _, p := range c.PIDs() {
			pids = append(pids, strconv.Itoa(p))
		}
		fmt.Printf("PIDS %s %s\n", strings.Join(pids, ","), c.Dir())
		time.Sleep(2 * time.Minute) // wait to be killed
		os.Exit(1)
	}
	if testing.Short() {
		t.Skip("skipping under -short: starts a ClickHouse cluster")
	}
	if _, _, err := findZooKeeper(); err != nil && os.Getenv("CI") != "true" {
		t.Skipf("skipping: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestClusterNoOrphanWhenParentDies$")
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
	if err != nil || !strings.HasPrefix(line, "PIDS ") {
		if strings.Contains(line, "not found") && os.Getenv("CI") != "true" {
			t.Skipf("child: %s", line)
		}
		t.Fatalf("child said %q (%v)", line, err)
	}
	fields := strings.Fields(line)
	defer os.RemoveAll(fields[2]) // the dead parent could not clean up
	var pids []int
	for _, s := range strings.Split(fields[1], ",") {
		pid, _ := strconv.Atoi(s)
		pids = append(pids, pid)
	}
	if len(pids) != 4 {
		t.Fatalf("child reported pids %v, want 4", pids)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for _, pid := range pids {
		for syscall.Kill(pid, 0) == nil {
			if time.Now().After(deadline) {
				syscall.Kill(-pid, syscall.SIGKILL)
				t.Fatalf("process %d outlived its killed parent", pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
