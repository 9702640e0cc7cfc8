package notify

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/yamlbound"
)

// FileLimits bound a notify config file: it is small and written by hand.
var FileLimits = yamlbound.Limits{Kind: "notify config", MaxBytes: 1 << 20, MaxNodes: 100_000, MaxDepth: 16, MaxDocuments: 1}

// Receiver types.
const (
	TypeWebhook   = "webhook"
	TypeSlack     = "slack"
	TypeTeams     = "teams"
	TypePagerDuty = "pagerduty"
	TypeEmail     = "email"
)

// Levels in ascending order; a route's level matches that level and above.
var Levels = []string{"informational", "low", "medium", "high", "critical"}

// LevelRank is the position of level in Levels, -1 when unknown.
func LevelRank(level string) int { return slices.Index(Levels, strings.ToLower(level)) }

// DefaultKinds are the message kinds a route takes when it names none:
// every change but "updated", which would notify once per repeat of an
// alert (PagerDuty and webhooks that want them list it).
var DefaultKinds = []string{alert.KindOpened, alert.KindReopened, alert.KindResolved, alert.KindClosed}

var allKinds = []string{alert.KindOpened, alert.KindUpdated, alert.KindResolved, alert.KindClosed, alert.KindReopened}

// Defaults of a config file.
const (
	DefaultGroupWait      = 30 * time.Second
	DefaultRepeatInterval = 4 * time.Hour
	DefaultMaxAttempts    = 8
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = time.Minute
	DefaultTimeout        = 10 * time.Second
	// MaxGroupWait bounds group_wait: a batch's offsets wait for it.
	MaxGroupWait = 5 * time.Minute
	// maxRetryBudget bounds what retries of one notification may add up
	// to: the consumer's batch is held for as long.
	maxRetryBudget = time.Hour
)

// Config is a parsed notify config file.
type Config struct {
	File      string
	Retry     Retry
	Receivers []ReceiverConfig
	Routes    []Route
}

// Retry bounds the attempts of one notification.
type Retry struct {
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
}

// Backoff is the wait after the attempt-th failed attempt (1-based).
func (r Retry) Backoff(attempt int) time.Duration {
	d := r.InitialBackoff
	for i := 1; i < attempt && d < r.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, r.MaxBackoff)
}

// ReceiverConfig is one receivers: entry. Secret fields are references
// (env:NAME, file:/path), resolved by Resolve.
type ReceiverConfig struct {
	Name string
	Type string
	Line int
	// URL is the endpoint: plain for webhook and pagerduty, a secret
	// reference for slack and teams (their URLs carry the credential).
	URL    string
	URLRef *SecretRef
	// Secret is the webhook's whsec_ signing secret.
	Secret *SecretRef
	// RoutingKey is PagerDuty's integration key.
	RoutingKey *SecretRef
	// Email.
	SMTPHost string
	SMTPPort int
	Username string
	Password *SecretRef
	From     string
	To       []string
	// CAFile verifies the SMTP server's certificate (default: system roots).
	CAFile string
}

// Route is one routes: entry.
type Route struct {
	Name      string
	Line      int
	Match     Match
	Receivers []string
	Continue  bool
	GroupWait time.Duration
	// RepeatInterval renotifies alerts still open; 0 never does.
	RepeatInterval time.Duration
}

// Match selects messages. Empty lists match everything.
type Match struct {
	// Level is the lowest level matched ("" matches all).
	Level  string
	MSPs   []string
	Tenant []string
	// Tags match when the alert has any of them.
	Tags  []string
	Kinds []string
}

// Matches reports whether m is selected.
func (mt *Match) Matches(m *alert.Message) bool {
	if mt.Level != "" && LevelRank(m.Alert.Level) < LevelRank(mt.Level) {
		return false
	}
	if len(mt.MSPs) > 0 && !slices.Contains(mt.MSPs, m.Alert.MSP) {
		return false
	}
	if len(mt.Tenant) > 0 && !slices.Contains(mt.Tenant, m.Alert.Tenant) {
		return false
	}
	if len(mt.Tags) > 0 && !slices.ContainsFunc(m.Alert.Tags, func(t string) bool { return slices.Contains(mt.Tags, t) }) {
		return false
	}
	kinds := mt.Kinds
	if len(kinds) == 0 {
		kinds = DefaultKinds
	}
	return slices.Contains(kinds, m.Kind)
}

