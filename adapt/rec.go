package adapt

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/tripline/tripline/contract"
)

// rec is one vendor record being converted. Reading a field consumes it;
// whatever is left when the adapter is done is kept in attributes under its
// path ("severity", "status.additionalDetails").
type rec struct {
	f []kv
	// parent, name and index give the record's path ("status.",
	// "Target.0."), written only when a leftover field or an error needs
	// it. index is an element's position in the array name (elem is set).
	parent *rec
	name   string
	index  int
	elem   bool
	// kids are the nested objects read, in the order read (next links
	// them; last is the newest).
	kids, last, next *rec
	// err is the first field of the wrong JSON type.
	err error
	// id is the vendor record ID, for error messages.
	id string
	// arena holds the members of the record's nested objects, shared by
	// the whole record tree and reused from record to record (nil: each
	// nested object allocates its own).
	arena *arena
}

// arena is a reusable buffer for the members of one record's nested
// objects: parsing them was the adapters' largest allocation (a slice per
// object, grown as it filled).
type arena struct {
	kvs []kv
	// need is what the record would have used; the buffer grows to it for
	// the next record.
	need int
	// recs hold the record and its nested objects, grown to needRecs as
	// kvs is.
	recs     []rec
	needRecs int
	// elems hold the slices objs returns, grown to needElems as kvs is.
	elems     []*rec
	needElems int
	// usedKvs, usedRecs and usedElems are how much of the buffers the
	// input used, for release to clear.
	usedKvs, usedRecs, usedElems int
	// evs and ats are the events of the record being converted and
	// their attributes, reused from record to record (Out.Event is valid
	// until emit returns): allocating them was a quarter of the bytes,
	// and a map growing field by field a fifth more. nev is how many the
	// record used.
	evs [2]contract.Event
	ats [2]attrs
	nev int
	// list is what a converter returns its events in.
	list [2]*contract.Event
	// doc and doc2 hold Out.JSON (encode, withID); hash what derivedID
	// hashes.
	doc, doc2, hash []byte
	// text holds the strings made for the record being converted (event
	// and tenant IDs, the keys of nested leftovers: join), reused from
	// record to record like the events that hold them; one allocation per
	// string was a tenth of converting a record, with the collector's
	// share.
	text []byte
	// ints and bools hold the numbers and flags the record's events point
	// to (contract fields are pointers: an allocation each), reused like
	// text; nints and nbools are how many the record used.
	ints          [8]int64
	bools         [8]bool
	nints, nbools int
	// latest is 24 hours after the clock when the arena last read it:
	// the newest event time the contract accepted then.
	latest time.Time
	// format and idKey are recordIDKey(format) of the last input.
	format, idKey string
}

// recordIDKey is recordIDKey(format), made once for as long as the
// arena converts the same format.
func (a *arena) recordIDKey(format string) string {
	if a.format != format {
		a.format, a.idKey = format, recordIDKey(format)
	}
	return a.idKey
}

// event starts an event of the record being converted: from the arena
// while it has one free, with its attribute map empty but as large as
// the largest it held.
func (a *arena) event() *contract.Event {
	if a == nil || a.nev == len(a.evs) {
		return &contract.Event{Attributes: make(map[string]string, 8)}
	}
	i := a.nev
	a.nev++
	at := &a.ats[i]
	if at.m == nil {
		at.m, at.list = make(map[string]string, 16), make([]attr, 0, 32)
	}
	at.reset()
	a.evs[i] = contract.Event{Attributes: at.m}
	return &a.evs[i]
}

// attrsOf is the attributes of ev, an event of the record being
// converted: tracked when the arena holds it, else the map alone.
func (a *arena) attrsOf(ev *contract.Event) *attrs {
	if a != nil {
		for i := range a.nev {
			if ev == &a.evs[i] {
				return &a.ats[i]
			}
		}
	}
	return &attrs{m: ev.Attributes}
}

// attrsOf is the attributes of ev, an event of r (newEvent, clone).
func (r *rec) attrsOf(ev *contract.Event) *attrs { return r.arena.attrsOf(ev) }

