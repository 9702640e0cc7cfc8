package console

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/alexedwards/argon2id"
	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"github.com/tripline/tripline/api"
	"github.com/tripline/tripline/store"
	"github.com/tripline/tripline/yamlbound"
)

// Roles of console users.
const (
	// RoleAdmin sees every MSP, triages, and sees rule health.
	RoleAdmin = "admin"
	// RoleAnalyst triages the alerts of its scope (every MSP, or the MSP
	// its line names) and sees rule health.
	RoleAnalyst = "analyst"
	// RoleViewer is a client's tenant viewer: bound to one tenant of one
	// MSP, it reads that tenant's alerts, incidents and report, and
	// changes nothing.
	RoleViewer = "viewer"
)

// User is one console account. Only its password hash is kept.
type User struct {
	Name   string
	Role   string
	MSP    string
	Tenant string
	// Disabled keeps an account in the file that may not log in; its
	// sessions end at their next request.
	Disabled bool
	hash     string
}

// Scope is the store scope of the user: fail-closed, a viewer without a
// tenant cannot be loaded at all.
func (u *User) Scope() store.Scope {
	if u.MSP == "" {
		return store.AllMSPs()
	}
	return store.OnlyTenant(u.MSP, u.Tenant)
}

// CanWrite reports whether the user may triage and silence.
func (u *User) CanWrite() bool { return u.Role == RoleAdmin || u.Role == RoleAnalyst }

// SeesRules reports whether the user may see rule health (which counts
// detections across the tenants of its scope).
func (u *User) SeesRules() bool { return u.CanWrite() }

// Token is the user as an API caller, so that /api/ answers a logged-in
// browser with the user's scope and name as actor.
func (u *User) Token() *api.Token {
	role := api.RoleViewer
	if u.CanWrite() {
		role = api.RoleAnalyst
	}
	return &api.Token{Name: u.Name, Role: role, MSP: u.MSP, Tenant: u.Tenant}
}

// Users is the set of console accounts, read from a file.
type Users struct {
	byName map[string]*User
	// dummy is checked when the name is unknown, so that a login for a
	// missing user costs the same as one with a wrong password and the
	// time taken does not tell which names exist.
	dummy string
}

var userNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// yamlUser is one entry of the YAML form of the users file.
type yamlUser struct {
	Name     string `yaml:"name"`
	Password string `yaml:"password_hash"`
	Role     string `yaml:"role"`
	MSP      string `yaml:"msp"`
	Tenant   string `yaml:"tenant"`
	Disabled bool   `yaml:"disabled"`
	// line is where the entry is written, for errors.
	line int
}

// lockPrefix before a hash of the line form disables the account, as a
// "!" does in /etc/shadow: the hash stays, so re-enabling is one
// character.
const lockPrefix = "!"

// usersYAMLLimits bound a YAML users file.
var usersYAMLLimits = yamlbound.Limits{MaxBytes: 4 << 20, MaxNodes: 200_000, MaxDepth: 16, MaxDocuments: 1}

