package poll

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tripline/tripline/yamlbound"
)

// Source kinds, the values of --source and of a source's `source:` key.
const (
	NinjaOne    = "ninjaone"
	TeamViewer  = "teamviewer"
	DattoRMM    = "datto-rmm"
	EntraSignIn = "entra-signin"
)

// Kinds lists the source kinds.
func Kinds() []string { return []string{NinjaOne, TeamViewer, DattoRMM, EntraSignIn} }

// FileLimits bound the config file (yamlbound).
var FileLimits = yamlbound.Limits{Kind: "poll config", MaxBytes: 1 << 20, MaxNodes: 20000, MaxDepth: 16, MaxDocuments: 1}

// Defaults of the config file.
const (
	DefaultInterval     = time.Minute
	DefaultTimeout      = 30 * time.Second
	DefaultMaxBodyBytes = 32 << 20
	DefaultMaxAttempts  = 8
	DefaultBackoff      = time.Second
	DefaultMaxBackoff   = 2 * time.Minute
	DefaultMaxRetryWait = 5 * time.Minute
	DefaultOverlap      = 15 * time.Minute
	DefaultLookback     = 24 * time.Hour
	DefaultMaxWindow    = 24 * time.Hour
)

// File is the config file: settings shared by every source, and the
// sources.
type File struct {
	// CheckpointDir holds one checkpoint file per source.
	CheckpointDir string `yaml:"checkpoint_dir"`
	// Interval is the pause between polls once a source is caught up.
	Interval Duration `yaml:"interval"`
	// Timeout bounds one HTTP request, its body included.
	Timeout Duration `yaml:"timeout"`
	// MaxBodyBytes bounds one response body.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxAttempts bounds the tries of one request (429, 5xx, network).
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff is the first retry's upper bound; it doubles per attempt up
	// to MaxBackoff, and the wait is drawn uniformly below it (jitter).
	Backoff    Duration `yaml:"backoff"`
	MaxBackoff Duration `yaml:"max_backoff"`
	// MaxRetryWait caps a vendor's Retry-After.
	MaxRetryWait Duration `yaml:"max_retry_wait"`
	Sources      []Source `yaml:"sources"`

	file string
}

// Source is one vendor account polled for one MSP.
type Source struct {
	// Name tells sources apart in logs, metrics and checkpoint files
	// (default KIND-MSP).
	Name   string `yaml:"name"`
	Source string `yaml:"source"`
	MSP    string `yaml:"msp"`
	// URL is the API's base: https://app.ninjarmm.com (or eu., oc., ca.),
	// https://webapi.teamviewer.com, https://graph.microsoft.com/beta,
	// https://PLATFORM-api.centrastage.net.
	URL string `yaml:"url"`
	// TokenURL is the OAuth token endpoint; the default follows from the
	// kind (and TenantID for Entra).
	TokenURL string `yaml:"token_url"`
	// TenantID is the Entra tenant polled (entra-signin).
	TenantID string `yaml:"tenant_id"`
	// Scope of the OAuth token (NinjaOne: monitoring; Entra:
	// https://graph.microsoft.com/.default).
	Scope string `yaml:"scope"`
	// ClientID is not secret; ClientSecret, Token (TeamViewer's script
	// token), APIKey and APISecret (Datto) are read from the environment
	// or a file, never from this file.
	ClientID     Credential `yaml:"client_id"`
	ClientSecret Credential `yaml:"client_secret"`
	Token        Credential `yaml:"token"`
	APIKey       Credential `yaml:"api_key"`
	APISecret    Credential `yaml:"api_secret"`
	// PageSize is the records asked for per page, where the API takes it.
	PageSize int `yaml:"page_size"`
	// Overlap re-reads the end of the last window (time-cursor sources).
	Overlap Duration `yaml:"overlap"`
	// Lookback is how far back the first poll (no checkpoint) starts
	// (time-cursor sources).
	Lookback Duration `yaml:"lookback"`
	// MaxWindow bounds one window, so that a long outage catches up in
	// pieces whose checkpoints are durable.
	MaxWindow Duration `yaml:"max_window"`
	// Delay keeps the window's end this far behind now (records the vendor
	// has not indexed yet).
	Delay Duration `yaml:"delay"`
	// StartAfterID starts a NinjaOne source without checkpoint after this
	// activity ID instead of at the start of the retained history.
	StartAfterID int64 `yaml:"start_after_id"`
	// Connections (TeamViewer; default true) also polls the connection
	// reports, GET /api/v1/reports/connections, as a source of its own
	// named NAME-connections (checkpoint, metrics), besides the event log.
	Connections *bool `yaml:"connections"`
	// JobComponents (Datto RMM; default true) looks up the components of
	// each job an activity names (GET /api/v2/job/{uid}/components and
	// /api/v2/account/components) and adds their names and category to
	// the activity's details, which say which job ran but not whether it
	// deploys software.
	JobComponents *bool `yaml:"job_components"`
	// endpoint is "connections" for the connection reports' runner.
	endpoint string

	line int
}