// rec starts a record or a nested object of parent (nil for a record):
// from the arena's buffer while it has room.
func (a *arena) rec(parent *rec, name string) *rec {
	if a == nil {
		return &rec{parent: parent, name: name}
	}
	a.needRecs++
	if n := len(a.recs); n < cap(a.recs) {
		a.recs = a.recs[:n+1]
		c := &a.recs[n]
		*c = rec{parent: parent, name: name, arena: a}
		return c
	}
	return &rec{parent: parent, name: name, arena: a}
}

// children returns room for n nested objects of the record (objs's
// result), from the arena's buffer while it has room.
func (a *arena) children(n int) []*rec {
	if a == nil {
		return make([]*rec, 0, n)
	}
	a.needElems += n
	m := len(a.elems)
	if cap(a.elems)-m < n {
		return make([]*rec, 0, n)
	}
	a.elems = a.elems[:m+n]
	return a.elems[m : m : m+n]
}

// adopt makes c the newest of r's nested objects.
func (r *rec) adopt(c *rec) {
	if r.last == nil {
		r.kids = c
	} else {
		r.last.next = c
	}
	r.last = c
}

// parse parses an object value into the arena; nil if it is not one.
func (a *arena) parse(v string) []kv {
	if v[0] != '{' {
		return nil
	}
	f, err := split(v, a.free())
	if err != nil {
		return nil
	}
	return a.keep(f)
}

// parseText validates s, JSON text that was itself a string value (a
// document inside a field), as one object and returns its members in the
// arena; nil if it is not one.
func (a *arena) parseText(s string) []kv {
	if len(s) == 0 || s[0] != '{' {
		return nil
	}
	f, err := parseObject(s, a.free())
	if err != nil {
		return nil
	}
	return a.keep(f)
}

// free is the room left in the arena's members, for a parse to append to
// (none without an arena: the parse allocates).
func (a *arena) free() []kv {
	if a == nil {
		return nil
	}
	n := len(a.kvs)
	return a.kvs[n:n:cap(a.kvs)]
}

// keep counts f, the members just parsed into free(), and keeps them in
// the arena if they fit (else they were allocated, and the arena grows
// for the next record).
func (a *arena) keep(f []kv) []kv {
	if a == nil {
		return f
	}
	a.need += len(f)
	if n := len(a.kvs); len(f) <= cap(a.kvs)-n {
		a.kvs = a.kvs[:n+len(f)]
	}
	return f
}

// reset makes the arena's buffer free for the next record, growing it to
// what this one needed. The record's members must no longer be used
// (events keep substrings of the input's text, never the members).
//
// The buffers are not cleared here: what they still hold is the same
// input's (clearing memory that holds pointers costs a write barrier per
// pointer while the GC runs); see release.
func (a *arena) reset() {
	a.usedKvs, a.usedRecs = max(a.usedKvs, len(a.kvs)), max(a.usedRecs, len(a.recs))
	a.usedElems = max(a.usedElems, len(a.elems))
	if a.needElems > cap(a.elems) {
		a.elems = make([]*rec, 0, 2*a.needElems)
	}
	a.elems, a.needElems = a.elems[:0], 0
	if a.need > cap(a.kvs) {
		a.kvs = make([]kv, 0, 2*a.need)
	}
	a.kvs, a.need = a.kvs[:0], 0
	if a.needRecs > cap(a.recs) {
		a.recs = make([]rec, 0, 2*a.needRecs)
	}
	a.recs, a.needRecs = a.recs[:0], 0
	a.nev = 0
	a.text = a.text[:0]
	a.nints, a.nbools = 0, 0
}

// int64p is a pointer to v for an event's field: in the arena while it has
// room (valid until emit returns, like the event).
func (a *arena) int64p(v int64) *int64 {
	if a == nil || a.nints == len(a.ints) {
		p := new(int64) // not &v: v would be on the heap on every call
		*p = v
		return p
	}
	p := &a.ints[a.nints]
	a.nints++
	*p = v
	return p
}

// boolp is int64p for a flag.
func (a *arena) boolp(v bool) *bool {
	if a == nil || a.nbools == len(a.bools) {
		p := new(bool)
		*p = v
		return p
	}
	p := &a.bools[a.nbools]
	a.nbools++
	*p = v
	return p
}

// int64p and boolp are the arena's, for the record's adapter.
func (r *rec) int64p(v int64) *int64 { return r.arena.int64p(v) }
func (r *rec) boolp(v bool) *bool    { return r.arena.boolp(v) }

