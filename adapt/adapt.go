// Package adapt converts what real MSP tools log (NinjaOne activities,
// ScreenConnect session events, TeamViewer audit and connection reports,
// Entra sign-ins, Microsoft 365 unified audit records, Datto RMM activity
// logs, OCSF) into wire contract v1 events, exactly as an MSP producing
// contract v1 would have sent them: the events then go through the same
// contract decoder and normaliser as any other.
//
// Adapters are pure functions of their input: no I/O, no clock, no state.
// One input value is one vendor JSON value: a single record, an array of
// records, or an API page that holds its records under a known key
// ("activities", "value", "AuditEvents", "records", ...). Every record
// becomes, in input order, one or more events, a skip (a known vendor type
// that carries nothing the contract describes, named in docs/sources.md) or
// an error with a reason (an unknown vendor type, a missing field). Nothing
// is guessed: a vendor type without a documented mapping is an error.
//
// Vendor record IDs become event_id, namespaced by msp and prefixed with
// the format name ("<format>:" and a UUIDv5 over msp and id: vendor ids are
// unique within one vendor instance only), so a re-polled record
// deduplicates in storage and two MSPs' records never do; the vendor's id
// stays in attributes as "<format>.record_id". Vendor client IDs become the
// contract's tenant as "<namespace>:<kind>:<raw id>" (docs/sources.md) for
// the MSP registry to map later. Vendor fields without a contract field are
// kept in attributes under their own path.
package adapt

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/google/uuid"

	"github.com/tripline/tripline/contract"
)

// Adapter converts one vendor input value into contract v1 events.
type Adapter interface {
	// Name is the format name (--format of tripline convert).
	Name() string
	// Convert reads one input value and calls emit once per result, in
	// input order; an Out's Event is valid until emit returns, and raw
	// must not change until Convert returns. It returns an error if the value as a whole cannot be
	// read (not JSON, not an object or array) or if emit fails; a record
	// that cannot be converted is an Out with Err, and the others go on.
	Convert(raw []byte, msp string, emit func(Out) error) error
}

// Out is one result of a conversion: exactly one of Event, Skip and Err is
// set.
type Out struct {
	// Record is the record's position in the input value (0 for a single
	// record). A record can give more than one event (a TeamViewer
	// connection is a session.start and a session.end).
	Record int
	// Event is a contract v1 event, not yet normalised: encode it with
	// Encode and it decodes with contract.Decoder. The event, its
	// Attributes map and its strings are valid until emit returns: the
	// adapter reuses the event and map for later records, and the strings
	// are raw's own bytes (no copy of the input is made) or text the
	// adapter writes for the record (IDs, tenant IDs, the keys of nested
	// leftovers) and reuses too. Allocating them per event was most of
	// what converting allocated. Keep copies an event to keep; an
	// encoding (JSON) needs no copy.
	Event *contract.Event
	// JSON is Event's contract v1 encoding, Encode's byte for byte, valid
	// until emit returns; nil if the event does not encode (Encode says
	// why).
	JSON []byte
	// Skip says why a known record gives no event.
	Skip string
	// Err says why the record could not be converted.
	Err error
}

// Error is why one record could not be converted.
type Error struct {
	// ID is the vendor's record ID, when it could be read.
	ID     string
	Reason string
}

func (e *Error) Error() string {
	if e.ID != "" {
		return fmt.Sprintf("id %s: %s", e.ID, e.Reason)
	}
	return e.Reason
}

// ErrUnmapped is wrapped by errors for vendor types without a mapping.
var ErrUnmapped = errors.New("unmapped vendor type")

var all = []Adapter{
	ninjaOne{}, screenConnect{}, teamViewer{}, entraSignIn{}, m365Audit{}, dattoRMM{}, ocsf{},
}

// Get returns the adapter of a format.
func Get(name string) (Adapter, bool) {
	for _, a := range all {
		if a.Name() == name {
			return a, true
		}
	}
	return nil, false
}

// Names lists the formats, sorted.
func Names() []string {
	out := make([]string, len(all))
	for i, a := range all {
		out[i] = a.Name()
	}
	sort.Strings(out)
	return out
}

// converter turns one parsed record into events or a skip.
type converter func(r *rec, msp string) (evs []*contract.Event, skip string, err error)

