package adapt

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/yamlbound"
)

// MappingLimits bound a mapping file: a mapping is a page of YAML, and a
// file far past these is a mistake or an attack, not a vendor.
var MappingLimits = yamlbound.Limits{Kind: "mapping file", MaxBytes: 1 << 20, MaxNodes: 50_000, MaxDepth: 16, MaxDocuments: 1}

// Mapping is an adapter an operator declares in a YAML file (docs/sources.md,
// "User-defined mappings") rather than one compiled into tripline: for a
// vendor without a built-in adapter (Kaseya VSA, N-central, an in-house
// tool). It converts records with the same driver as the built-in adapters
// (same splitting of pages and arrays, same checks, unread fields kept in
// attributes), so ingest, receive and convert treat both alike.
type Mapping struct {
	file     string
	name     string
	tool     string
	listKeys []string
	id       []mpath
	time     timeSpec
	rules    []mapRule
	// skipUnmatched: a record no rule matches is skipped rather than
	// rejected.
	skipUnmatched bool
}

// mpath is a dotted path into a record ("status.code"), possibly through
// arrays and JSON strings ("details@json.items[0].name", mapping_path.go).
type mpath struct {
	text string
	segs []string
	// steps are set for a path with @json or [N] segments.
	steps []step
}

type timeSpec struct {
	path    mpath
	layouts []timeLayout
	loc     *time.Location
}

type timeLayout struct {
	// epoch is 1 (seconds) or 1000 (milliseconds); 0 for a layout.
	epoch  int64
	layout string
}

type mapRule struct {
	line int
	when []cond
	// skip, when set, says why records this rule matches give no event.
	skip string
	set  []setter
}

// Comparisons of conditions and value tables: vendor enums differ in
// case between API versions and exports, so all compare case-insensitively.
const (
	opEquals = iota
	opPrefix
	opContains
	opPresent
	opAbsent
)

type cond struct {
	path mpath
	op   int
	vals []string
}

type setter struct {
	field string
	line  int
	src   source
}

// source is where a field's value comes from: a path, a constant or a
// template, optionally looked up in a value table.
type source struct {
	path     mpath
	constant string
	isConst  bool
	tmpl     []tmplPart
	table    []tableEntry
	match    int
	def      string
	hasDef   bool
	required bool
}

type tmplPart struct {
	lit  string
	path mpath
}

type tableEntry struct{ from, to string }

// fieldKinds are the contract fields a mapping may set, with how a value
// is checked: text, int, bool, ip, country, sha256, or an enum.
var fieldKinds = map[string]string{
	"event_type": "event_type", "tenant": "text", "outcome": "outcome", "reason": "text",
	"actor.user": "text", "actor.ip": "ip", "actor.country": "country", "actor.asn": "int",
	"actor.mfa": "bool", "actor.role": "text",
	"target.host": "text", "target.host_count": "int", "target.os": "text",
	"session.id": "text", "session.duration_s": "int", "session.auth_method": "text",
	"credential.name": "text", "credential.privileged": "bool",
	"package.name": "text", "package.version": "text", "package.sha256": "sha256",
	"package.signer": "text", "package.signed": "bool",
	"script.name": "text", "script.sha256": "sha256", "script.interpreter": "text", "script.command": "text",
	"source.url": "text", "change.ticket": "text",
}

// LoadMapping reads a mapping file.
func LoadMapping(file string) (*Mapping, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	return ParseMapping(data, file)
}

// ParseMapping reads a mapping file's content; file names it in errors,
// which are every problem found, each at its file:line.
func ParseMapping(data []byte, file string) (*Mapping, error) {
	docs, err := yamlbound.Decode(data, file, MappingLimits)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 || len(docs[0].Content) == 0 {
		return nil, &yamlbound.Error{File: file, Msg: "empty mapping file"}
	}
	p := &mparser{file: file}
	m := p.mapping(docs[0].Content[0])
	if len(p.errs) > 0 {
		// In file order, as an editor lists them.
		slices.SortStableFunc(p.errs, func(a, b error) int {
			ea, eb := a.(*yamlbound.Error), b.(*yamlbound.Error)
			if ea.Line != eb.Line {
				return ea.Line - eb.Line
			}
			return ea.Col - eb.Col
		})
		return nil, errors.Join(p.errs...)
	}
	return m, nil
}