// join is the concatenation of parts, written into the arena's text:
// valid while the record's events are (until emit returns). Appending
// never writes where an earlier string points: a new array when the text
// grows, the old one kept alive by the strings in it.
func (a *arena) join(parts ...string) string {
	b, n := a.begin()
	for _, p := range parts {
		b = append(b, p...)
	}
	return a.end(b, n)
}

// begin and end bracket writing a string into the arena's text: append
// to b from begin, give the result to end. Without an arena (emptyRec's
// objects), b is a new buffer and end copies it (never a part itself:
// the parts may be stack memory).
func (a *arena) begin() (b []byte, n int) {
	if a == nil {
		return nil, 0
	}
	return a.text, len(a.text)
}

func (a *arena) end(b []byte, n int) string {
	if a == nil {
		return string(b)
	}
	a.text = b
	if len(b) == n {
		return ""
	}
	return unsafe.String(&b[n], len(b)-n)
}

// joinSep is strings.Join of items with sep, in the arena's text.
func (r *rec) joinSep(items []string, sep string) string {
	b, n := r.arena.begin()
	for i, it := range items {
		if i > 0 {
			b = append(b, sep...)
		}
		b = append(b, it...)
	}
	return r.arena.end(b, n)
}

// lower is the concatenation of parts in ASCII lower case, in the arena's
// text.
func (r *rec) lower(parts ...string) string {
	for _, p := range parts {
		if !isASCII(p) {
			// strings.ToLower's Unicode mapping (the Kelvin sign is k).
			return strings.ToLower(strings.Join(parts, ""))
		}
	}
	b, n := r.arena.begin()
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			c := p[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
	}
	return r.arena.end(b, n)
}

// text reads a JSON scalar as the package's text does, unquoting a string
// with escapes into the arena's text.
func (r *rec) text(v string) (string, bool) {
	if len(v) > 1 && v[0] == '"' && strings.IndexByte(v, '\\') >= 0 {
		b, n := r.arena.begin()
		return r.arena.end(appendUnquoted(b, v[1:len(v)-1]), n), true
	}
	return text(v)
}

// join is arena.join for the record's adapter.
func (r *rec) join(parts ...string) string { return r.arena.join(parts...) }

// tenantID is a vendor client ID as tenant, "<namespace>:<kind>:<raw id>"
// (docs/sources.md), "" without an id.
func (r *rec) tenantID(ns, kind, id string) string {
	id = strings.TrimSpace(id)
	if id == "" {
		return ""
	}
	return r.join(ns, ":", kind, ":", id)
}

// release readies the arena for its pool when the input is done,
// clearing what the input used if it was large (see keepInput).
func (a *arena) release(large bool) {
	a.reset()
	if large {
		clear(a.kvs[:a.usedKvs])
		clear(a.recs[:a.usedRecs])
		clear(a.elems[:a.usedElems])
		for i := range a.evs {
			a.evs[i] = contract.Event{}
			clear(a.ats[i].m)
			clear(a.ats[i].list[:cap(a.ats[i].list)])
		}
		a.list = [2]*contract.Event{}
	}
	if cap(a.doc)+cap(a.doc2)+cap(a.hash)+cap(a.text) > keepInput {
		a.doc, a.doc2, a.hash, a.text = nil, nil, nil, nil
	}
	a.usedKvs, a.usedRecs, a.usedElems = 0, 0, 0
}

func (r *rec) take(k string) string {
	for i := range r.f {
		if r.f[i].k == k {
			v := r.f[i].v
			last := len(r.f) - 1
			r.f[i] = r.f[last]
			r.f = r.f[:last]
			if isNull(v) {
				return ""
			}
			return v
		}
	}
	return ""
}

// raw returns a field's raw value without consuming it.
func (r *rec) raw(k string) string {
	for i := range r.f {
		if r.f[i].k == k {
			return r.f[i].v
		}
	}
	return ""
}

// peek reads a string field without consuming it.
func (r *rec) peek(k string) string {
	s, _ := text(r.raw(k))
	return s
}

func isNull(v string) bool { return len(v) == 0 || v == "null" }

func (r *rec) fail(k, want string, v string) {
	if r.err == nil {
		r.err = fmt.Errorf("%s%s: expected %s, got %s", r.path(), k, want, kind(v))
	}
}

