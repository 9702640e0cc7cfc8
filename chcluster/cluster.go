package chcluster

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/tripline/tripline/chserver"
)

// Defaults for Options.
const (
	DefaultName         = "tripline_cluster"
	DefaultStartTimeout = 90 * time.Second
)

// startAttempts bounds restarts of the whole cluster when one of the ports
// picked up front was taken before its server bound it.
const startAttempts = 3

// Options configure Start. The zero value is ready to use.
type Options struct {
	// Name is the cluster's name in remote_servers (ON CLUSTER NAME,
	// Distributed(NAME, ...)); empty means DefaultName.
	Name string
	// Keep leaves the directory with every server's config, data and log
	// in place after Stop.
	Keep bool
	// StartTimeout bounds the start of each process (ZooKeeper first, then
	// the ClickHouse servers in parallel); zero means DefaultStartTimeout,
	// generous because the servers start side by side on two busy cores.
	StartTimeout time.Duration
}

// Topology is the fixed shape of the test cluster: shard 1 has two
// replicas, shard 2 one, so tests see both replication and sharding.
var Topology = [][]string{{"s1r1", "s1r2"}, {"s2r1"}}

// Replica is one clickhouse-server of the cluster.
type Replica struct {
	Shard int    // 1-based, the {shard} macro
	Name  string // the {replica} macro, unique across the cluster
	*chserver.Server
}

// Cluster is a running ClickHouse cluster on loopback: one ZooKeeper and
// a clickhouse-server per replica, every one a child process.
type Cluster struct {
	Name     string
	Replicas []*Replica

	dir       string
	removeDir bool
	zk        *zookeeper

	mu      sync.Mutex
	stopped bool
}

// Start starts ZooKeeper, then every replica in parallel, and returns once
// each server answers queries and sees the cluster in system.clusters. On
// error nothing is left running.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if _, err := chserver.Find(); err != nil {
		return nil, err
	}
	if _, _, err := findZooKeeper(); err != nil {
		return nil, err
	}
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		var c *Cluster
		c, err = start(ctx, opts)
		if err == nil {
			return c, nil
		}
		if !strings.Contains(err.Error(), "Address already in use") || ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

func start(ctx context.Context, opts Options) (c *Cluster, err error) {
	dir, err := os.MkdirTemp("", "tripline-chcluster-")
	if err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	c = &Cluster{Name: opts.Name, dir: dir, removeDir: !opts.Keep}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()

	n := 0
	for _, shard := range Topology {
		n += len(shard)
	}
	// Every port is picked before anything starts: each server's
	// remote_servers names all the others.
	free, err := freePorts(1 + 3*n)
	if err != nil {
		return c, err
	}
	zkPort, free := free[0], free[1:]
	var ports []chserver.Ports
	for i := 0; i < n; i++ {
		ports = append(ports, chserver.Ports{TCP: free[3*i], HTTP: free[3*i+1], Interserver: free[3*i+2]})
	}

	if c.zk, err = startZooKeeper(ctx, filepath.Join(dir, "zookeeper"), zkPort, opts.StartTimeout); err != nil {
		return c, err
	}

	var specs []serverSpec
	i := 0
	for s, shard := range Topology {
		for _, name := range shard {
			specs = append(specs, serverSpec{shard: s + 1, name: name, ports: ports[i]})
			i++
		}
	}
	c.Replicas = make([]*Replica, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, sp := range specs {
		wg.Go(func() {
			sdir := filepath.Join(dir, sp.name)
			if err := writeClusterConfig(sdir, opts.Name, sp, specs, zkPort); err != nil {
				errs[i] = err
				return
			}
			srv, err := chserver.Start(ctx, chserver.Options{
				Dir: sdir, StartTimeout: opts.StartTimeout, Ports: &sp.ports,
			})
			if err != nil {
				errs[i] = fmt.Errorf("replica %s: %w", sp.name, err)
				return
			}
			c.Replicas[i] = &Replica{Shard: sp.shard, Name: sp.name, Server: srv}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("start cluster: %w", err)
	}
	if err := c.waitDDLReady(ctx, opts.StartTimeout); err != nil {
		return c, fmt.Errorf("start cluster: %w", err)
	}
	return c, nil
}

// waitDDLReady waits until every server talks to ZooKeeper and the
// distributed DDL queue exists. 18.16 segfaults on an ON CLUSTER query
// that arrives before its DDL worker has its ZooKeeper session (the worker
// connects in a thread of its own, after the server already answers
// queries), so a cluster is ready only once that has happened everywhere.
// The worker takes the server's shared session, which system.zookeeper
// proves; the extra second covers the worker thread picking it up.
func (c *Cluster) waitDDLReady(ctx context.Context, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for _, r := range c.Replicas {
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{r.Addr()}, DialTimeout: time.Second})
		if err != nil {
			return fmt.Errorf("replica %s: %w", r.Name, err)
		}
		var last error
		for {
			var n uint64
			last = conn.QueryRow(ctx, "SELECT count() FROM system.zookeeper WHERE path = '/clickhouse/task_queue' AND name = 'ddl'").Scan(&n)
			if last == nil && n == 1 {
				break
			}
			select {
			case <-ctx.Done():
				conn.Close()
				return fmt.Errorf("replica %s: distributed DDL queue not ready after %s (last: n=%d, %v)", r.Name, wait, n, last)
			case <-time.After(100 * time.Millisecond):
			}
		}
		conn.Close()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Second):
	}
	return nil
}