// Name is the format name the file declares.
func (m *Mapping) Name() string { return m.name }

// File is the file the mapping was read from.
func (m *Mapping) File() string { return m.file }

// Convert converts one input value (a record, an array or a page under one
// of the file's record keys).
func (m *Mapping) Convert(raw []byte, msp string, emit func(Out) error) error {
	return run(m.name, raw, msp, m.listKeys, m.record, emit)
}

// used is a field a mapping read into the event: consumed once the event
// is built, so that it is not kept in attributes as well.
type used struct {
	r *rec
	k string
}

func (m *Mapping) record(r *rec, msp string) ([]*contract.Event, string, error) {
	var marks [8]used
	u := marks[:0]
	if len(m.id) > 0 {
		var b strings.Builder
		for i, p := range m.id {
			v, owner, err := lookup(r, p)
			if err != nil {
				return nil, "", err
			}
			s, _ := text(v)
			s = strings.TrimSpace(s)
			if s == "" {
				return nil, "", errorf("no id (%s)", p.text)
			}
			if i > 0 {
				b.WriteByte('/')
			}
			b.WriteString(s)
			u = append(u, used{owner, p.segs[len(p.segs)-1]})
		}
		r.id = b.String()
	}
	var rule *mapRule
	for i := range m.rules {
		if m.rules[i].matches(r) {
			rule = &m.rules[i]
			break
		}
	}
	if rule == nil {
		if m.skipUnmatched {
			return nil, "no rule of the mapping matches", nil
		}
		return nil, "", fmt.Errorf("%w: no rule of mapping %s matches the record", ErrUnmapped, m.name)
	}
	if rule.skip != "" {
		return nil, rule.skip, nil
	}
	ev := r.newEvent("", "", msp, m.tool)
	if r.id != "" {
		ev.EventID = m.name + ":" + r.id
	}
	v, owner, err := lookup(r, m.time.path)
	if err != nil {
		return nil, "", err
	}
	if ev.Time, err = m.time.parse(v); err != nil {
		return nil, "", errorf("%s: %v", m.time.path.text, err)
	}
	u = append(u, used{owner, m.time.path.segs[len(m.time.path.segs)-1]})
	for i := range rule.set {
		s := &rule.set[i]
		val, err := s.src.value(r, &u)
		if err != nil {
			return nil, "", errorf("%s: %v", s.field, err)
		}
		if val == "" {
			if s.src.required {
				return nil, "", errorf("%s: required, %s is absent or empty", s.field, s.src.describe())
			}
			continue
		}
		if err := setField(ev, r.attrsOf(ev), s.field, val); err != nil {
			return nil, "", errorf("%s: %v", s.field, err)
		}
	}
	if ev.EventType == "" {
		return nil, "", errorf("event_type: no value")
	}
	for _, x := range u {
		x.r.take(x.k)
	}
	return r.events(ev), "", nil
}

// lookup finds a path's raw value without consuming it; owner is the
// object holding its last segment. Objects on the way become the record's
// children, so that their unread fields are kept as "a.b.field". An
// absent path is an empty value; a path through a non-object is an error.
func lookup(r *rec, p mpath) (v string, owner *rec, err error) {
	if p.steps != nil {
		return lookupSteps(r, p)
	}
	cur := r
	last := len(p.segs) - 1
	for _, seg := range p.segs[:last] {
		next, err := cur.descend(seg, p.text)
		if next == nil {
			return "", cur, err
		}
		cur = next
	}
	v = cur.raw(p.segs[last])
	if isNull(v) {
		return "", cur, nil
	}
	return v, cur, nil
}