// Route returns the routes m goes to, Alertmanager's way: in order, the
// first match ends the search unless it says continue.
func (c *Config) Route(m *alert.Message) []*Route {
	var out []*Route
	for i := range c.Routes {
		r := &c.Routes[i]
		if !r.Match.Matches(m) {
			continue
		}
		out = append(out, r)
		if !r.Continue {
			break
		}
	}
	return out
}

// Receiver returns the receiver called name.
func (c *Config) Receiver(name string) *ReceiverConfig {
	for i := range c.Receivers {
		if c.Receivers[i].Name == name {
			return &c.Receivers[i]
		}
	}
	return nil
}

// MinGroupWait is the shortest group_wait of the routes: how long the
// consumer gathers a batch.
func (c *Config) MinGroupWait() time.Duration {
	d := time.Duration(-1)
	for _, r := range c.Routes {
		if d < 0 || r.GroupWait < d {
			d = r.GroupWait
		}
	}
	return max(d, 0)
}

// LintError is the list of problems of a config file, each "file:line: msg".
type LintError struct{ Problems []string }

func (e *LintError) Error() string { return strings.Join(e.Problems, "\n") }

// LoadFile reads and validates a config file. Its error lists every
// problem with file:line (a *LintError, or a *yamlbound.Error). Secrets
// are not resolved (see Resolve): lint runs where they are not.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("notify config: %w", err)
	}
	return Parse(data, path)
}

// Parse validates a config file's content; file names it in errors.
func Parse(data []byte, file string) (*Config, error) {
	docs, err := yamlbound.Decode(data, file, FileLimits)
	if err != nil {
		return nil, err
	}
	p := &parser{file: file}
	cfg := &Config{File: file}
	if len(docs) == 0 || len(docs[0].Content) == 0 {
		p.errf(nil, "empty config: it needs receivers and routes")
		return nil, p.result()
	}
	p.config(docs[0].Content[0], cfg)
	if err := p.result(); err != nil {
		return nil, err
	}
	return cfg, nil
}

type parser struct {
	file     string
	problems []string
}

func (p *parser) errf(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	msg := fmt.Sprintf(format, args...)
	if line == 0 {
		p.problems = append(p.problems, fmt.Sprintf("%s: %s", p.file, msg))
		return
	}
	p.problems = append(p.problems, fmt.Sprintf("%s:%d: %s", p.file, line, msg))
}

func (p *parser) result() error {
	if len(p.problems) == 0 {
		return nil
	}
	return &LintError{Problems: p.problems}
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// fields returns a mapping's values by key, reporting keys not in allowed
// and duplicates.
func (p *parser) fields(n *yaml.Node, what string, allowed ...string) map[string]*yaml.Node {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errf(n, "%s must be a mapping", what)
		return nil
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		switch {
		case !slices.Contains(allowed, k.Value):
			p.errf(k, "%s: unknown key %q (known: %s)", what, k.Value, strings.Join(allowed, ", "))
		case out[k.Value] != nil:
			p.errf(k, "%s: duplicate key %q", what, k.Value)
		default:
			// Keep the key's line on the value when the value is a
			// block collection starting on the next line.
			out[k.Value] = v
		}
	}
	return out
}

func (p *parser) str(n *yaml.Node, what string) string {
	if n = deref(n); n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errf(n, "%s must be a string", what)
		return ""
	}
	return n.Value
}

func (p *parser) strs(n *yaml.Node, what string) []string {
	n = deref(n)
	if n.Kind == yaml.ScalarNode {
		return []string{p.str(n, what)}
	}
	if n.Kind != yaml.SequenceNode {
		p.errf(n, "%s must be a string or a list of strings", what)
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		if s := p.str(c, what); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) dur(n *yaml.Node, what string, lo, hi time.Duration) time.Duration {
	s := p.str(n, what)
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.errf(n, "%s: %q is not a duration (e.g. 30s, 5m, 4h)", what, s)
		return 0
	}
	if d < lo || d > hi {
		p.errf(n, "%s: %s is outside [%s, %s]", what, d, lo, hi)
	}
	return d
}

