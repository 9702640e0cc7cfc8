package chcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// EnvZooKeeperJar overrides where the ZooKeeper server classes are looked
// for (Debian's zookeeper package installs /usr/share/java/zookeeper.jar,
// whose manifest names the jars it needs).
const EnvZooKeeperJar = "TRIPLINE_ZOOKEEPER_JAR"

const defaultZooKeeperJar = "/usr/share/java/zookeeper.jar"

// ErrZooKeeperNotFound is returned (wrapped) when java or the ZooKeeper jar
// is missing.
var ErrZooKeeperNotFound = errors.New("zookeeper not found")

// zookeeper is one standalone ZooKeeper server, a child process of ours.
type zookeeper struct {
	port    int
	dir     string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
}

func findZooKeeper() (java, jar string, err error) {
	jar = os.Getenv(EnvZooKeeperJar)
	if jar == "" {
		jar = defaultZooKeeperJar
	}
	if _, err := os.Stat(jar); err != nil {
		return "", "", fmt.Errorf("%w: %s: %v; install it with scripts/ensure-zookeeper.sh "+
			"(apt-get install -y zookeeper) or set %s", ErrZooKeeperNotFound, jar, err, EnvZooKeeperJar)
	}
	if java, err = exec.LookPath("java"); err != nil {
		return "", "", fmt.Errorf("%w: no java in PATH (Debian's zookeeper package depends on one): %v",
			ErrZooKeeperNotFound, err)
	}
	return java, jar, nil
}

// startZooKeeper runs ZooKeeperServerMain (standalone, no quorum: the
// tests exercise ClickHouse's replication, not ZooKeeper's) on port, with
// its data in dir. The JVM flags trade peak speed for a quick start on a
// busy two-core box.
func startZooKeeper(ctx context.Context, dir string, port int, wait time.Duration) (*zookeeper, error) {
	java, jar, err := findZooKeeper()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, fmt.Errorf("start zookeeper: %w", err)
	}
	z := &zookeeper{port: port, dir: dir, logPath: filepath.Join(dir, "zookeeper.log"), done: make(chan struct{})}
	logFile, err := os.Create(z.logPath)
	if err != nil {
		return nil, fmt.Errorf("start zookeeper: %w", err)
	}
	// Loopback only; no admin server (its HTTP port would be 8080, shared
	// by everyone); srvr is the readiness probe.
	cfg := fmt.Sprintf("tickTime=2000\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n"+
		"admin.enableServer=false\n4lw.commands.whitelist=srvr\n", filepath.Join(dir, "data"), port)
	cfgPath := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start zookeeper: %w", err)
	}
	z.cmd = exec.Command(java,
		"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
		// slf4j-simple (a dependency of Debian's package) makes its log
		// readable in a failed test's output.
		"-cp", jar+":/usr/share/java/slf4j-simple.jar", "org.apache.zookeeper.server.ZooKeeperServerMain",
		cfgPath)
	z.cmd.Dir = dir
	z.cmd.Stdout, z.cmd.Stderr = logFile, logFile
	z.cmd.SysProcAttr = sysProcAttr()
	if err := z.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start zookeeper: %w", err)
	}
	go func() {
		z.cmd.Wait()
		logFile.Close()
		close(z.done)
	}()
	if err := z.waitReady(ctx, wait); err != nil {
		z.stop()
		return nil, fmt.Errorf("start zookeeper on port %d: %w\n--- tail of %s ---\n%s", port, err, z.logPath, tail(z.logPath))
	}
	return z, nil
}

func (z *zookeeper) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(z.port)) }

// waitReady asks "srvr" until the server reports its mode. ("ruok"
// answers "imok" as soon as the port is open, before the server takes
// sessions; a ClickHouse 18.16 server connecting then crashes in its DDL
// worker.)
func (z *zookeeper) waitReady(ctx context.Context, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var last error
	for {
		select {
		case <-z.done:
			return errors.New("zookeeper exited during startup")
		default:
		}
		if last = srvr(ctx, z.addr()); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w (last probe: %v)", wait, ctx.Err(), last)
		case <-z.done:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func srvr(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("srvr")); err != nil {
		return err
	}
	b, _ := io.ReadAll(io.LimitReader(c, 4<<10))
	if !bytes.Contains(b, []byte("Mode: ")) {
		return fmt.Errorf("srvr answered %q", b)
	}
	return nil
}

// stop kills ZooKeeper: its state is thrown away with the cluster, so
// there is nothing a graceful stop would save.
func (z *zookeeper) stop() {
	select {
	case <-z.done:
		return
	default:
	}
	killGroup(z.cmd.Process)
	<-z.done
}