func (c *cond) holds(r *rec) bool {
	v, _, err := lookup(r, c.path)
	if err != nil {
		return false
	}
	switch c.op {
	case opPresent:
		return v != ""
	case opAbsent:
		return v == ""
	}
	if v == "" {
		return false
	}
	s, ok := text(v)
	if !ok {
		return false
	}
	s = strings.TrimSpace(s)
	for _, want := range c.vals {
		if matchText(c.op, s, want) {
			return true
		}
	}
	return false
}

func matchText(op int, s, want string) bool {
	switch op {
	case opPrefix:
		return len(s) >= len(want) && strings.EqualFold(s[:len(want)], want)
	case opContains:
		for i := 0; i+len(want) <= len(s); i++ {
			if strings.EqualFold(s[i:i+len(want)], want) {
				return true
			}
		}
		return false
	}
	return strings.EqualFold(s, want)
}

func (m *mapRule) matches(r *rec) bool {
	for i := range m.when {
		if !m.when[i].holds(r) {
			return false
		}
	}
	return true
}

// value resolves a source for one record; "" means no value. Paths it read
// are added to u.
func (s *source) value(r *rec, u *[]used) (string, error) {
	var val string
	switch {
	case s.isConst:
		return s.constant, nil
	case s.tmpl != nil:
		var b strings.Builder
		for _, part := range s.tmpl {
			if part.path.segs == nil {
				b.WriteString(part.lit)
				continue
			}
			v, owner, err := lookup(r, part.path)
			if err != nil {
				return "", err
			}
			t, ok := text(v)
			if !ok {
				return "", fmt.Errorf("%s is %s, not a scalar", part.path.text, kind(v))
			}
			if t = strings.TrimSpace(t); t == "" {
				// A template with a part missing would be a wrong
				// identifier ("kaseya-vsa:agent:"), not a partial one.
				return "", nil
			}
			b.WriteString(t)
			*u = append(*u, used{owner, part.path.segs[len(part.path.segs)-1]})
		}
		val = b.String()
	default:
		v, owner, err := lookup(r, s.path)
		if err != nil {
			return "", err
		}
		if v == "" {
			break
		}
		t, ok := text(v)
		if !ok {
			return "", fmt.Errorf("%s is %s, not a scalar", s.path.text, kind(v))
		}
		val = strings.TrimSpace(t)
		*u = append(*u, used{owner, s.path.segs[len(s.path.segs)-1]})
	}
	if s.table == nil {
		return val, nil
	}
	if val == "" {
		if s.hasDef {
			return s.def, nil
		}
		return "", nil
	}
	for _, e := range s.table {
		if matchText(s.match, val, e.from) {
			return e.to, nil
		}
	}
	if s.hasDef {
		return s.def, nil
	}
	// Nothing is guessed: a value the table does not list is the
	// operator's to map.
	return "", fmt.Errorf("%w: %q is not in the value table of %s", ErrUnmapped, short(val), s.describe())
}

func (s *source) describe() string {
	switch {
	case s.isConst:
		return "the constant"
	case s.tmpl != nil:
		var b strings.Builder
		for _, p := range s.tmpl {
			if p.path.segs != nil {
				b.WriteString("{" + p.path.text + "}")
			} else {
				b.WriteString(p.lit)
			}
		}
		return "template " + strconv.Quote(b.String())
	}
	return s.path.text
}