func (p *parser) integer(n *yaml.Node, what string, lo, hi int) int {
	s := p.str(n, what)
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		p.errf(n, "%s: %q must be an integer in [%d, %d]", what, s, lo, hi)
		return 0
	}
	return v
}

func (p *parser) boolean(n *yaml.Node, what string) bool {
	s := p.str(n, what)
	v, err := strconv.ParseBool(s)
	if err != nil {
		p.errf(n, "%s: %q must be true or false", what, s)
	}
	return v
}

func (p *parser) config(root *yaml.Node, cfg *Config) {
	f := p.fields(root, "config", "defaults", "retry", "receivers", "routes")
	if f == nil {
		return
	}
	groupWait, repeat := DefaultGroupWait, DefaultRepeatInterval
	if n := f["defaults"]; n != nil {
		d := p.fields(n, "defaults", "group_wait", "repeat_interval")
		if v := d["group_wait"]; v != nil {
			groupWait = p.dur(v, "defaults.group_wait", 0, MaxGroupWait)
		}
		if v := d["repeat_interval"]; v != nil {
			repeat = p.dur(v, "defaults.repeat_interval", 0, 30*24*time.Hour)
		}
	}
	cfg.Retry = Retry{MaxAttempts: DefaultMaxAttempts, InitialBackoff: DefaultInitialBackoff, MaxBackoff: DefaultMaxBackoff, Timeout: DefaultTimeout}
	if n := f["retry"]; n != nil {
		r := p.fields(n, "retry", "max_attempts", "initial_backoff", "max_backoff", "timeout")
		if v := r["max_attempts"]; v != nil {
			cfg.Retry.MaxAttempts = p.integer(v, "retry.max_attempts", 1, 100)
		}
		if v := r["initial_backoff"]; v != nil {
			cfg.Retry.InitialBackoff = p.dur(v, "retry.initial_backoff", time.Millisecond, time.Hour)
		}
		if v := r["max_backoff"]; v != nil {
			cfg.Retry.MaxBackoff = p.dur(v, "retry.max_backoff", time.Millisecond, time.Hour)
		}
		if v := r["timeout"]; v != nil {
			cfg.Retry.Timeout = p.dur(v, "retry.timeout", 10*time.Millisecond, 5*time.Minute)
		}
		if cfg.Retry.MaxBackoff < cfg.Retry.InitialBackoff {
			p.errf(n, "retry: max_backoff %s is below initial_backoff %s", cfg.Retry.MaxBackoff, cfg.Retry.InitialBackoff)
		}
		var budget time.Duration
		for a := 1; a <= cfg.Retry.MaxAttempts; a++ {
			budget += cfg.Retry.Timeout
			if a < cfg.Retry.MaxAttempts {
				budget += cfg.Retry.Backoff(a)
			}
		}
		if budget > maxRetryBudget {
			p.errf(n, "retry: attempts, timeouts and backoffs add up to %s, above %s (the batch's offsets wait for them)", budget, maxRetryBudget)
		}
	}
	if n := f["receivers"]; n == nil {
		p.errf(root, "config: receivers is required")
	} else if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.errf(n, "receivers must be a non-empty list")
	} else {
		for _, rn := range n.Content {
			if r, ok := p.receiver(deref(rn)); ok {
				if cfg.Receiver(r.Name) != nil {
					p.errf(rn, "receiver %q: defined twice", r.Name)
					continue
				}
				cfg.Receivers = append(cfg.Receivers, r)
			}
		}
	}
	if n := f["routes"]; n == nil {
		p.errf(root, "config: routes is required")
	} else if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.errf(n, "routes must be a non-empty list")
	} else {
		for i, rn := range n.Content {
			r := p.route(deref(rn), i, cfg, groupWait, repeat)
			for _, o := range cfg.Routes {
				if o.Name == r.Name {
					p.errf(rn, "route %q: defined twice", r.Name)
				}
			}
			cfg.Routes = append(cfg.Routes, r)
		}
	}
}

