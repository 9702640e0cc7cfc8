// Command tripline is the MSP supply-chain anomaly detection pipeline: one
// binary with a subcommand per role (ingest, detect, migrate), the traffic
// simulator, a self-contained demo, and the rule author's tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `tripline — supply-chain anomaly detection for MSP remote-management activity

Usage:
  tripline ingest   --brokers HOST:PORT[,...] --clickhouse HOST:PORT [--group NAME] [--registry FILE]
  tripline detect   --brokers ... --clickhouse ... [--rules DIR] [--group NAME]
  tripline migrate  --clickhouse HOST:PORT [--cluster NAME]
  tripline notify   --config FILE --brokers ... --clickhouse ... [--group NAME]
  tripline notify lint --config FILE [--resolve]
  tripline simulate (--brokers ... | --out FILE.jsonl) [--seed N] [--events N] [--rate R] [--scenario NAME]
  tripline demo     [--clickhouse HOST:PORT] [--keep]
  tripline rules eval --rules PATH --events FILE.jsonl [--logsource product/category] [--stats]
  tripline rules lint PATH...
  tripline rules test PATH...
  tripline registry lint FILE...
  tripline convert  --format FORMAT --msp MSP [FILE|-]
  tripline receive  --listen ADDR --tokens FILE [--topic msp.vendor] [--tls-cert F --tls-key F]   (vendor webhooks and batch posts)
  tripline poll     --source ninjaone|teamviewer|datto-rmm|entra-signin --config FILE [--once]   (vendor APIs, checkpointed)
  tripline alerts   list|show|ack|assign|close|note|reopen|silence|silences|expire ... [--clickhouse ...]
  tripline console  --listen ADDR --tokens FILE [--clickhouse ...]   (HTTP JSON API under /api/)
  tripline report   --tenant T --month YYYY-MM [--format html|pdf|csv|json] [--out FILE] [--registry FILE]
  tripline report   --all-tenants --month YYYY-MM --out DIR [--format F]   (MSP access reports; report verify FILE.json)

Every flag has an environment equivalent: --clickhouse-db is TRIPLINE_CLICKHOUSE_DB.
Secrets come only from the environment or files: TRIPLINE_CLICKHOUSE_PASSWORD
(or TRIPLINE_CLICKHOUSE_PASSWORD_FILE), never from flags.
Run 'tripline COMMAND -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"ingest":   runIngest,
		"detect":   runDetect,
		"migrate":  runMigrate,
		"simulate": runSimulate,
		"demo":     runDemo,
		"rules":    runRules,
		"registry": runRegistry,
		"convert":  runConvert,
		"receive":  runReceive,
		"poll":     runPoll,
		"alerts":   runAlerts,
		"console":  runConsole,
		"notify":   runNotify,
		"report":   runReport,
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(stderr, "tripline: unknown command %q\n\n%s", name, usage)
		return 2
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		var exit exitCode
		if errors.As(err, &exit) {
			return int(exit)
		}
		fmt.Fprintf(stderr, "tripline %s: %v\n", name, err)
		return 1
	}
}

// errUsage marks a usage error whose message was already printed.
var errUsage = errors.New("usage")

// exitCode ends the process with a code and no further message (the command
// printed its own report, e.g. failing lint findings).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