func (t *timeSpec) parse(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, errors.New("no time")
	}
	s, ok := text(v)
	if !ok {
		return time.Time{}, fmt.Errorf("expected a time, got %s", kind(v))
	}
	s = strings.TrimSpace(s)
	for _, l := range t.layouts {
		var tm time.Time
		var err error
		switch {
		case l.epoch != 0:
			tm, err = parseEpoch(s, l.epoch)
		case l.layout == time.RFC3339Nano:
			tm, err = time.Parse(time.RFC3339Nano, s)
		default:
			tm, err = time.ParseInLocation(l.layout, s, t.loc)
		}
		if err == nil {
			return tm, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q matches none of the mapping's layouts", short(s))
}

func setField(ev *contract.Event, at *attrs, field, v string) error {
	if k, ok := strings.CutPrefix(field, "attributes."); ok {
		at.put(k, v)
		return nil
	}
	switch fieldKinds[field] {
	case "int":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%q is not a whole number ≥ 0", short(v))
		}
		switch field {
		case "actor.asn":
			ev.Actor.ASN = &n
		case "target.host_count":
			ev.Target.HostCount = &n
		case "session.duration_s":
			ev.Session.DurationS = &n
		}
		return nil
	case "bool":
		var b bool
		switch strings.ToLower(v) {
		case "true", "yes", "1":
			b = true
		case "false", "no", "0":
		default:
			return fmt.Errorf("%q is not a boolean", short(v))
		}
		switch field {
		case "actor.mfa":
			ev.Actor.MFA = &b
		case "credential.privileged":
			ev.Credential.Privileged = &b
		case "package.signed":
			ev.Package.Signed = &b
		}
		return nil
	case "event_type":
		if contract.FamilyOf(v) == contract.FamilyUnknown {
			return fmt.Errorf("%q is not a contract v1 event type", short(v))
		}
		ev.EventType = v
		return nil
	case "outcome":
		if v != "success" && v != "failure" {
			return fmt.Errorf("%q is neither success nor failure", short(v))
		}
		ev.Outcome = v
		return nil
	}
	switch field {
	case "tenant":
		ev.Tenant = v
	case "reason":
		ev.Reason = v
	case "actor.user":
		ev.Actor.User = v
	case "actor.ip":
		ev.Actor.IP = ip(v, at, "actor.ip")
	case "actor.country":
		ev.Actor.Country = country(v, at, "actor.country")
	case "actor.role":
		ev.Actor.Role = v
	case "target.host":
		ev.Target.Host = v
	case "target.os":
		ev.Target.OS = v
	case "session.id":
		ev.Session.ID = v
	case "session.auth_method":
		ev.Session.AuthMethod = v
	case "credential.name":
		ev.Credential.Name = v
	case "package.name":
		ev.Package.Name = v
	case "package.version":
		ev.Package.Version = v
	case "package.sha256":
		ev.Package.SHA256 = sha256Hex(v, at, "package.sha256")
	case "package.signer":
		ev.Package.Signer = v
	case "script.name":
		ev.Script.Name = v
	case "script.sha256":
		ev.Script.SHA256 = sha256Hex(v, at, "script.sha256")
	case "script.interpreter":
		ev.Script.Interpreter = v
	case "script.command":
		ev.Script.Command = v
	case "source.url":
		ev.Source.URL = v
	case "change.ticket":
		ev.Change.Ticket = v
	}
	return nil
}

// mparser reads a mapping file's YAML tree, collecting every error with
// its position.
type mparser struct {
	file string
	errs []error
}

func (p *mparser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, &yamlbound.Error{File: p.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)})
}

// fields returns a mapping node's key/value pairs, refusing unknown and
// repeated keys.
func (p *mparser) fields(n *yaml.Node, what string, known ...string) map[string]*yaml.Node {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: expected a mapping", what)
		return nil
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		switch {
		case known != nil && !slices.Contains(known, k.Value):
			p.errorf(k, "%s: unknown key %q (known: %s)", what, k.Value, strings.Join(known, ", "))
		case out[k.Value] != nil:
			p.errorf(k, "%s: key %q repeated", what, k.Value)
		default:
			out[k.Value] = v
		}
	}
	return out
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return deref(n.Content[0])
	}
	return n
}

func (p *mparser) scalar(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "%s: expected a single value", what)
		return ""
	}
	return n.Value
}

// scalars reads a value or a list of values.
func (p *mparser) scalars(n *yaml.Node, what string) []string {
	if n.Kind == yaml.SequenceNode {
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			out = append(out, p.scalar(deref(c), what))
		}
		if len(out) == 0 {
			p.errorf(n, "%s: empty list", what)
		}
		return out
	}
	return []string{p.scalar(n, what)}
}