func (p *parser) receiver(n *yaml.Node) (ReceiverConfig, bool) {
	f := p.fields(n, "receiver", "name", "type", "url", "secret", "routing_key",
		"smtp_host", "smtp_port", "username", "password", "from", "to", "ca_file")
	if f == nil {
		return ReceiverConfig{}, false
	}
	r := ReceiverConfig{Line: n.Line}
	if v := f["name"]; v != nil {
		r.Name = p.str(v, "receiver name")
	}
	if r.Name == "" {
		p.errf(n, "receiver: name is required")
		return r, false
	}
	what := fmt.Sprintf("receiver %q", r.Name)
	if v := f["type"]; v != nil {
		r.Type = p.str(v, what+": type")
	}
	types := []string{TypeWebhook, TypeSlack, TypeTeams, TypePagerDuty, TypeEmail}
	if !slices.Contains(types, r.Type) {
		p.errf(n, "%s: type must be one of %s", what, strings.Join(types, ", "))
		return r, false
	}
	// Keys that belong to other types are mistakes, not extras to ignore.
	allowed := map[string][]string{
		TypeWebhook:   {"url", "secret"},
		TypeSlack:     {"url"},
		TypeTeams:     {"url"},
		TypePagerDuty: {"url", "routing_key"},
		TypeEmail:     {"smtp_host", "smtp_port", "username", "password", "from", "to", "ca_file"},
	}[r.Type]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if k != "name" && k != "type" && !slices.Contains(allowed, k) {
			p.errf(n.Content[i], "%s: %q does not apply to type %s", what, k, r.Type)
		}
	}
	require := func(key string) *yaml.Node {
		v := f[key]
		if v == nil {
			p.errf(n, "%s: %s is required for type %s", what, key, r.Type)
		}
		return v
	}
	switch r.Type {
	case TypeWebhook:
		if v := require("url"); v != nil {
			r.URL = p.endpoint(v, what+": url")
		}
		if v := require("secret"); v != nil {
			r.Secret = p.secretRef(v, what+": secret")
		}
	case TypeSlack, TypeTeams:
		// These URLs are the credential: whoever has one can post.
		if v := require("url"); v != nil {
			r.URLRef = p.secretRef(v, what+": url")
		}
	case TypePagerDuty:
		r.URL = DefaultPagerDutyURL
		if v := f["url"]; v != nil {
			r.URL = p.endpoint(v, what+": url")
		}
		if v := require("routing_key"); v != nil {
			r.RoutingKey = p.secretRef(v, what+": routing_key")
		}
	case TypeEmail:
		if v := require("smtp_host"); v != nil {
			r.SMTPHost = p.str(v, what+": smtp_host")
		}
		r.SMTPPort = 587
		if v := f["smtp_port"]; v != nil {
			r.SMTPPort = p.integer(v, what+": smtp_port", 1, 65535)
		}
		if v := f["username"]; v != nil {
			r.Username = p.str(v, what+": username")
		}
		if v := f["password"]; v != nil {
			r.Password = p.secretRef(v, what+": password")
			if r.Username == "" {
				p.errf(v, "%s: password without username", what)
			}
		}
		if v := require("from"); v != nil {
			r.From = p.address(v, what+": from")
		}
		if v := require("to"); v != nil {
			for _, s := range p.strs(v, what+": to") {
				if _, err := mail.ParseAddress(s); err != nil {
					p.errf(v, "%s: to: %q is not an address", what, s)
					continue
				}
				r.To = append(r.To, s)
			}
			if len(r.To) == 0 {
				p.errf(v, "%s: to needs at least one address", what)
			}
		}
		if v := f["ca_file"]; v != nil {
			r.CAFile = p.str(v, what+": ca_file")
		}
	}
	return r, true
}

func (p *parser) address(n *yaml.Node, what string) string {
	s := p.str(n, what)
	if _, err := mail.ParseAddress(s); err != nil {
		p.errf(n, "%s: %q is not an address", what, s)
	}
	return s
}

