package registry

import (
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // IANA zones without relying on the image's /usr/share/zoneinfo

	"gopkg.in/yaml.v3"

	"github.com/tripline/tripline/yamlbound"
)

// Error is one problem in a registry file, at a position.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors is every problem found in one file, in file order.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Registry is a validated registry, compiled for lookups: every question
// enrichment asks is a map lookup or a bit test. It is immutable.
type Registry struct {
	file    string
	msps    map[string]*msp // by lower-cased id
	tenants int
}

type msp struct {
	id      string
	tools   map[string]bool // approved at every tenant
	techs   map[string]*technician
	tenants map[string]*tenant
	// vendorIDs maps the vendor client IDs adapters put in tenant
	// (NAMESPACE:KIND:RAW-ID, docs/sources.md) to their tenant. Exact
	// match: vendor IDs and names may be case-sensitive.
	vendorIDs map[string]*tenant
	// own holds the MSP's own vendor ids (its Entra tenant, its own
	// NinjaOne organization): activity there is the MSP's, not a
	// client's (Resolve). Exact match, as vendorIDs.
	own map[string]bool
	// entraApps maps the MSP's Entra apps of its consoles (appId or app
	// name, lower-cased) to the console's tool (Resolve).
	entraApps map[string]string
	loc       *time.Location // default zone; also the zone of tenant-less events
	working   *weekMask
	// updateSources: tool slug (or "any") to the hosts its agents may
	// update from besides the vendors' domains (lower case).
	updateSources map[string][]string
}

type technician struct {
	user      string
	countries []string
	// hours is the technician's shift on the MSP's clock (nil: not
	// documented). It is what tells a night-shift NOC at 03:00 from the
	// day admin's account at 03:00.
	hours *weekMask
}

type tenant struct {
	id          string
	tools       map[string]bool // the MSP's approved tools and the tenant's
	loc         *time.Location
	maintenance *weekMask
	working     *weekMask
	hosts       map[string][]string // lower-cased host -> tags (sorted)
	patterns    []hostPattern
	vendorIDs   []*yaml.Node // its vendor_ids, checked for clashes by the msp
}

type hostPattern struct {
	glob string // lower-cased path.Match pattern
	tags []string
}

// File is the file the registry was loaded from.
func (r *Registry) File() string { return r.file }

// MSPs is the number of MSPs in the registry.
func (r *Registry) MSPs() int { return len(r.msps) }

// Tenants is the number of contracted tenants, over all MSPs.
func (r *Registry) Tenants() int { return r.tenants }

// Load reads and validates a registry file.
func Load(file string) (*Registry, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, Errors{{File: file, Msg: err.Error()}}
	}
	return Parse(data, file)
}

// MaxFileBytes bounds a registry file.
const MaxFileBytes = 16 << 20

// FileLimits bound a registry file after YAML alias expansion (see package
// yamlbound). Measured: 200,000 bare tenant ids (one node each) compile to
// about 110 MiB, and ingest holds two registries during a hot reload; a
// tenant with an id, a zone, tools and assets is 10 to 20 nodes, so the
// limit still fits 10,000 to 20,000 such tenants. docs/limits.md lists
// the limits.
var FileLimits = yamlbound.Limits{
	Kind:         "registry",
	MaxBytes:     MaxFileBytes,
	MaxNodes:     200_000,
	MaxDepth:     32,
	MaxDocuments: 1,
}

// Parse validates a registry document; file names it in errors. Every
// problem is reported (as Errors), not only the first. A file past
// FileLimits (an alias bomb, say) is rejected before it is walked.
func Parse(data []byte, file string) (reg *Registry, err error) {
	defer func() {
		// yaml.v3 has panicked on hostile input; a broken registry must
		// be an error, not a crashed ingest worker.
		if r := recover(); r != nil {
			reg, err = nil, Errors{{File: file, Msg: fmt.Sprintf("cannot parse: %v", r)}}
		}
	}()
	docs, derr := yamlbound.Decode(data, file, FileLimits)
	if derr != nil {
		return nil, Errors{yamlError(file, derr)}
	}
	p := &parser{file: file, reg: &Registry{file: file, msps: map[string]*msp{}}}
	if len(docs) == 0 || len(docs[0].Content) == 0 {
		p.errs = append(p.errs, &Error{File: file, Msg: "empty registry: want a mapping with msps"})
		return nil, p.errs
	}
	p.top(docs[0].Content[0])
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool {
			a, b := p.errs[i], p.errs[j]
			return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
		})
		return nil, p.errs
	}
	return p.reg, nil
}