// Addr is the native address of the first replica: any replica can take
// ON CLUSTER DDL and queries on the Distributed tables.
func (c *Cluster) Addr() string { return c.Replicas[0].Addr() }

// Dir holds every process's config, data and log.
func (c *Cluster) Dir() string { return c.dir }

// PIDs are the process IDs of ZooKeeper and every running server, for
// tests that check nothing outlives Stop.
func (c *Cluster) PIDs() []int {
	var pids []int
	if c.zk != nil {
		pids = append(pids, c.zk.cmd.Process.Pid)
	}
	for _, r := range c.Replicas {
		if r != nil && r.PID() != 0 {
			pids = append(pids, r.PID())
		}
	}
	return pids
}

// ZooKeeperAddr is ZooKeeper's client address.
func (c *Cluster) ZooKeeperAddr() string { return c.zk.addr() }

// Stop stops every server, then ZooKeeper, and removes the directory
// unless Options.Keep. Calling it again is a no-op.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true
	var wg sync.WaitGroup
	errs := make([]error, len(c.Replicas))
	for i, r := range c.Replicas {
		if r == nil {
			continue
		}
		wg.Go(func() { errs[i] = r.Stop() })
	}
	wg.Wait()
	if c.zk != nil {
		c.zk.stop()
	}
	if c.removeDir {
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", c.dir, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop cluster: %w", err)
	}
	return nil
}

// LogTails returns the end of every process's log, for a failed test.
func (c *Cluster) LogTails() string {
	var b strings.Builder
	if c.zk != nil {
		fmt.Fprintf(&b, "--- %s ---\n%s\n", c.zk.logPath, tail(c.zk.logPath))
	}
	for _, r := range c.Replicas {
		if r != nil {
			fmt.Fprintf(&b, "--- %s ---\n%s\n", r.LogPath(), tail(r.LogPath()))
		}
	}
	return b.String()
}

type serverSpec struct {
	shard int
	name  string
	ports chserver.Ports
}

// writeClusterConfig writes config.d/cluster.xml and users.d/cluster.xml
// into a server's directory; the server merges them into the config
// chserver generates. internal_replication is true: a Distributed insert
// writes one replica per shard and ReplicatedMergeTree copies it to the
// others (false would write every replica and break block deduplication).
func writeClusterConfig(dir, name string, self serverSpec, all []serverSpec, zkPort int) error {
	var b bytes.Buffer
	x := func(s string) string {
		var e bytes.Buffer
		xml.EscapeText(&e, []byte(s))
		return e.String()
	}
	fmt.Fprintf(&b, "<?xml version=\"1.0\"?>\n<clickhouse>\n")
	fmt.Fprintf(&b, "    <macros>\n        <shard>%02d</shard>\n        <replica>%s</replica>\n        <cluster>%s</cluster>\n    </macros>\n",
		self.shard, x(self.name), x(name))
	// A SIGKILLed replica comes back active only once its old session has
	// expired (its is_active node is ephemeral): 10 s rather than the
	// 30 s default keeps the fault tests short, and is still far above
	// any pause of a busy two-core box.
	fmt.Fprintf(&b, "    <zookeeper>\n        <node><host>127.0.0.1</host><port>%d</port></node>\n"+
		"        <session_timeout_ms>10000</session_timeout_ms>\n    </zookeeper>\n", zkPort)
	// The DDL queue of ON CLUSTER queries, in ZooKeeper.
	fmt.Fprintf(&b, "    <distributed_ddl>\n        <path>/clickhouse/task_queue/ddl</path>\n    </distributed_ddl>\n")
	fmt.Fprintf(&b, "    <remote_servers>\n        <%s>\n", x(name))
	shard := 0
	for _, sp := range all {
		if sp.shard != shard {
			if shard != 0 {
				b.WriteString("            </shard>\n")
			}
			shard = sp.shard
			b.WriteString("            <shard>\n                <internal_replication>true</internal_replication>\n")
		}
		fmt.Fprintf(&b, "                <replica><host>127.0.0.1</host><port>%d</port></replica>\n", sp.ports.TCP)
	}
	b.WriteString("            </shard>\n")
	fmt.Fprintf(&b, "        </%s>\n    </remote_servers>\n</clickhouse>\n", x(name))
	if err := writeFile(filepath.Join(dir, "config.d", "cluster.xml"), b.Bytes()); err != nil {
		return err
	}
	// distributed_product_mode=local: tripline's IN subqueries (alerts
	// with their actions) read the local shard, correct because every
	// table is sharded by msp. 18.16's native protocol takes only numeric
	// settings from a client, so string settings live in the profile.
	return writeFile(filepath.Join(dir, "users.d", "cluster.xml"), []byte(ProfileXML))
}

// ProfileXML is the users.d file every replica of the test cluster gets,
// and what docs/cluster.md asks of a production cluster's profile.
const ProfileXML = `<?xml version="1.0"?>
<clickhouse>
    <profiles>
        <default>
            <distributed_product_mode>local</distributed_product_mode>
            <insert_distributed_sync>1</insert_distributed_sync>
        </default>
    </profiles>
</clickhouse>
`

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write cluster config: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write cluster config: %w", err)
	}
	return nil
}

// freePorts reserves n distinct loopback ports, holding every listener
// until all are chosen.
func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	out := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick free port: %w", err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	const max = 6 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		f.Seek(fi.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}