func kind(v string) string {
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// text reads a JSON scalar as text: strings unquoted, numbers and booleans
// as written. ok is false for objects and arrays.
func text(v string) (string, bool) {
	if isNull(v) {
		return "", true
	}
	switch v[0] {
	case '"':
		return unquote(v), true
	case '{', '[':
		return "", false
	}
	return v, true
}

// str reads a scalar field as text (trimmed).
func (r *rec) str(k string) string {
	v := r.take(k)
	if v == "" {
		return ""
	}
	s, ok := r.text(v)
	if !ok {
		r.fail(k, "a string", v)
	}
	return strings.TrimSpace(s)
}

// integer reads a whole number (or a string holding one).
func (r *rec) integer(k string) *int64 {
	v := r.take(k)
	if v == "" {
		return nil
	}
	s, ok := text(v)
	if !ok {
		r.fail(k, "an integer", v)
		return nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		r.fail(k, "an integer", v)
		return nil
	}
	return r.int64p(n)
}

// boolean reads true/false (or "true"/"false" in a string).
func (r *rec) boolean(k string) *bool {
	v := r.take(k)
	if v == "" {
		return nil
	}
	s, _ := text(v)
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return r.boolp(true)
	case "false":
		return r.boolp(false)
	}
	r.fail(k, "a boolean", v)
	return nil
}

// emptyRec is every absent object: nothing in it can be read, so nothing
// changes it.
var emptyRec = &rec{}

// path is the prefix of the record's fields in attribute keys.
func (r *rec) path() string {
	return string(r.appendPath(nil))
}

func (r *rec) appendPath(b []byte) []byte {
	if r.parent == nil {
		return b
	}
	b = append(r.parent.appendPath(b), r.name...)
	if r.elem {
		b = strconv.AppendInt(append(b, '.'), int64(r.index), 10)
	}
	return append(b, '.')
}

// obj reads a nested object; its unread fields are kept as "k.field". An
// absent or null object reads as empty.
func (r *rec) obj(k string) *rec {
	v := r.take(k)
	if v == "" {
		return emptyRec
	}
	c := r.arena.rec(r, k)
	if c.f = r.arena.parse(v); c.f == nil {
		r.fail(k, "an object", v)
		return c
	}
	r.adopt(c)
	return c
}

// array reads an array field's elements, appended to dst; ok is false
// (and the field reported) if it is not an array.
func (r *rec) array(k string, dst []string) (v string, items []string, ok bool) {
	if v = r.take(k); v == "" {
		return "", nil, false
	}
	if v[0] != '[' {
		r.fail(k, "an array", v)
		return "", nil, false
	}
	items = splitArray(v, dst)
	return v, items, true
}

// objs reads an array of objects; unread fields of element i are kept as
// "k.i.field". The slice is the arena's, valid while the record is
// converted (like the objects).
func (r *rec) objs(k string) []*rec {
	var buf [8]string
	v, items, ok := r.array(k, buf[:0])
	if !ok {
		return nil
	}
	out := r.arena.children(len(items))
	for i, it := range items {
		c := r.arena.rec(r, k)
		c.index, c.elem = i, true
		if c.f = r.arena.parse(it); c.f == nil {
			r.fail(k, "an array of objects", v)
			return nil
		}
		r.adopt(c)
		out = append(out, c)
	}
	return out
}

// strs reads an array of scalars as text.
func (r *rec) strs(k string) []string {
	var buf [8]string
	v, items, ok := r.array(k, buf[:0])
	if !ok {
		return nil
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := text(it)
		if !ok {
			r.fail(k, "an array of strings", v)
			return nil
		}
		out = append(out, s)
	}
	return out
}

// rest adds the unread fields to attrs (string values as they are, others
// as compact JSON); an attribute already set wins. The keys of nested
// fields ("status.additionalDetails") are written into the arena's text;
// the others are the input's own.
func (r *rec) rest(at *attrs) { r.restInto(at) }