// yamlError renders a yamlbound error (invalid YAML, a limit) as an *Error.
func yamlError(file string, err error) *Error {
	var ye *yamlbound.Error
	if errors.As(err, &ye) {
		return &Error{File: file, Line: ye.Line, Col: ye.Col, Msg: ye.Msg}
	}
	return &Error{File: file, Msg: err.Error()}
}

type parser struct {
	file string
	reg  *Registry
	errs Errors
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)})
}

// mapping walks a mapping node, calling fields[key] for each known key and
// reporting unknown ones. It reports false when n is not a mapping.
func (p *parser) mapping(n *yaml.Node, what string, fields map[string]func(k, v *yaml.Node)) bool {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping, got %s", what, kindName(n))
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		fn, ok := fields[k.Value]
		if !ok {
			known := make([]string, 0, len(fields))
			for name := range fields {
				known = append(known, name)
			}
			sort.Strings(known)
			p.errorf(k, "unknown key %q in %s (known: %s)", k.Value, what, strings.Join(known, ", "))
			continue
		}
		fn(k, deref(v))
	}
	return true
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "a scalar"
	}
	return "nothing"
}

// scalar returns a non-empty trimmed scalar, or reports what is wrong.
func (p *parser) scalar(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, "%s must be a string, got %s", what, kindName(n))
		return "", false
	}
	s := strings.TrimSpace(n.Value)
	if s == "" {
		p.errorf(n, "%s is empty", what)
		return "", false
	}
	return s, true
}

// list returns the items of a sequence (a single scalar counts as a
// one-item list).
func (p *parser) list(n *yaml.Node, what string) []*yaml.Node {
	switch {
	case n.Kind == yaml.SequenceNode:
		out := make([]*yaml.Node, len(n.Content))
		for i, c := range n.Content {
			out[i] = deref(c)
		}
		return out
	case n.Kind == yaml.ScalarNode && n.Tag != "!!null":
		return []*yaml.Node{n}
	}
	p.errorf(n, "%s must be a list, got %s", what, kindName(n))
	return nil
}

func (p *parser) zone(n *yaml.Node) *time.Location {
	name, ok := p.scalar(n, "tz")
	if !ok {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		p.errorf(n, "tz %q is not an IANA time zone (e.g. America/Chicago, Europe/Berlin, UTC)", name)
		return nil
	}
	return loc
}

func (p *parser) top(n *yaml.Node) {
	var msps *yaml.Node
	p.mapping(n, "the registry", map[string]func(k, v *yaml.Node){
		"version": func(_, v *yaml.Node) {
			if v.Value != "1" {
				p.errorf(v, "version %q is not supported (want 1)", v.Value)
			}
		},
		"msps": func(_, v *yaml.Node) { msps = v },
	})
	if deref(n).Kind != yaml.MappingNode {
		return
	}
	if msps == nil {
		p.errorf(n, "the registry has no msps")
		return
	}
	seen := map[string]*yaml.Node{}
	for _, item := range p.list(msps, "msps") {
		m := p.msp(item)
		if m == nil {
			continue
		}
		key := asciiLower(m.id)
		if prev, dup := seen[key]; dup {
			p.errorf(item, "msp %q is listed twice (first at line %d)", m.id, prev.Line)
			continue
		}
		seen[key] = item
		p.reg.msps[key] = m
		p.reg.tenants += len(m.tenants)
	}
}