// Duration is a time.Duration written as "90s" or "15m" in YAML.
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 90s, 15m, 24h)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// Credential is where a value is read from: exactly one of env (an
// environment variable), file (its content, trimmed) or, for values that
// are not secret (client_id), value.
type Credential struct {
	Env   string `yaml:"env"`
	File  string `yaml:"file"`
	Value string `yaml:"value"`

	line int
}

// UnmarshalYAML keeps the line for errors and refuses unknown keys.
func (c *Credential) UnmarshalYAML(n *yaml.Node) error {
	type plain Credential
	var p plain
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a credential is a mapping {env: NAME} or {file: PATH}", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch k := n.Content[i].Value; k {
		case "env", "file", "value":
		default:
			return fmt.Errorf("line %d: field %s not found in a credential (env, file, value)", n.Content[i].Line, k)
		}
	}
	if err := n.Decode(&p); err != nil {
		return err
	}
	*c = Credential(p)
	c.line = n.Line
	return nil
}

func (c Credential) set() bool { return c.Env != "" || c.File != "" || c.Value != "" }

// secret is a credential's value. It prints as "REDACTED" so that a
// struct holding one cannot leak it through a log line or %v.
type secret string

func (secret) String() string   { return "REDACTED" }
func (secret) GoString() string { return "REDACTED" }

// resolve reads the credential; secretKind refuses a literal value (the
// config file is not a secret store).
func (c Credential) resolve(file, what string, secretKind bool) (secret, error) {
	n := 0
	for _, s := range []string{c.Env, c.File, c.Value} {
		if s != "" {
			n++
		}
	}
	where := fmt.Sprintf("%s:%d: %s", file, c.line, what)
	switch {
	case n != 1:
		return "", fmt.Errorf("%s: give exactly one of env, file or value", where)
	case c.Value != "" && secretKind:
		return "", fmt.Errorf("%s: a secret is read from env or file, never written in the config", where)
	case c.Value != "":
		return secret(c.Value), nil
	case c.Env != "":
		v, ok := os.LookupEnv(c.Env)
		if !ok || strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("%s: environment variable %s is not set", where, c.Env)
		}
		return secret(strings.TrimSpace(v)), nil
	}
	b, err := os.ReadFile(c.File)
	if err != nil {
		// The path is not secret; the error of ReadFile names only it.
		return "", fmt.Errorf("%s: %w", where, err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "", fmt.Errorf("%s: %s is empty", where, c.File)
	}
	return secret(bytes.TrimSpace(b)), nil
}

var (
	mspRe  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

// LoadFile reads and checks a config file.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("poll config: %w", err)
	}
	return ParseFile(data, path)
}

// ParseFile parses a config file (file names it in errors): bounded by
// FileLimits, unknown keys refused at file:line, every source checked.
func ParseFile(data []byte, file string) (*File, error) {
	docs, err := yamlbound.Decode(data, file, FileLimits)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("%s: want one YAML document, found %d", file, len(docs))
	}
	var f File
	if err := yamlbound.UnmarshalStrict(data, file, FileLimits, &f); err != nil {
		return nil, err
	}
	f.file = file
	// Lines of the sources, for errors found after decoding.
	if root := docs[0]; root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		m := root.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "sources" && m.Content[i+1].Kind == yaml.SequenceNode {
				for j, n := range m.Content[i+1].Content {
					if j < len(f.Sources) {
						f.Sources[j].line = n.Line
					}
				}
			}
		}
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	return &f, nil
}