// endpoint checks a plain URL: https, or http to a loopback address (local
// relays and tests), nothing else in clear text.
func (p *parser) endpoint(n *yaml.Node, what string) string {
	s := p.str(n, what)
	if strings.HasPrefix(s, "env:") || strings.HasPrefix(s, "file:") {
		p.errf(n, "%s: this URL is not a secret; write it in the file", what)
		return ""
	}
	if err := checkEndpoint(s); err != nil {
		p.errf(n, "%s: %v", what, err)
	}
	return s
}

func checkEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return errors.New("not an absolute URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
		return errors.New("http is allowed only to loopback addresses; use https")
	}
	return fmt.Errorf("scheme %q: use https", u.Scheme)
}

func (p *parser) secretRef(n *yaml.Node, what string) *SecretRef {
	s := p.str(n, what)
	ref, err := ParseSecretRef(s)
	if err != nil {
		// The message never quotes s: it may be the secret itself.
		p.errf(n, "%s: %v", what, err)
		return nil
	}
	ref.Line = n.Line
	ref.File = p.file
	ref.What = what
	return ref
}

func (p *parser) route(n *yaml.Node, i int, cfg *Config, groupWait, repeat time.Duration) Route {
	r := Route{Line: n.Line, GroupWait: groupWait, RepeatInterval: repeat, Name: fmt.Sprintf("route-%d", i+1)}
	f := p.fields(n, "route", "name", "match", "receivers", "continue", "group_wait", "repeat_interval")
	if f == nil {
		return r
	}
	if v := f["name"]; v != nil {
		r.Name = p.str(v, "route name")
	}
	what := fmt.Sprintf("route %q", r.Name)
	if v := f["match"]; v != nil {
		m := p.fields(v, what+": match", "level", "msp", "tenant", "tags", "kinds")
		if l := m["level"]; l != nil {
			r.Match.Level = strings.ToLower(p.str(l, what+": match.level"))
			if LevelRank(r.Match.Level) < 0 {
				p.errf(l, "%s: match.level %q is not one of %s", what, r.Match.Level, strings.Join(Levels, ", "))
			}
		}
		if l := m["msp"]; l != nil {
			r.Match.MSPs = p.strs(l, what+": match.msp")
		}
		if l := m["tenant"]; l != nil {
			r.Match.Tenant = p.strs(l, what+": match.tenant")
		}
		if l := m["tags"]; l != nil {
			r.Match.Tags = p.strs(l, what+": match.tags")
		}
		if l := m["kinds"]; l != nil {
			r.Match.Kinds = p.strs(l, what+": match.kinds")
			for _, k := range r.Match.Kinds {
				if !slices.Contains(allKinds, k) {
					p.errf(l, "%s: match.kinds: %q is not one of %s", what, k, strings.Join(allKinds, ", "))
				}
			}
		}
	}
	if v := f["receivers"]; v == nil {
		p.errf(n, "%s: receivers is required", what)
	} else {
		r.Receivers = p.strs(v, what+": receivers")
		if len(r.Receivers) == 0 {
			p.errf(v, "%s: receivers needs at least one receiver", what)
		}
		for i, name := range r.Receivers {
			if cfg.Receiver(name) == nil {
				p.errf(v, "%s: receiver %q is not defined", what, name)
			}
			if slices.Contains(r.Receivers[:i], name) {
				p.errf(v, "%s: receiver %q listed twice", what, name)
			}
		}
	}
	if v := f["continue"]; v != nil {
		r.Continue = p.boolean(v, what+": continue")
	}
	if v := f["group_wait"]; v != nil {
		r.GroupWait = p.dur(v, what+": group_wait", 0, MaxGroupWait)
	}
	if v := f["repeat_interval"]; v != nil {
		r.RepeatInterval = p.dur(v, what+": repeat_interval", 0, 30*24*time.Hour)
	}
	if r.RepeatInterval > 0 && r.RepeatInterval < time.Minute {
		p.errf(n, "%s: repeat_interval %s is below 1m (0 turns renotifying off)", what, r.RepeatInterval)
	}
	return r
}