// windows reads maintenance or working hours: either a list of windows or
// {tz: ZONE, windows: [...]}.
func (p *parser) windows(n *yaml.Node, what string) (mask *weekMask, loc *time.Location) {
	items := n
	if n.Kind == yaml.MappingNode {
		items = nil
		p.mapping(n, what, map[string]func(k, v *yaml.Node){
			"tz":      func(_, v *yaml.Node) { loc = p.zone(v) },
			"windows": func(_, v *yaml.Node) { items = v },
		})
		if items == nil {
			p.errorf(n, "%s has no windows", what)
			return nil, loc
		}
	}
	mask = new(weekMask)
	for _, w := range p.list(items, what+" windows") {
		if win, ok := p.window(w, what); ok {
			win.addTo(mask)
		}
	}
	return mask, loc
}

func (p *parser) window(n *yaml.Node, what string) (window, bool) {
	var w window
	var fromNode, toNode *yaml.Node
	ok := p.mapping(n, what+" window", map[string]func(k, v *yaml.Node){
		"days": func(_, v *yaml.Node) {
			for _, d := range p.list(v, "days") {
				name, ok := p.scalar(d, "day")
				if !ok {
					continue
				}
				days, known := dayNames[strings.ToLower(name)]
				if !known {
					p.errorf(d, "day %q is not one of mon, tue, wed, thu, fri, sat, sun (or weekdays, weekend, daily)", name)
					continue
				}
				w.days = append(w.days, days...)
			}
			if len(w.days) == 0 && v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				p.errorf(v, "days is empty")
			}
		},
		"from": func(_, v *yaml.Node) { fromNode = v },
		"to":   func(_, v *yaml.Node) { toNode = v },
	})
	if !ok {
		return w, false
	}
	good := len(w.days) > 0
	if !good && !p.hasKey(deref(n), "days") {
		p.errorf(n, "%s window has no days", what)
	}
	clock := func(v *yaml.Node, key string) int {
		if v == nil {
			p.errorf(n, "%s window has no %s", what, key)
			good = false
			return 0
		}
		s, ok := p.scalar(v, key)
		if !ok {
			good = false
			return 0
		}
		m, err := parseClock(s)
		if err != nil {
			p.errorf(v, "%s: %v", key, err)
			good = false
		}
		return m
	}
	w.from = clock(fromNode, "from")
	w.to = clock(toNode, "to")
	if good && w.from%1440 == w.to%1440 && !(w.from == 0 && w.to == 1440) {
		p.errorf(n, "window from %s to %s is empty (a whole day is 00:00 to 24:00)", fromNode.Value, toNode.Value)
		good = false
	}
	if good && w.from == 1440 {
		p.errorf(fromNode, "from 24:00 is the next day's 00:00: write 00:00")
		good = false
	}
	return w, good
}

