// Package chserver runs a private ClickHouse server as a child process, for
// `tripline demo` and for integration tests that need a real server instead
// of mocks.
//
// Start writes a minimal config.xml and users.xml into a directory of its own
// (a fresh temporary directory unless Options.Dir is set), picks free
// loopback ports, starts clickhouse-server in its own process group and
// returns once the native port answers a query. The server listens on
// 127.0.0.1 only and its default user has no password, so it must never be
// exposed beyond the machine. On Linux the child also gets SIGKILL when the
// process that started it dies, so a test binary killed by `go test
// -timeout` or Ctrl-C leaves no orphaned server behind.
//
// # Tests
//
// One server per test:
//
//	func TestSomething(t *testing.T) {
//		srv := chserver.ForTest(t) // skips (or fails when CI=true) without ClickHouse
//		conn := dial(srv.Addr())
//		...
//	}
//
// One server shared by all tests of a package, started on first use and
// stopped when the package's tests finish. Give each test its own database
// (or table names) so tests stay independent:
//
//	var ch chserver.Shared
//
//	func TestMain(m *testing.M) { os.Exit(ch.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		srv := ch.Get(t)
//		...
//	}
//
// A missing binary makes ForTest and Shared.Get skip the test with the
// install hint, except when the environment variable CI is "true": there a
// missing ClickHouse is a broken build, not a reason to skip. Both also skip
// under `go test -short`, which is meant for tests without external
// processes.
//
// # Finding the binary
//
// Find looks at $TRIPLINE_CLICKHOUSE_SERVER, then for clickhouse-server and
// the single `clickhouse` binary (run as `clickhouse server`) in PATH,
// /usr/sbin, /usr/bin and /usr/local/bin. On Debian and Ubuntu:
//
//	apt-get install -y clickhouse-server clickhouse-client
//
// The package's system service is not needed; only the binary is.
package chserver
