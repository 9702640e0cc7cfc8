package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// AccessConfig describes the least-privilege users and roles CreateAccess
// sets up on servers with SQL access control.
type AccessConfig struct {
	// WriterRole may only INSERT into tripline's tables (default
	// "tripline_writer"); ReadEvents adds SELECT on events, which detect's
	// stateful rules need to rebuild their state.
	WriterRole string
	ReadEvents bool
	// WriterUser, when set with WriterPassword, is created with WriterRole
	// as its default role. The password is sent as a SHA-256 hash, so it
	// never appears in the server's query log.
	WriterUser     string
	WriterPassword string
	// AnalystRole may SELECT every row (default "tripline_analyst").
	AnalystRole string
	// MSPs each get a role AnalystRole+"_"+slug(msp) that sees only that
	// MSP's rows of events and detections (row policies).
	MSPs []string
}

// ErrNoAccessControl is returned by CreateAccess on servers without SQL
// access control (before 21.8, e.g. Debian's 18.16): configure users.xml
// instead (see the README, "Security").
var ErrNoAccessControl = errors.New("this ClickHouse has no SQL access control (needs 21.8 or newer): configure users and row filters in users.xml instead (README, \"Security\")")

// HasSQLAccessControl reports whether CREATE USER/ROLE/ROW POLICY with
// everything AccessDDL uses (sha256_hash, multi-table policies, ALL
// EXCEPT) is available: 21.8 LTS and newer.
func (v Version) HasSQLAccessControl() bool { return v.AtLeast(21, 8) }

// RoleForMSP is the MSP-scoped analyst role of msp.
func (c AccessConfig) RoleForMSP(msp string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(msp) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return c.analystRole() + "_" + b.String()
}

func (c AccessConfig) analystRole() string {
	if c.AnalystRole == "" {
		return "tripline_analyst"
	}
	return c.AnalystRole
}

func (c AccessConfig) writerRole() string {
	if c.WriterRole == "" {
		return "tripline_writer"
	}
	return c.WriterRole
}

// sqlString quotes s as a ClickHouse string literal.
func sqlString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// AccessDDL returns the statements CreateAccess runs for database db. Every
// statement is idempotent (IF NOT EXISTS, OR REPLACE for the policy whose
// exceptions follow the MSP list).
func AccessDDL(db string, c AccessConfig) ([]string, error) {
	if !identRe.MatchString(db) {
		return nil, fmt.Errorf("access: database name %q is not a plain identifier", db)
	}
	writer, analyst := c.writerRole(), c.analystRole()
	for _, name := range []string{writer, analyst, c.WriterUser} {
		if name != "" && !identRe.MatchString(name) {
			return nil, fmt.Errorf("access: %q is not a plain identifier", name)
		}
	}
	if c.WriterUser != "" && c.WriterPassword == "" {
		return nil, errors.New("access: the writer user needs a password (TRIPLINE_WRITER_PASSWORD or _FILE)")
	}
	tables := fmt.Sprintf("`%s`.events, `%[1]s`.detections", db)
	out := []string{
		"CREATE ROLE IF NOT EXISTS " + writer,
		fmt.Sprintf("GRANT INSERT ON `%s`.* TO %s", db, writer),
	}
	if c.ReadEvents {
		// The detector rebuilds correlation state from the events and
		// the frontier it last recorded.
		out = append(out, fmt.Sprintf("GRANT SELECT ON `%s`.events TO %s", db, writer),
			fmt.Sprintf("GRANT SELECT ON `%s`.correlation_frontiers TO %s", db, writer))
	}
	if c.WriterUser != "" {
		sum := sha256.Sum256([]byte(c.WriterPassword))
		out = append(out, fmt.Sprintf("CREATE USER IF NOT EXISTS %s IDENTIFIED WITH sha256_hash BY '%s' DEFAULT ROLE %s",
			c.WriterUser, hex.EncodeToString(sum[:]), writer),
			fmt.Sprintf("GRANT %s TO %s", writer, c.WriterUser))
	}
	out = append(out,
		"CREATE ROLE IF NOT EXISTS "+analyst,
		fmt.Sprintf("GRANT SELECT ON `%s`.* TO %s", db, analyst),
	)
	var scoped []string
	for _, msp := range c.MSPs {
		if msp == "" {
			continue
		}
		role := c.RoleForMSP(msp)
		scoped = append(scoped, role)
		out = append(out,
			"CREATE ROLE IF NOT EXISTS "+role,
			fmt.Sprintf("GRANT SELECT ON %s TO %s", tables, role),
			fmt.Sprintf("CREATE ROW POLICY OR REPLACE %s ON %s FOR SELECT USING msp = %s TO %s", role, tables, sqlString(msp), role),
		)
	}
	if len(scoped) > 0 {
		// Once a table has a row policy, users without one see no rows:
		// everyone but the MSP-scoped roles keeps seeing everything.
		out = append(out, fmt.Sprintf("CREATE ROW POLICY OR REPLACE tripline_unrestricted ON %s FOR SELECT USING 1 TO ALL EXCEPT %s",
			tables, strings.Join(scoped, ", ")))
	}
	return out, nil
}

// CreateAccess creates the roles, the writer user and the row policies of
// c. It returns ErrNoAccessControl on servers that cannot do it.
func (s *Store) CreateAccess(ctx context.Context, c AccessConfig) ([]string, error) {
	if !s.version.HasSQLAccessControl() {
		return nil, fmt.Errorf("create users on ClickHouse %s: %w", s.version, ErrNoAccessControl)
	}
	stmts, err := AccessDDL(s.cfg.Database, c)
	if err != nil {
		return nil, err
	}
	for i, stmt := range stmts {
		if err := s.conn.Exec(ctx, stmt); err != nil {
			// The statement is not echoed: it may carry the password hash.
			return nil, fmt.Errorf("create users: statement %d of %d: %w", i+1, len(stmts), redact(redact(err, c.WriterPassword), s.cfg.Password))
		}
	}
	return stmts, nil
}