func (p *parser) hasKey(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

func (p *parser) tools(n *yaml.Node, into map[string]bool) {
	for _, t := range p.list(n, "tools") {
		if s, ok := p.tool(t); ok {
			into[s] = true
		}
	}
}

func (p *parser) msp(n *yaml.Node) *msp {
	m := &msp{tools: map[string]bool{}, techs: map[string]*technician{}, tenants: map[string]*tenant{}, vendorIDs: map[string]*tenant{}, own: map[string]bool{}}
	var tenantsNode, techsNode, workingNode *yaml.Node
	var ownIDs []*yaml.Node
	ok := p.mapping(n, "an msp", map[string]func(k, v *yaml.Node){
		"id": func(_, v *yaml.Node) {
			if s, ok := p.scalar(v, "msp id"); ok {
				m.id = s
			}
		},
		"name":          func(_, v *yaml.Node) { p.scalar(v, "name") },
		"tz":            func(_, v *yaml.Node) { m.loc = p.zone(v) },
		"tools":         func(_, v *yaml.Node) { p.tools(v, m.tools) },
		"technicians":   func(_, v *yaml.Node) { techsNode = v },
		"tenants":       func(_, v *yaml.Node) { tenantsNode = v },
		"working_hours": func(_, v *yaml.Node) { workingNode = v },
		"vendor_ids":    func(_, v *yaml.Node) { ownIDs = p.vendorIDs(v) },
		"entra_apps":    func(_, v *yaml.Node) { m.entraApps = p.entraApps(v) },
		"update_sources": func(_, v *yaml.Node) {
			m.updateSources = map[string][]string{}
			p.updateSources(v, m.updateSources)
		},
	})
	if !ok {
		return nil
	}
	if m.id == "" {
		if !p.hasKey(deref(n), "id") {
			p.errorf(n, "msp has no id (the msp field of its events)")
		}
		return nil
	}
	if workingNode != nil {
		var loc *time.Location
		m.working, loc = p.windows(workingNode, "working_hours")
		if loc != nil {
			p.errorf(workingNode, "an msp's working_hours take the zone of each tenant (set tz on the msp or the tenant, not here)")
		}
	}
	if techsNode != nil {
		for _, t := range p.list(techsNode, "technicians") {
			tech := p.technician(t, m)
			if tech == nil {
				continue
			}
			key := asciiLower(tech.user)
			if _, dup := m.techs[key]; dup {
				p.errorf(t, "technician %q is listed twice in msp %q", tech.user, m.id)
				continue
			}
			m.techs[key] = tech
		}
	}
	if tenantsNode == nil {
		p.errorf(n, "msp %q has no tenants (list the tenants it is contracted to serve)", m.id)
		return m
	}
	for _, t := range p.list(tenantsNode, "tenants") {
		tn := p.tenant(t, m)
		if tn == nil {
			continue
		}
		key := asciiLower(tn.id)
		if _, dup := m.tenants[key]; dup {
			p.errorf(t, "tenant %q is listed twice in msp %q", tn.id, m.id)
			continue
		}
		m.tenants[key] = tn
	}
	// In list order, so that a clash is reported at the later tenant.
	var listed []*yaml.Node
	if tenantsNode.Kind == yaml.SequenceNode {
		listed = tenantsNode.Content // p.list reported anything else
	}
	for _, vn := range ownIDs {
		if m.own[vn.Value] {
			p.errorf(vn, "vendor id %q is listed twice in msp %q", vn.Value, m.id)
			continue
		}
		if other := lookup(m.tenants, vn.Value); other != nil {
			p.errorf(vn, "vendor id %q of msp %q is the id of tenant %q", vn.Value, m.id, other.id)
			continue
		}
		m.own[vn.Value] = true
	}
	for _, t := range listed {
		var tn *tenant
		if t.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(t.Content); i += 2 {
				if t.Content[i].Value == "id" {
					tn = lookup(m.tenants, t.Content[i+1].Value)
				}
			}
		}
		if tn == nil {
			continue
		}
		for _, vn := range tn.vendorIDs {
			id := vn.Value
			if m.own[id] {
				p.errorf(vn, "vendor id %q of tenant %q is one of msp %q's own vendor_ids (an msp's own org that it manages as a client is listed as a tenant only)", id, tn.id, m.id)
				continue
			}
			if other := m.vendorIDs[id]; other != nil {
				p.errorf(vn, "vendor id %q names tenants %q and %q of msp %q", id, other.id, tn.id, m.id)
				continue
			}
			if other := lookup(m.tenants, id); other != nil {
				p.errorf(vn, "vendor id %q of tenant %q is the id of tenant %q", id, tn.id, other.id)
				continue
			}
			m.vendorIDs[id] = tn
		}
	}
	return m
}

// tool reads a tool slug, lower-cased, as events carry it.
func (p *parser) tool(n *yaml.Node) (string, bool) {
	s, ok := p.scalar(n, "tool")
	if !ok {
		return "", false
	}
	s = strings.ToLower(s)
	if !isSlug(s) {
		p.errorf(n, "tool %q is not a slug as events carry it (a-z, 0-9, '-', '_', '.')", s)
		return "", false
	}
	return s, true
}