func (p *mparser) path(n *yaml.Node, what string) mpath {
	s := strings.TrimSpace(p.scalar(n, what))
	mp, err := parsePath(s)
	if err != nil {
		p.errorf(n, "%s: %v", what, err)
		return mpath{text: s, segs: []string{s}}
	}
	return mp
}

var mappingKeys = []string{"format", "tool", "records", "id", "time", "fields", "rules", "unmatched"}

func (p *mparser) mapping(n *yaml.Node) *Mapping {
	f := p.fields(n, "mapping", mappingKeys...)
	if f == nil {
		return nil
	}
	m := &Mapping{file: p.file}
	if v := f["format"]; v == nil {
		p.errorf(n, "format: required (the format name ingest, receive and convert use)")
	} else {
		m.name = p.scalar(v, "format")
		switch {
		case !isSlug(m.name):
			p.errorf(v, "format: %q is not a slug (a-z, 0-9, '-', '_', '.')", m.name)
		case m.name == "contract-v1":
			p.errorf(v, "format: %q is the contract's own format", m.name)
		default:
			if _, builtin := Get(m.name); builtin {
				p.errorf(v, "format: %q is a built-in format", m.name)
			}
		}
	}
	m.tool = m.name
	if v := f["tool"]; v != nil {
		if m.tool = p.scalar(v, "tool"); !isSlug(m.tool) {
			p.errorf(v, "tool: %q is not a slug (a-z, 0-9, '-', '_', '.')", m.tool)
		}
	}
	if v := f["records"]; v != nil {
		m.listKeys = p.scalars(v, "records")
	}
	if v := f["id"]; v != nil {
		for _, c := range listOf(v) {
			m.id = append(m.id, p.path(c, "id"))
		}
	}
	if v := f["time"]; v == nil {
		p.errorf(n, "time: required (the path of the record's time and its layouts)")
	} else {
		m.time = p.timeSpec(v)
	}
	m.skipUnmatched = false
	if v := f["unmatched"]; v != nil {
		switch p.scalar(v, "unmatched") {
		case "reject":
		case "skip":
			m.skipUnmatched = true
		default:
			p.errorf(v, "unmatched: %q is neither reject nor skip", v.Value)
		}
	}
	var common []setter
	if v := f["fields"]; v != nil {
		common = p.setters(v)
	}
	v := f["rules"]
	if v == nil || v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		at := n
		if v != nil {
			at = v
		}
		p.errorf(at, "rules: required, a list of rules (when, type or skip, fields)")
		return m
	}
	for _, c := range v.Content {
		m.rules = append(m.rules, p.rule(deref(c), common))
	}
	return m
}

func listOf(n *yaml.Node) []*yaml.Node {
	if n.Kind == yaml.SequenceNode {
		out := make([]*yaml.Node, len(n.Content))
		for i, c := range n.Content {
			out[i] = deref(c)
		}
		return out
	}
	return []*yaml.Node{n}
}

func (p *mparser) timeSpec(n *yaml.Node) timeSpec {
	t := timeSpec{loc: time.UTC}
	f := p.fields(n, "time", "path", "layouts", "zone")
	if f == nil {
		return t
	}
	if v := f["path"]; v == nil {
		p.errorf(n, "time.path: required")
	} else {
		t.path = p.path(v, "time.path")
	}
	layouts := []string{"rfc3339"}
	if v := f["layouts"]; v != nil {
		layouts = p.scalars(v, "time.layouts")
	}
	zoned := true
	for _, l := range layouts {
		switch strings.ToLower(l) {
		case "rfc3339":
			t.layouts = append(t.layouts, timeLayout{layout: time.RFC3339Nano})
		case "epoch_seconds", "epoch_s":
			t.layouts = append(t.layouts, timeLayout{epoch: 1})
		case "epoch_millis", "epoch_ms":
			t.layouts = append(t.layouts, timeLayout{epoch: 1000})
		default:
			// A Go reference-time layout; check that it is one.
			if _, err := time.Parse(l, time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC).Format(l)); err != nil || !strings.ContainsAny(l, "0123456789") {
				p.errorf(f["layouts"], "time.layouts: %q is neither rfc3339, epoch_seconds, epoch_millis nor a Go time layout (2006-01-02 15:04:05)", l)
				continue
			}
			if !strings.Contains(l, "07") && !strings.Contains(l, "MST") && !strings.Contains(l, "Z0") {
				zoned = false
			}
			t.layouts = append(t.layouts, timeLayout{layout: l})
		}
	}
	if v := f["zone"]; v != nil {
		loc, err := time.LoadLocation(p.scalar(v, "time.zone"))
		if err != nil || v.Value == "Local" || v.Value == "" {
			p.errorf(v, "time.zone: %q is not a time zone (UTC, Europe/Berlin, ...)", v.Value)
		} else {
			t.loc = loc
		}
	} else if !zoned {
		// Nothing is guessed: a layout without an offset needs the zone
		// the vendor writes in.
		p.errorf(f["layouts"], "time.zone: required, a layout has no UTC offset (zone: UTC if the vendor logs UTC)")
	}
	return t
}