func (r *rec) restInto(at *attrs) {
	var path []byte
	if r.parent != nil && len(r.f) > 0 {
		var buf [64]byte
		path = r.appendPath(buf[:0])
	}
	for _, m := range r.f {
		v := m.v
		if isNull(v) {
			continue
		}
		key := m.k
		if r.parent != nil {
			// The path's bytes as a string only for join to copy them.
			key = r.join(unsafe.String(unsafe.SliceData(path), len(path)), m.k)
		}
		if at.has(key) {
			continue
		}
		if s, ok := r.text(v); ok && v[0] == '"' {
			if strings.TrimSpace(s) != "" {
				at.put(key, s)
			}
			continue
		}
		if v[0] != '{' && v[0] != '[' {
			at.put(key, v)
			continue
		}
		at.put(key, compact(v))
	}
	for c := r.kids; c != nil; c = c.next {
		c.restInto(at)
	}
}

// parseTime reads RFC 3339 with an offset. Without one (noZone) the time
// is taken as UTC: only for vendors documented to log UTC without saying so.
func parseTime(s string, noZone bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("no time")
	}
	if t, sep, z, ok := utcTime(s); ok && sep == 'T' && (z || noZone) {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if noZone {
		if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q is not RFC 3339 with an offset", short(s))
}

// utcTime reads the UTC times vendors write most, without time.Parse
// (which, for a time without an offset, failed on RFC 3339 first and
// built the error): "2006-01-02T15:04:05" with sep 'T' or ' ', an optional
// fraction of one to nine digits, and an optional "Z" (z). ok is false for
// anything else, a field out of range included, for the caller's own
// layouts to read or reject: what it reads, time.Parse reads the same way
// with the layouts that accept that form (TestUTCTime).
func utcTime(s string) (t time.Time, sep byte, z, ok bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return t, 0, false, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, min, sec := num(11, 2), num(14, 2), num(17, 2)
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 59 {
		return t, 0, false, false
	}
	if day > 28 && time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).Day() != day {
		return t, 0, false, false // February 30th
	}
	rest, ns := s[19:], 0
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && n <= 10 && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 {
			return t, 0, false, false
		}
		ns = num(20, n-1)
		for i := n; i <= 9; i++ {
			ns *= 10
		}
		rest = rest[n:]
	}
	switch rest {
	case "":
	case "Z":
		z = true
	default:
		return t, 0, false, false
	}
	return time.Date(year, time.Month(month), day, hour, min, sec, ns, time.UTC), s[10], z, true
}

// parseEpoch reads a decimal number of seconds (scale 1) or milliseconds
// (scale 1000) since 1970 exactly, without going through a float.
func parseEpoch(s string, scale int64) (time.Time, error) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || n < 0 || len(frac) > 9 || strings.Trim(frac, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("time %q is not a number of %s since 1970", short(s), map[int64]string{1: "seconds", 1000: "milliseconds"}[scale])
	}
	var ns int64
	if frac != "" {
		f, _ := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		ns = f / scale
	}
	if n/scale > 1<<40 {
		return time.Time{}, fmt.Errorf("time %q is out of range", short(s))
	}
	if scale == 1000 {
		return time.Unix(n/1000, (n%1000)*1e6+ns).UTC(), nil
	}
	return time.Unix(n, ns).UTC(), nil
}

func short(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// ip returns a valid IP address, or "" and keeps the raw value in attrs
// under key: a vendor's "unknown" or "-" must not reject the event.
func ip(s string, at *attrs, key string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if isIPv4(s) {
		return s
	}
	// "203.0.113.7:51234" and "[2001:db8::1]:443" (address and port) are
	// parsed as such first: a failed ParseAddr builds its error.
	withPort := s[0] == '[' || strings.Count(s, ":") == 1
	if withPort {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return canonicalIP(ap.Addr().Unmap(), s[:strings.LastIndexByte(s, ':')])
		}
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return canonicalIP(a.Unmap(), s)
	}
	if !withPort {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return canonicalIP(ap.Addr().Unmap(), "")
		}
	}
	at.put(key, s)
	return ""
}

// isIPv4 says whether s is an IPv4 address written as netip writes it
// (four decimal bytes, no leading zeros): most addresses are, and reading
// them by hand skips netip's parse and a second writing to compare.
func isIPv4(s string) bool {
	if len(s) < len("0.0.0.0") || len(s) > len("255.255.255.255") {
		return false
	}
	dots, n, digits := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if digits == 0 {
				return false
			}
			dots, n, digits = dots+1, 0, 0
			continue
		}
		if c < '0' || c > '9' || digits > 0 && n == 0 {
			return false
		}
		n, digits = n*10+int(c-'0'), digits+1
		if n > 255 {
			return false
		}
	}
	return dots == 3 && digits > 0
}