// entraApps reads an msp's entra_apps: {APP-ID or APP NAME: TOOL}.
func (p *parser) entraApps(v *yaml.Node) map[string]string {
	apps := map[string]string{}
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "entra_apps must be a mapping of an app's appId or name to its console's tool, got %s", kindName(v))
		return apps
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, t := deref(v.Content[i]), deref(v.Content[i+1])
		app, ok := p.scalar(k, "entra app")
		if !ok {
			continue
		}
		tool, ok := p.tool(t)
		if !ok {
			continue
		}
		key := asciiLower(app)
		if _, dup := apps[key]; dup {
			p.errorf(k, "entra app %q is listed twice", app)
			continue
		}
		apps[key] = tool
	}
	return apps
}

// vendorIDs reads a vendor_ids list (a tenant's or an msp's own): the
// nodes of the well-formed ids, NAMESPACE:KIND:ID as adapters write them.
func (p *parser) vendorIDs(v *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	for _, vn := range p.list(v, "vendor_ids") {
		if s, ok := p.scalar(vn, "vendor id"); ok {
			if ns, rest, _ := strings.Cut(s, ":"); ns == "" || !strings.Contains(rest, ":") {
				p.errorf(vn, "vendor id %q: want NAMESPACE:KIND:ID as adapters write it (ninjaone:org:12, entra:tenant:GUID; docs/sources.md)", s)
				continue
			}
			out = append(out, vn)
		}
	}
	return out
}

var countryCode = regexp.MustCompile(`^[A-Z]{2}$`)

func (p *parser) technician(n *yaml.Node, m *msp) *technician {
	t := &technician{}
	var hoursNode *yaml.Node
	if n.Kind == yaml.ScalarNode {
		if s, ok := p.scalar(n, "technician"); ok {
			t.user = s
			return t
		}
		return nil
	}
	ok := p.mapping(n, "a technician", map[string]func(k, v *yaml.Node){
		"user": func(_, v *yaml.Node) {
			if s, ok := p.scalar(v, "user"); ok {
				t.user = s
			}
		},
		"name": func(_, v *yaml.Node) { p.scalar(v, "name") },
		"hours": func(_, v *yaml.Node) {
			var loc *time.Location
			hoursNode = v
			t.hours, loc = p.windows(v, "hours")
			if loc != nil {
				p.errorf(v, "a technician's hours are on the msp's clock (set tz on the msp, not here)")
			}
		},
		"countries": func(_, v *yaml.Node) {
			for _, c := range p.list(v, "countries") {
				s, ok := p.scalar(c, "country")
				if !ok {
					continue
				}
				s = strings.ToUpper(s)
				if !countryCode.MatchString(s) {
					p.errorf(c, "country %q is not an ISO 3166-1 alpha-2 code (e.g. US, DE)", s)
					continue
				}
				if !slices.Contains(t.countries, s) {
					t.countries = append(t.countries, s)
				}
			}
		},
	})
	if !ok {
		return nil
	}
	if t.user == "" {
		if !p.hasKey(n, "user") {
			p.errorf(n, "technician has no user (the actor.user of their events)")
		}
		return nil
	}
	if hoursNode != nil && m.loc == nil {
		p.errorf(hoursNode, "technician %q has hours but msp %q has no tz", t.user, m.id)
	}
	return t
}

