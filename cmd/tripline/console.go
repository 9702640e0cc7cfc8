package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tripline/tripline/api"
	"github.com/tripline/tripline/console"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/kafkaio"
	"github.com/tripline/tripline/registry"
	"github.com/tripline/tripline/rules"
	"github.com/tripline/tripline/triage"
)

const consoleUsage = `Usage:
  tripline console --listen ADDR [--users FILE] [--tokens FILE] [--rules DIR] [--clickhouse ...] [--brokers ...]
  tripline console token --name NAME --role viewer|analyst [--msp MSP [--tenant T]]
  tripline console user add NAME --role admin|analyst|viewer [--msp MSP [--tenant T]] < password

console serves the analyst console (log in at /, docs/console.md) for the
users of --users, and the HTTP JSON API under /api/ (see /api/openapi.yaml)
for their sessions and the tokens of --tokens. Without either file it
starts, but nobody can log in or call the API. Both files are re-read on
SIGHUP and when they change (an invalid new file is logged with its
file:line and the previous one stays in force).
token prints a new random token on stdout and, on stderr, the line to add
to the tokens file (which stores only its SHA-256).
user add reads a password from the first line of standard input and prints
the users-file line with its argon2id hash.
`

func runConsole(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "token" {
		return runConsoleToken(args[1:], stdout, stderr)
	}
	if len(args) > 1 && args[0] == "user" && args[1] == "add" {
		return runConsoleUserAdd(args[2:], os.Stdin, stdout, stderr)
	}
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, consoleUsage); fs.PrintDefaults() }
	var c commonFlags
	c.register(fs, false)
	listen := fs.String("listen", "127.0.0.1:8080", "HTTP listen address")
	tokensFile := fs.String("tokens", "", "API tokens file: lines name:sha256hex:role[:msp[:tenant]]")
	usersFile := fs.String("users", "", "console users file: lines name:hash:role[:msp[:tenant]] or YAML (docs/console.md)")
	rulesDir := fs.String("rules", "", "rule directory or file for the rule pages (default: the embedded pack, as detect)")
	registryFile := fs.String("registry", "", "MSP relationship registry (docs/registry.md) for the access report's review and maintenance windows")
	placeholders := fs.String("placeholders", "", "YAML file with the values of |expand placeholders (name: [values])")
	secureCookies := fs.Bool("secure-cookies", false, "mark cookies Secure (behind a TLS-terminating proxy; implied by --tls-cert)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate (PEM; with --tls-key)")
	tlsKey := fs.String("tls-key", "", "private key of --tls-cert (PEM)")
	c.registerKafka(fs, "")
	topic := fs.String("alerts-topic", kafkaio.TopicAlerts, "publish closes and reopens here when --brokers is set, for tripline notify")
	shutdown := fs.Duration("shutdown-timeout", 10*time.Second, "how long SIGTERM waits for requests in flight")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		fmt.Fprint(stderr, "tripline console: --tls-cert and --tls-key go together\n\n"+consoleUsage)
		return errUsage
	}
	log, err := newLogger(stderr, c.logLevel, c.logFormat)
	if err != nil {
		return err
	}
	tokens := &api.Tokens{}
	if *tokensFile != "" {
		if tokens, err = api.LoadTokens(*tokensFile); err != nil {
			return err
		}
	}
	var users *console.Users
	if *usersFile != "" {
		if users, err = console.LoadUsers(*usersFile); err != nil {
			return err
		}
	}
	// The registry adds the report's access review and window outlines.
	var reg atomic.Pointer[registry.Registry]
	if *registryFile != "" {
		r, err := registry.Load(*registryFile)
		if err != nil {
			return err
		}
		reg.Store(r)
	}
	values, err := rules.LoadPlaceholders(*placeholders)
	if err != nil {
		return err
	}
	pack, err := console.NewRulePack(*rulesDir, engine.Config{Placeholders: values})
	if err != nil {
		return err
	}
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	svc := triage.New(st)
	pub, closePub, err := c.alertPublisher(*topic)
	if err != nil {
		return err
	}
	defer closePub()
	if pub != nil {
		svc = svc.WithPublisher(pub)
	} else {
		log.Warn().Msg("no --brokers: closes and reopens are not published to tripline.alerts (notify will not resolve them)")
	}
	if users == nil {
		log.Warn().Msg("no --users: nobody can log in to the console (tripline console user add makes a users-file line)")
	}
	con, err := console.New(console.Config{Triage: svc, Store: st, Users: users, UsersFile: *usersFile, TokensFile: *tokensFile,
		API: api.New(svc, tokens, log), Rules: pack, Report: console.ReportHandler(st, reg.Load, log),
		SecureCookies: *secureCookies || *tlsCert != "", Log: log})
	if err != nil {
		return err
	}
	log.Info().Str("addr", ln.Addr().String()).Int("tokens", tokens.Len()).Int("users", usersLen(users)).Bool("tls", *tlsCert != "").Msg("console listening")
	return con.Serve(ctx, ln, console.ServeOptions{TLSCert: *tlsCert, TLSKey: *tlsKey, Shutdown: *shutdown})
}

func usersLen(us *console.Users) int {
	if us == nil {
		return 0
	}
	return us.Len()
}

// runConsoleUserAdd prints a users-file line; the password comes from
// standard input so that it stays out of the shell history and ps.
func runConsoleUserAdd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("console user add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	role := fs.String("role", console.RoleAnalyst, "admin, analyst or viewer (a tenant viewer: needs --msp and --tenant)")
	msp := fs.String("msp", "", "bind the user to this MSP")
	tenant := fs.String("tenant", "", "with --msp: the viewer's tenant")
	// The name comes first (user add NAME --role R); flags may follow it.
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, "tripline console user add: NAME is required\n\n"+consoleUsage)
		return errUsage
	}
	name := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tripline console user add: unexpected %q\n", fs.Arg(0))
		return errUsage
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	out, err := console.UserLine(name, *role, *msp, *tenant, strings.TrimRight(line, "\r\n"))
	if err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	fmt.Fprintln(stdout, out)
	return nil
}

func runConsoleToken(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("console token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "token name: the actor of its actions (required)")
	role := fs.String("role", api.RoleViewer, "viewer (read) or analyst (read, triage, silence)")
	msp := fs.String("msp", "", "bind the token to this MSP (default: every MSP)")
	tenant := fs.String("tenant", "", "with --msp: bind the token to this tenant of the MSP (a client's view)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	secret, line, err := api.NewToken(*name, *role, *msp, *tenant)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "add this line to the tokens file:\n%s\n", line)
	fmt.Fprintln(stdout, secret)
	return nil
}