// run is the driver every adapter shares: split the value into records,
// convert each, check each event against the contract's rules, emit in
// order.
func run(format string, raw []byte, msp string, listKeys []string, conv converter, emit func(Out) error) error {
	src, err := inputText(raw)
	if err != nil {
		return err
	}
	// Pooled buffers keep what they point to alive until reused: cleared
	// after a large input only (clearing memory that holds pointers costs
	// a write barrier per pointer while the GC runs, and a small input
	// kept a while longer costs nothing).
	large := len(src) > keepInput
	itemsp, top := itemsPool.Get().(*[]string), kvPool.Get().(*[]kv)
	defer func() {
		clearIf(large, *itemsp)
		itemsPool.Put(itemsp)
		clearIf(large, *top)
		kvPool.Put(top)
	}()
	items, members, list, err := splitInput(src, listKeys, (*itemsp)[:0], (*top)[:0])
	if err != nil {
		return badInput{err}
	}
	*itemsp, *top = items, members
	ar := arenaPool.Get().(*arena)
	defer func() { ar.release(large); arenaPool.Put(ar) }()
	// The newest time the contract accepts is the arena's, from the clock
	// read at most once per input, and only for an event newer than what
	// it last read: the clock only moves forward, so an event older than
	// that is older than the newest time now too. A read per input was
	// 1-2 % of converting single records.
	clockRead := false
	one := func(i int, r *rec) error {
		evs, skip, err := conv(r, msp)
		if err == nil && r.err != nil {
			err = r.err
		}
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.ID = strings.Clone(e.ID)
			} else {
				err = &Error{ID: strings.Clone(r.id), Reason: err.Error()}
			}
			return emit(Out{Record: i, Err: err})
		}
		if skip != "" {
			return emit(Out{Record: i, Skip: ar.own(skip, raw)})
		}
		for _, ev := range evs {
			at := ar.attrsOf(ev)
			r.rest(at)
			// Every event is encoded here, once (every caller encodes it):
			// the encoder's pass over the attributes also checks their
			// keys, and a derived ID comes from the same encoding.
			var doc []byte
			var long string
			if ev.EventID == "" {
				// Over the whole event, unmapped vendor fields included:
				// the encoding without event_id (contract.DeriveID's), the
				// ID then spliced in.
				if doc = ar.encode(ev, at, &long); doc == nil {
					ev.EventID = format + ":" + contract.DeriveID(ev)
				} else {
					ev.EventID = ar.derivedID(format, doc)
					doc = ar.withID(doc, ev.EventID)
				}
			} else {
				// The vendor's id, namespaced by msp (vendorEventID).
				at.put(ar.recordIDKey(format), recordID(ev.EventID))
				ev.EventID = ar.vendorEventID(format, msp, ev.EventID)
				doc = ar.encode(ev, at, &long)
			}
			if !clockRead && ev.Time.After(ar.latest) {
				ar.latest, clockRead = time.Now().Add(24*time.Hour), true
			}
			if err := check(ev, ar.latest, doc != nil, long); err != nil {
				if e := emit(Out{Record: i, Err: &Error{ID: strings.Clone(r.id), Reason: err.Error()}}); e != nil {
					return e
				}
				continue
			}
			if err := emit(Out{Record: i, Event: ev, JSON: doc}); err != nil {
				return err
			}
		}
		return nil
	}
	if !list {
		r := ar.rec(nil, "")
		r.f = members
		return one(0, r)
	}
	bufp := kvPool.Get().(*[]kv)
	defer func() { clearIf(large, *bufp); kvPool.Put(bufp) }()
	buf := *bufp
	for i, it := range items {
		var f []kv
		var err error
		if it[0] != '{' {
			err = errNotObject
		} else if f, err = split(it, buf[:0]); err == nil {
			buf, *bufp = f, f
		}
		if err != nil {
			if e := emit(Out{Record: i, Err: &Error{Reason: err.Error()}}); e != nil {
				return e
			}
			continue
		}
		r := ar.rec(nil, "")
		r.f = f
		err = one(i, r)
		ar.reset()
		if err != nil {
			return err
		}
	}
	return nil
}

// inputText is raw as text, checked and trimmed, without a copy: the
// events' strings are its substrings (unquote copies only strings with
// escapes), valid while raw is, which Out documents. Copying it was a
// tenth of converting an Entra sign-in, and most of the bytes the
// collector had to reclaim. Nothing writes to raw; what outlives emit (an
// Error's ID, a skip reason) is copied.
func inputText(raw []byte) (string, error) {
	if !utf8.Valid(raw) {
		return "", errors.New("input is not valid UTF-8")
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", errors.New("empty input")
	}
	return unsafe.String(unsafe.SliceData(raw), len(raw)), nil
}

// splitInput splits src, one input value, into its records as Convert
// reads them (Records counts the same way): with list, items holds the
// records of an array, or of the first member of an object that is an
// array under one of listKeys; else the object is one record, whose
// members are members. Both are appended to the buffers given, and
// returned for the caller to keep.
func splitInput(src string, listKeys []string, items []string, members []kv) ([]string, []kv, bool, error) {
	switch src[0] {
	case '[':
		items, err := parseArray(src, items)
		if err != nil {
			return nil, members, false, fmt.Errorf("not a JSON array: %v", err)
		}
		return items, members, true, nil
	case '{':
		members, err := parseObject(src, members)
		if err != nil {
			return items, nil, false, fmt.Errorf("not a JSON object: %v", err)
		}
		for _, m := range members {
			if len(m.v) > 0 && m.v[0] == '[' && slices.Contains(listKeys, m.k) {
				return splitArray(m.v, items), members, true, nil
			}
		}
		return items, members, false, nil
	}
	return items, members, false, errors.New("input is neither a JSON object nor an array")
}