func (p *parser) tenant(n *yaml.Node, m *msp) *tenant {
	t := &tenant{tools: map[string]bool{}, hosts: map[string][]string{}}
	for tool := range m.tools {
		t.tools[tool] = true
	}
	if n.Kind == yaml.ScalarNode {
		s, ok := p.scalar(n, "tenant")
		if !ok {
			return nil
		}
		t.id, t.loc, t.working = s, m.loc, m.working
		return t
	}
	var maintNode, workingNode, assetsNode *yaml.Node
	var maintLoc, workingLoc *time.Location
	ok := p.mapping(n, "a tenant", map[string]func(k, v *yaml.Node){
		"id": func(_, v *yaml.Node) {
			if s, ok := p.scalar(v, "tenant id"); ok {
				t.id = s
			}
		},
		"name":          func(_, v *yaml.Node) { p.scalar(v, "name") },
		"tz":            func(_, v *yaml.Node) { t.loc = p.zone(v) },
		"tools":         func(_, v *yaml.Node) { p.tools(v, t.tools) },
		"maintenance":   func(_, v *yaml.Node) { maintNode = v; t.maintenance, maintLoc = p.windows(v, "maintenance") },
		"working_hours": func(_, v *yaml.Node) { workingNode = v; t.working, workingLoc = p.windows(v, "working_hours") },
		"assets":        func(_, v *yaml.Node) { assetsNode = v },
		"vendor_ids":    func(_, v *yaml.Node) { t.vendorIDs = p.vendorIDs(v) },
	})
	if !ok {
		return nil
	}
	if t.id == "" {
		if !p.hasKey(n, "id") {
			p.errorf(n, "tenant has no id (the tenant field of its events)")
		}
		return nil
	}
	// The tenant's zone: its own tz, else its maintenance or working-hours
	// tz, else the MSP's.
	for _, l := range []*time.Location{maintLoc, workingLoc, m.loc} {
		if t.loc == nil {
			t.loc = l
		}
	}
	if maintLoc != nil && t.loc != nil && maintLoc.String() != t.loc.String() {
		p.errorf(maintNode, "maintenance tz %s differs from the tenant's tz %s (one zone per tenant)", maintLoc, t.loc)
	}
	if workingLoc != nil && t.loc != nil && workingLoc.String() != t.loc.String() {
		p.errorf(workingNode, "working_hours tz %s differs from the tenant's tz %s (one zone per tenant)", workingLoc, t.loc)
	}
	if t.working == nil {
		t.working = m.working
	}
	if t.loc == nil {
		switch {
		case maintNode != nil:
			p.errorf(maintNode, "tenant %q has maintenance windows but no time zone: set tz (here, on the tenant or on the msp)", t.id)
		case workingNode != nil:
			p.errorf(workingNode, "tenant %q has working_hours but no time zone: set tz (here, on the tenant or on the msp)", t.id)
		}
	}
	if assetsNode != nil {
		for _, a := range p.list(assetsNode, "assets") {
			p.asset(a, t)
		}
	}
	return t
}

func (p *parser) asset(n *yaml.Node, t *tenant) {
	var host string
	var hostNode *yaml.Node
	var tags []string
	ok := p.mapping(n, "an asset", map[string]func(k, v *yaml.Node){
		"host": func(_, v *yaml.Node) {
			hostNode = v
			if s, ok := p.scalar(v, "host"); ok {
				host = asciiLower(s)
			}
		},
		"tags": func(_, v *yaml.Node) {
			for _, tn := range p.list(v, "tags") {
				if s, ok := p.scalar(tn, "tag"); ok {
					s = strings.ToLower(s)
					if !slices.Contains(tags, s) {
						tags = append(tags, s)
					}
				}
			}
		},
	})
	if !ok {
		return
	}
	if hostNode == nil {
		p.errorf(n, "asset has no host (a target.host, or a pattern such as \"vote-*\")")
		return
	}
	if len(tags) == 0 {
		p.errorf(n, "asset %q has no tags", host)
		return
	}
	if host == "" {
		return
	}
	sort.Strings(tags)
	if strings.ContainsAny(host, "*?[") {
		if _, err := path.Match(host, ""); err != nil {
			p.errorf(hostNode, "host pattern %q: %v", host, err)
			return
		}
		t.patterns = append(t.patterns, hostPattern{glob: host, tags: tags})
		return
	}
	if prev, dup := t.hosts[host]; dup {
		tags = mergeSorted(prev, tags)
	}
	t.hosts[host] = tags
}

func mergeSorted(a, b []string) []string {
	out := slices.Concat(a, b)
	sort.Strings(out)
	return slices.Compact(out)
}

func isSlug(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return s != ""
}

// asciiLower lower-cases ASCII letters only, as enrichment's lookups do.
func asciiLower(s string) string {
	if !hasUpper(s) {
		return s
	}
	return string(lowerInto(nil, s))
}