func (f *File) check() error {
	if f.CheckpointDir == "" {
		return fmt.Errorf("%s: checkpoint_dir is required", f.file)
	}
	def := func(d *Duration, v time.Duration) {
		if *d == 0 {
			*d = Duration(v)
		}
	}
	def(&f.Interval, DefaultInterval)
	def(&f.Timeout, DefaultTimeout)
	def(&f.Backoff, DefaultBackoff)
	def(&f.MaxBackoff, DefaultMaxBackoff)
	def(&f.MaxRetryWait, DefaultMaxRetryWait)
	if f.MaxBodyBytes <= 0 {
		f.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if f.MaxAttempts <= 0 {
		f.MaxAttempts = DefaultMaxAttempts
	}
	if len(f.Sources) == 0 {
		return fmt.Errorf("%s: no sources", f.file)
	}
	var errs []error
	names := map[string]bool{}
	for i := range f.Sources {
		s := &f.Sources[i]
		if err := s.check(); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: source %d: %w", f.file, s.line, i+1, err))
			continue
		}
		if names[s.Name] {
			errs = append(errs, fmt.Errorf("%s:%d: source %d: name %s used twice (it names the checkpoint file)", f.file, s.line, i+1, s.Name))
		}
		names[s.Name] = true
		def(&s.Overlap, DefaultOverlap)
		def(&s.Lookback, DefaultLookback)
		def(&s.MaxWindow, DefaultMaxWindow)
	}
	return errors.Join(errs...)
}

// Maximum page sizes the vendors document or that we assume (docs/sources.md).
var maxPageSize = map[string]int{NinjaOne: 1000, EntraSignIn: 1000, DattoRMM: 250, TeamViewer: 0}

var defaultPageSize = map[string]int{NinjaOne: 500, EntraSignIn: 500, DattoRMM: 250, TeamViewer: 0}

func (s *Source) check() error {
	if _, ok := maxPageSize[s.Source]; !ok {
		return fmt.Errorf("source %q: want one of %s", s.Source, strings.Join(Kinds(), ", "))
	}
	if !mspRe.MatchString(s.MSP) {
		return fmt.Errorf("msp %q: want letters, digits, '.', '_' or '-'", s.MSP)
	}
	if s.Name == "" {
		s.Name = s.Source + "-" + s.MSP
	}
	if !nameRe.MatchString(s.Name) {
		return fmt.Errorf("name %q: want letters, digits, '.', '_' or '-'", s.Name)
	}
	if s.URL == "" {
		return errors.New("url is required")
	}
	for _, u := range []string{s.URL, s.TokenURL} {
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.User != nil {
			return fmt.Errorf("url %q: want an http(s) URL without credentials", u)
		}
	}
	if s.Connections != nil && s.Source != TeamViewer {
		return fmt.Errorf("connections: only a teamviewer source has connection reports")
	}
	if s.JobComponents != nil && s.Source != DattoRMM {
		return fmt.Errorf("job_components: only a datto-rmm source has jobs")
	}
	if s.PageSize < 0 || (maxPageSize[s.Source] > 0 && s.PageSize > maxPageSize[s.Source]) {
		return fmt.Errorf("page_size %d: at most %d for %s", s.PageSize, maxPageSize[s.Source], s.Source)
	}
	if s.PageSize == 0 {
		s.PageSize = defaultPageSize[s.Source]
	}
	need := func(c Credential, key string) error {
		if !c.set() {
			return fmt.Errorf("%s is required for %s", key, s.Source)
		}
		return nil
	}
	switch s.Source {
	case NinjaOne:
		return errors.Join(need(s.ClientID, "client_id"), need(s.ClientSecret, "client_secret"))
	case EntraSignIn:
		if s.TenantID == "" && s.TokenURL == "" {
			return errors.New("tenant_id is required for entra-signin")
		}
		return errors.Join(need(s.ClientID, "client_id"), need(s.ClientSecret, "client_secret"))
	case TeamViewer:
		return need(s.Token, "token")
	case DattoRMM:
		return errors.Join(need(s.APIKey, "api_key"), need(s.APISecret, "api_secret"))
	}
	return nil
}

// Select returns the sources of kind.
func (f *File) Select(kind string) []Source {
	var out []Source
	for _, s := range f.Sources {
		if s.Source == kind {
			out = append(out, s)
		}
	}
	return out
}

// where is a source's position in its file, for errors.
func (s *Source) where(file string) string {
	return file + ":" + strconv.Itoa(s.line) + ": source " + s.Name
}