var ruleKeys = []string{"when", "type", "skip", "fields"}

func (p *mparser) rule(n *yaml.Node, common []setter) mapRule {
	r := mapRule{line: n.Line}
	f := p.fields(n, "rule", ruleKeys...)
	if f == nil {
		return r
	}
	if v := f["when"]; v != nil {
		for _, c := range listOf(v) {
			r.when = append(r.when, p.cond(c))
		}
	}
	if v := f["skip"]; v != nil {
		if r.skip = strings.TrimSpace(p.scalar(v, "skip")); r.skip == "" {
			p.errorf(v, "skip: say why these records give no event")
		}
		if f["type"] != nil || f["fields"] != nil {
			p.errorf(n, "rule: skip excludes type and fields")
		}
		return r
	}
	var own []setter
	if v := f["type"]; v == nil {
		p.errorf(n, "rule: type (the contract event type, or where it comes from) or skip required")
	} else {
		own = append(own, setter{field: "event_type", line: v.Line, src: p.source(v, "event_type")})
	}
	if v := f["fields"]; v != nil {
		own = append(own, p.setters(v)...)
	}
	// A rule's own fields win over the file's common ones.
	for _, c := range common {
		if !slices.ContainsFunc(own, func(s setter) bool { return s.field == c.field }) {
			r.set = append(r.set, c)
		}
	}
	r.set = append(r.set, own...)
	return r
}

func (p *mparser) cond(n *yaml.Node) cond {
	f := p.fields(n, "when", "path", "equals", "prefix", "contains", "present")
	c := cond{}
	if f == nil {
		return c
	}
	if v := f["path"]; v == nil {
		p.errorf(n, "when: path required")
	} else {
		c.path = p.path(v, "when.path")
	}
	ops := 0
	for key, op := range map[string]int{"equals": opEquals, "prefix": opPrefix, "contains": opContains} {
		if v := f[key]; v != nil {
			ops++
			c.op, c.vals = op, p.scalars(v, "when."+key)
		}
	}
	if v := f["present"]; v != nil {
		ops++
		switch p.scalar(v, "when.present") {
		case "true":
			c.op = opPresent
		case "false":
			c.op = opAbsent
		default:
			p.errorf(v, "when.present: expected true or false")
		}
	}
	if ops != 1 {
		p.errorf(n, "when: exactly one of equals, prefix, contains, present")
	}
	return c
}

func (p *mparser) setters(n *yaml.Node) []setter {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "fields: expected a mapping of contract field: source")
		return nil
	}
	var out []setter
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		name := k.Value
		attr, isAttr := strings.CutPrefix(name, "attributes.")
		switch {
		case seen[name]:
			p.errorf(k, "fields: %q repeated", name)
			continue
		case name == "event_type":
			p.errorf(k, "fields: event_type is the rule's type")
			continue
		case isAttr && attr == "":
			p.errorf(k, "fields: attributes. needs a key")
			continue
		case !isAttr && fieldKinds[name] == "":
			p.errorf(k, "fields: %q is not a contract field a mapping sets (%s, attributes.KEY)", name, strings.Join(sortedKeys(fieldKinds), ", "))
			continue
		}
		seen[name] = true
		out = append(out, setter{field: name, line: k.Line, src: p.source(v, name)})
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var sourceKeys = []string{"path", "value", "template", "values", "match", "default", "required"}