// badInput is run's error for an input that is not a JSON value it
// reads (not an array, object or page), before any record: a Repairer may
// try again.
type badInput struct{ error }

func (e badInput) Unwrap() error { return e.error }

func jsonErr(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// kvPool holds the members of top-level records between conversions
// (the events keep substrings of what they read, never the members).
var kvPool = sync.Pool{New: func() any { s := make([]kv, 0, 64); return &s }}

// keepInput is the largest input a pooled buffer may keep alive after
// Convert returns.
const keepInput = 64 << 10

func clearIf[S ~[]E, E any](c bool, s S) {
	if c {
		clear(s)
	}
}

// itemsPool holds the records of arrays and pages between conversions.
var itemsPool = sync.Pool{New: func() any { s := make([]string, 0, 64); return &s }}

// arenaPool holds the arenas of nested objects between conversions.
var arenaPool = sync.Pool{New: func() any { return &arena{kvs: make([]kv, 0, 64)} }}

// idOf is contract.DeriveID's UUIDv5 of an event's encoding without
// event_id.
func idOf(doc []byte) string { return uuid.NewSHA1(contract.IDNamespace, doc).String() }

// own is s, copied if it points into raw or the arena's current text
// (both reused after Convert returns): a skip reason outlives emit, and
// is mostly a constant that needs no copy.
func (a *arena) own(s string, raw []byte) string {
	if s == "" {
		return s
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	in := func(b []byte) bool {
		if cap(b) == 0 {
			return false
		}
		start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		return p >= start && p < start+uintptr(cap(b))
	}
	if in(raw) || in(a.text) {
		return strings.Clone(s)
	}
	return s
}

// derivedID is "<format>:" and idOf(doc), hashed in the arena's buffer
// and written into its text.
func (a *arena) derivedID(format string, doc []byte) string {
	b := append(a.hash[:0], contract.IDNamespace[:]...)
	b = append(b, doc...)
	a.hash = b
	t := uuidText(sha1.Sum(b))
	return a.join(format, ":", unsafe.String(&t[0], len(t)))
}

// encode is ev's encoding for Out.JSON, in the arena's buffer; nil where
// AppendEncode fails or would not use the encoder (then the caller's
// Encode says why). long is set to an attribute key longer than the
// contract allows, if there is one.
func (a *arena) encode(ev *contract.Event, at *attrs, long *string) []byte {
	if ev.Context != nil || ev.TimeLocal != "" {
		return nil
	}
	if y := ev.Time.Year(); y < 0 || y > 9999 {
		return nil
	}
	b := appendEvent(a.doc[:0], ev, at, long)
	a.doc = b
	if len(b) > contract.MaxMessageBytes {
		return nil
	}
	return b
}

// withID is doc, the encoding of an event without event_id, with the ID
// the event now has: the fields after it are the same.
func (a *arena) withID(doc []byte, id string) []byte {
	b := append(a.doc2[:0], `{"event_id":`...)
	b = appendString(b, id)
	b = append(b, doc[len(`{"event_id":""`):]...)
	a.doc, a.doc2 = b, doc
	if len(b) > contract.MaxMessageBytes {
		return nil
	}
	return b
}

// newEvent starts an event of r with the fields every adapter sets.
// Attributes is non-nil so that unmapped vendor fields can be added to it.
func (r *rec) newEvent(id, typ, msp, tool string) *contract.Event {
	ev := r.arena.event()
	ev.EventID, ev.EventType, ev.MSP, ev.Tool = id, typ, msp, tool
	return ev
}

// clone copies an event of r for a second event from the same record.
func (r *rec) clone(ev *contract.Event) *contract.Event {
	c := r.arena.event()
	m := c.Attributes
	*c = *ev
	c.Attributes = m
	maps.Copy(m, ev.Attributes)
	// The writes too, where both are tracked (else the clone's list lacks
	// keys its map holds, and its encoding walks the map).
	if from, to := r.attrsOf(ev), r.attrsOf(c); from.list != nil && to.list != nil {
		to.list = append(to.list, from.list...)
	}
	return c
}

// events returns a record's events in a slice of r's arena.
func (r *rec) events(evs ...*contract.Event) []*contract.Event {
	if r.arena == nil {
		return append([]*contract.Event(nil), evs...)
	}
	return append(r.arena.list[:0], evs...)
}

// set sets m[k] to v unless v is empty.
func set(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func unmapped(what string, v string) error {
	return fmt.Errorf("%w: %s %q has no mapping (docs/sources.md)", ErrUnmapped, what, v)
}

func ptr[T any](v T) *T { return &v }