// canonicalIP is a's text: as, when as is written that way already (most
// addresses are), else a new string.
func canonicalIP(a netip.Addr, as string) string {
	var buf [64]byte
	if b := a.AppendTo(buf[:0]); string(b) != as {
		return string(b)
	}
	return as
}

// country returns an ISO 3166-1 alpha-2 code, or "" and keeps the value.
func country(s string, at *attrs, key string) string {
	s = strings.TrimSpace(s)
	if len(s) == 2 && isAlpha(s) {
		return strings.ToUpper(s)
	}
	if s != "" {
		at.put(key, s)
	}
	return ""
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// sha256Hex returns a 64-hex-digit digest, or "" and keeps the value.
func sha256Hex(s string, at *attrs, key string) string {
	s = strings.TrimSpace(s)
	if len(s) == 64 && strings.Trim(strings.ToLower(s), "0123456789abcdef") == "" {
		return s
	}
	if s != "" {
		at.put(key, s)
	}
	return ""
}

var earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// check applies the contract's rules that depend on the vendor's data, so
// that an emitted event always decodes (FuzzAdapters holds the adapters to
// it): required fields, identifier and attribute limits, time range
// (latest is the newest time the contract accepts). With keysChecked, the
// attribute keys were checked as the event was encoded, long being one
// too long ("" if none).
func check(ev *contract.Event, latest time.Time, keysChecked bool, long string) error {
	if ev.Time.Before(earliest) {
		return fmt.Errorf("time %s is before 2000-01-01", ev.Time.UTC().Format(time.RFC3339))
	}
	if ev.Time.After(latest) {
		return fmt.Errorf("time %s is more than 24h in the future", ev.Time.UTC().Format(time.RFC3339))
	}
	blank := func(s string) bool {
		// Trimmed only when it does not start with a printable ASCII byte.
		return s == "" || (s[0] <= ' ' || s[0] >= utf8.RuneSelf) && strings.TrimSpace(s) == ""
	}
	if blank(ev.MSP) {
		return fmt.Errorf("no msp")
	}
	family := ev.EventType[:strings.IndexByte(ev.EventType, '.')]
	if blank(ev.Tenant) && family != "auth" && family != "account" {
		return fmt.Errorf("no tenant (client) for %s", ev.EventType)
	}
	if blank(ev.Actor.User) && ev.EventType != contract.TypeSoftwareInstall && ev.EventType != contract.TypeAgentUpdate {
		return fmt.Errorf("no user for %s", ev.EventType)
	}
	for _, f := range [...]struct{ name, v string }{
		{"event_id", ev.EventID}, {"msp", ev.MSP}, {"tenant", ev.Tenant}, {"tool", ev.Tool},
		{"actor.user", ev.Actor.User}, {"target.host", ev.Target.Host}, {"session.id", ev.Session.ID},
	} {
		// Trimmed only when it could matter.
		if len(f.v) > contract.MaxIdentifierBytes && len(strings.TrimSpace(f.v)) > contract.MaxIdentifierBytes {
			return fmt.Errorf("%s is longer than %d bytes", f.name, contract.MaxIdentifierBytes)
		}
	}
	if len(ev.Attributes) > contract.MaxAttributes {
		return fmt.Errorf("%d attributes, limit %d", len(ev.Attributes), contract.MaxAttributes)
	}
	if !keysChecked {
		for k := range ev.Attributes {
			if len(strings.TrimSpace(k)) > contract.MaxIdentifierBytes {
				long = k
				break
			}
		}
	}
	if long != "" {
		return fmt.Errorf("attribute key %q is longer than %d bytes", short(long), contract.MaxIdentifierBytes)
	}
	for _, n := range [...]*int64{ev.Actor.ASN, ev.Target.HostCount, ev.Session.DurationS} {
		if n != nil && *n < 0 {
			return fmt.Errorf("negative count or duration %d", *n)
		}
	}
	return nil
}

func itoa(i int) string { return strconv.Itoa(i) }