// source reads a field's source: a plain scalar is a constant.
func (p *mparser) source(n *yaml.Node, field string) source {
	var s source
	if n.Kind == yaml.ScalarNode {
		s.constant, s.isConst = n.Value, true
		p.checkValue(n, field, s.constant)
		return s
	}
	f := p.fields(n, field, sourceKeys...)
	if f == nil {
		return s
	}
	kinds := 0
	if v := f["path"]; v != nil {
		kinds++
		s.path = p.path(v, field+".path")
	}
	if v := f["value"]; v != nil {
		kinds++
		s.constant, s.isConst = p.scalar(v, field+".value"), true
		p.checkValue(v, field, s.constant)
	}
	if v := f["template"]; v != nil {
		kinds++
		s.tmpl = p.template(v, field)
	}
	if kinds != 1 {
		p.errorf(n, "%s: exactly one of path, value, template", field)
	}
	if v := f["values"]; v != nil {
		if s.isConst {
			p.errorf(v, "%s: a constant has no value table", field)
		}
		tf := p.fields(v, field+".values")
		vn := deref(v)
		for i := 0; i+1 < len(vn.Content) && tf != nil; i += 2 {
			to := p.scalar(deref(vn.Content[i+1]), field+".values")
			p.checkValue(vn.Content[i+1], field, to)
			s.table = append(s.table, tableEntry{from: vn.Content[i].Value, to: to})
		}
		if len(s.table) == 0 {
			p.errorf(v, "%s.values: empty table", field)
		}
	}
	if v := f["match"]; v != nil {
		switch p.scalar(v, field+".match") {
		case "equals":
		case "prefix":
			s.match = opPrefix
		case "contains":
			s.match = opContains
		default:
			p.errorf(v, "%s.match: %q is none of equals, prefix, contains", field, v.Value)
		}
		if s.table == nil {
			p.errorf(v, "%s.match: only with values", field)
		}
	}
	if v := f["default"]; v != nil {
		s.def, s.hasDef = p.scalar(v, field+".default"), true
		p.checkValue(v, field, s.def)
		if s.table == nil {
			p.errorf(v, "%s.default: only with values (a missing path leaves the field empty)", field)
		}
	}
	if v := f["required"]; v != nil {
		switch p.scalar(v, field+".required") {
		case "true":
			s.required = true
		case "false":
		default:
			p.errorf(v, "%s.required: expected true or false", field)
		}
	}
	return s
}

// checkValue checks a value the file states (a constant, a table's
// result) against the field it goes to, so that a typo is a file:line
// error rather than every record rejected.
func (p *mparser) checkValue(n *yaml.Node, field, v string) {
	if strings.HasPrefix(field, "attributes.") {
		return
	}
	ev := contract.Event{Attributes: map[string]string{}}
	if err := setField(&ev, &attrs{m: ev.Attributes}, field, v); err != nil {
		p.errorf(n, "%s: %v", field, err)
	}
}

func (p *mparser) template(n *yaml.Node, field string) []tmplPart {
	s := p.scalar(n, field+".template")
	var parts []tmplPart
	paths := 0
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			parts = append(parts, tmplPart{lit: s})
			break
		}
		if i > 0 {
			parts = append(parts, tmplPart{lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			p.errorf(n, "%s.template: unclosed {", field)
			return nil
		}
		ref := strings.TrimSpace(s[i+1 : i+j])
		mp, err := parsePath(ref)
		if err != nil {
			p.errorf(n, "%s.template: {%s} is not a path: %v", field, ref, err)
			return nil
		}
		parts = append(parts, tmplPart{path: mp})
		paths++
		s = s[i+j+1:]
	}
	if paths == 0 {
		p.errorf(n, "%s.template: no {path} (use value: for a constant)", field)
	}
	return parts
}

func isSlug(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