// checkUserKeys refuses keys a YAML users file does not have, with their
// line.
func checkUserKeys(file string, doc *yaml.Node) error {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	known := func(n *yaml.Node, allowed ...string) error {
		if n.Kind != yaml.MappingNode {
			return nil // Decode reports the type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; !slices.Contains(allowed, k.Value) {
				return fmt.Errorf("%s:%d:%d: unknown key %q (known: %s)", file, k.Line, k.Column, k.Value, strings.Join(allowed, ", "))
			}
		}
		return nil
	}
	if err := known(root, "users"); err != nil {
		return err
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if list := root.Content[i+1]; root.Content[i].Value == "users" && list.Kind == yaml.SequenceNode {
			for _, u := range list.Content {
				if err := known(u, "name", "password_hash", "role", "msp", "tenant", "disabled"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ParseUsers reads a users file, either lines
//
//	name:hash:role[:msp[:tenant]]
//
// (blank lines and # comments ignored) or YAML, a top-level "users:" list
// of {name, password_hash, role, msp, tenant}. Hashes are argon2id
// ($argon2id$...) or bcrypt ($2a$/$2b$/$2y$...); neither contains a
// colon. Errors name the file and line (or entry) and never echo a hash
// field, which might be a pasted password.
func ParseUsers(data []byte, file string) (*Users, error) {
	var entries []yamlUser
	var errs []error
	if bytes.HasPrefix(bytes.TrimSpace(stripComments(data)), []byte("users:")) {
		var doc struct {
			Users []yamlUser `yaml:"users"`
		}
		// Bounded like every YAML tripline reads (yamlbound: size, nodes
		// after alias expansion, depth), and strict: an unknown key is a
		// typo that would otherwise drop a field silently.
		docs, err := yamlbound.Decode(data, file, usersYAMLLimits)
		if err != nil {
			return nil, err
		}
		if len(docs) != 1 {
			return nil, fmt.Errorf("%s: want one YAML document, found %d", file, len(docs))
		}
		if err := checkUserKeys(file, docs[0]); err != nil {
			return nil, err
		}
		if err := docs[0].Decode(&doc); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		entries = doc.Users
		for i, n := range userNodes(docs[0]) {
			if i < len(entries) {
				entries[i].line = n.Line
			}
		}
	} else {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			parts := strings.Split(line, ":")
			if len(parts) < 3 || len(parts) > 5 {
				errs = append(errs, fmt.Errorf("%s:%d: want name:hash:role[:msp[:tenant]]", file, n))
				continue
			}
			u := yamlUser{Name: parts[0], Password: parts[1], Role: parts[2], line: n}
			if h, ok := strings.CutPrefix(u.Password, lockPrefix); ok {
				u.Password, u.Disabled = h, true
			}
			if len(parts) >= 4 {
				u.MSP = parts[3]
				if u.MSP == "" {
					errs = append(errs, fmt.Errorf("%s:%d: empty msp (leave the field out for every MSP)", file, n))
					continue
				}
			}
			if len(parts) == 5 {
				u.Tenant = parts[4]
				if u.Tenant == "" {
					errs = append(errs, fmt.Errorf("%s:%d: empty tenant", file, n))
					continue
				}
			}
			entries = append(entries, u)
		}
		if err := sc.Err(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", file, err))
		}
	}
	us := &Users{byName: map[string]*User{}}
	for i, e := range entries {
		where := fmt.Sprintf("%s: user %d (%s)", file, i+1, e.Name)
		if e.line > 0 {
			where = fmt.Sprintf("%s:%d: user %s", file, e.line, e.Name)
		}
		if err := checkUser(e); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		if us.byName[e.Name] != nil {
			errs = append(errs, fmt.Errorf("%s: the name appears twice", where))
			continue
		}
		us.byName[e.Name] = &User{Name: e.Name, Role: e.Role, MSP: e.MSP, Tenant: e.Tenant, Disabled: e.Disabled, hash: e.Password}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(us.byName) == 0 {
		return nil, fmt.Errorf("%s: no users", file)
	}
	var err error
	if us.dummy, err = HashPassword("tripline-unknown-user"); err != nil {
		return nil, err
	}
	return us, nil
}

// userNodes returns the entries of a YAML users file's "users" list, in
// order, for their lines.
func userNodes(doc *yaml.Node) []*yaml.Node {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "users" && root.Content[i+1].Kind == yaml.SequenceNode {
			return root.Content[i+1].Content
		}
	}
	return nil
}

func stripComments(data []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			out = append(append(out, t...), '\n')
		}
	}
	return out
}

func checkUser(e yamlUser) error {
	if !userNameRe.MatchString(e.Name) {
		return fmt.Errorf("name: letters, digits and ._@- only, at most 64")
	}
	if !isArgon2id(e.Password) && !isBcrypt(e.Password) {
		return fmt.Errorf("the password field must be an argon2id or bcrypt hash (tripline console user add makes one)")
	}
	switch e.Role {
	case RoleAdmin:
		if e.MSP != "" || e.Tenant != "" {
			return fmt.Errorf("an admin sees every MSP: give no msp or tenant")
		}
	case RoleAnalyst:
		if e.Tenant != "" {
			return fmt.Errorf("an analyst may be bound to an msp, not to a tenant (use role viewer)")
		}
	case RoleViewer:
		// Fail closed: a viewer without a tenant would see a whole MSP.
		if e.MSP == "" || e.Tenant == "" {
			return fmt.Errorf("a viewer needs its msp and tenant")
		}
	default:
		return fmt.Errorf("role %q: want %s, %s or %s", e.Role, RoleAdmin, RoleAnalyst, RoleViewer)
	}
	return nil
}

func isArgon2id(h string) bool { return strings.HasPrefix(h, "$argon2id$") }

func isBcrypt(h string) bool {
	_, err := bcrypt.Cost([]byte(h))
	return err == nil
}

// LoadUsers reads and parses a users file.
func LoadUsers(path string) (*Users, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	return ParseUsers(data, path)
}

// Len is the number of users.
func (us *Users) Len() int { return len(us.byName) }

// Authenticate returns the user whose name and password these are, or nil.
func (us *Users) Authenticate(name, password string) *User {
	u := us.byName[name]
	hash := us.dummy
	if u != nil {
		hash = u.hash
	}
	ok := false
	if isArgon2id(hash) {
		match, err := argon2id.ComparePasswordAndHash(password, hash)
		ok = err == nil && match
	} else {
		ok = bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	}
	// A disabled account costs the same check and fails like a wrong
	// password: the login page does not tell that it exists.
	if u == nil || !ok || u.Disabled {
		return nil
	}
	return u
}

// Lookup returns the named user, or nil (a session's user may have been
// removed from the file since).
func (us *Users) Lookup(name string) *User { return us.byName[name] }

// sameCredential reports whether u still logs in with the password hash
// a session was opened with: a changed password ends the sessions opened
// with the old one.
func (u *User) sameCredential(hash string) bool { return equal(u.hash, hash) }

// argonParams follow OWASP's argon2id minimum (19 MiB, 2 passes): a login
// stays well under a second on a shared 2-core machine while a stolen
// users file is costly to crack.
var argonParams = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// HashPassword hashes a password with argon2id.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("empty password")
	}
	h, err := argon2id.CreateHash(password, argonParams)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// MinPasswordLen is the shortest password `console user add` accepts.
const MinPasswordLen = 12

// UserLine hashes password and returns the users-file line for a new
// user, checked as ParseUsers would.
func UserLine(name, role, msp, tenant, password string) (string, error) {
	if len(password) < MinPasswordLen {
		return "", fmt.Errorf("the password must be at least %d characters", MinPasswordLen)
	}
	if tenant != "" && msp == "" {
		return "", errors.New("a tenant needs its msp")
	}
	h, err := HashPassword(password)
	if err != nil {
		return "", err
	}
	line := name + ":" + h + ":" + role
	if msp != "" {
		line += ":" + msp
	}
	if tenant != "" {
		line += ":" + tenant
	}
	if _, err := ParseUsers([]byte(line), "new user"); err != nil {
		return "", err
	}
	return line, nil
}

// equal compares secrets in constant time.
func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
