package contract

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-json"
	"github.com/google/uuid"
)

// IDNamespace is the UUIDv5 namespace of derived event IDs. Changing it would
// change every derived ID and break replay deduplication: never do.
var IDNamespace = uuid.MustParse("6f0c3f9e-4a55-5b8e-9a3c-7472706c696e")

// earliest is the oldest event time the contract accepts.
var earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// maxFuture is how far ahead of the receiver's clock an event may be.
const maxFuture = 24 * time.Hour

// Decoder turns wire bytes into normalised events. The zero value is ready
// to use and checks times against the wall clock.
type Decoder struct {
	// Now is the clock for the future-time check; nil means time.Now.
	Now func() time.Time
	// DiscardContext ignores a "context" object in the input, whatever it
	// holds, before the event ID is derived. Ingest sets it: context.* is
	// derived from the registry, and a producer must not be able to spoof
	// it (or change an event's ID with it). The zero value reads "context"
	// back, as the detector must for normalised events.
	DiscardContext bool
	// MaxBytes is the largest input accepted; 0 means MaxMessageBytes, the
	// contract's limit for what producers send. A reader of normalised
	// documents sets MaxNormalisedBytes.
	MaxBytes int
	// AliasInput lets the event's strings point into the input instead of
	// copies of it. Set it only for input nobody writes to again, such as
	// a fetched Kafka message's value (kafka-go allocates one for each
	// message): ingest's own messages. The event keeps the input alive.
	AliasInput bool
}

// Decoding uses github.com/goccy/go-json, a drop-in for encoding/json at
// about twice its speed (decode is most of ingest's CPU); error types and
// messages are the same shape, which the rejection tests pin.

// wire mirrors the contract; the decoder reports wrong types with the
// field's path. Absent, JSON null and empty read the same for every field
// here (a missing required field is one that is empty after trimming), so
// its fields are values, not pointers that would cost an allocation each.
type wire struct {
	EventID    string            `json:"event_id"`
	EventType  string            `json:"event_type"`
	Time       string            `json:"time"`
	TimeLocal  json.RawMessage   `json:"time_local"`
	MSP        string            `json:"msp"`
	Tenant     string            `json:"tenant"`
	Tool       string            `json:"tool"`
	Actor      Actor             `json:"actor"`
	Target     Target            `json:"target"`
	Session    Session           `json:"session"`
	Credential Credential        `json:"credential"`
	Package    Package           `json:"package"`
	Script     Script            `json:"script"`
	Source     Source            `json:"source"`
	Outcome    string            `json:"outcome"`
	Reason     string            `json:"reason"`
	Change     Change            `json:"change"`
	Attributes map[string]string `json:"attributes"`
	Context    json.RawMessage   `json:"context"`
}

// knownTop and knownNested list the contract's field names; anything else
// is kept in attributes rather than dropped.
var knownTop = map[string]bool{
	"event_id": true, "event_type": true, "time": true, "time_local": true, "msp": true, "tenant": true,
	"tool": true, "actor": true, "target": true, "session": true, "credential": true,
	"package": true, "script": true, "source": true, "outcome": true, "reason": true,
	"change": true, "attributes": true, "context": true,
}

var knownNested = map[string]map[string]bool{
	"actor":      {"user": true, "ip": true, "country": true, "asn": true, "mfa": true, "role": true},
	"target":     {"host": true, "host_count": true, "os": true, "tags": true},
	"session":    {"id": true, "duration_s": true, "auth_method": true},
	"credential": {"name": true, "privileged": true},
	"package":    {"name": true, "version": true, "sha256": true, "signer": true, "signed": true},
	"script":     {"name": true, "sha256": true, "interpreter": true, "command": true},
	"source":     {"url": true},
	"change":     {"ticket": true},
}

// Decode validates and normalises one message. A contract violation is
// returned as a *RejectError.
func (d *Decoder) Decode(raw []byte) (Event, error) {
	var ev Event
	_, err := d.decode(&ev, raw, false)
	return ev, err
}

// DecodeInto is Decode into *ev, which it overwrites whole: the caller
// chooses where the event lives (ingest decodes a batch into one slab)
// and no Event is copied on the way.
func (d *Decoder) DecodeInto(ev *Event, raw []byte) error {
	*ev = Event{}
	_, err := d.decode(ev, raw, false)
	return err
}

// DecodeNormalised is Decode that also returns the normalised JSON
// (MarshalJSON's output). Ingest needs both; deriving an ID already
// marshals the event, so this saves a second encoding.
func (d *Decoder) DecodeNormalised(raw []byte) (Event, []byte, error) {
	var ev Event
	doc, err := d.decode(&ev, raw, true)
	return ev, doc, err
}

// DecodeNormalisedInto is DecodeNormalised into *ev, as DecodeInto is
// Decode.
func (d *Decoder) DecodeNormalisedInto(ev *Event, raw []byte) ([]byte, error) {
	*ev = Event{}
	return d.decode(ev, raw, true)
}

// decode fills *ev, which is zero.
func (d *Decoder) decode(ev *Event, raw []byte, wantDoc bool) ([]byte, error) {
	if err := d.validate(ev, raw); err != nil {
		return nil, err
	}
	if ev.EventID != "" && !wantDoc {
		return nil, nil
	}
	// A derived ID hashes the document without time_local (see DeriveID);
	// the offset is spliced in afterwards rather than encoding twice.
	local := ev.TimeLocal
	if ev.EventID == "" {
		ev.TimeLocal = ""
	}
	// Only hashed, the document is built in a recycled buffer.
	var scratch *[]byte
	buf := make([]byte, 0, 1024)
	if !wantDoc {
		scratch = scratchDocs.Get().(*[]byte)
		buf = (*scratch)[:0]
	}
	doc, err := ev.marshal(buf)
	if err != nil {
		return nil, reject(ReasonInvalidValue, "", "cannot encode the normalised event: %v", err)
	}
	if ev.EventID == "" {
		ev.EventID = idOf(doc)
		ev.TimeLocal = local
		if wantDoc {
			doc = withID(doc, ev.EventID, local)
		}
	}
	if scratch != nil {
		*scratch = doc[:0]
		scratchDocs.Put(scratch)
		doc = nil
	}
	return doc, nil
}

// scratchDocs recycles the buffers of documents built only to derive an
// event's ID.
var scratchDocs = sync.Pool{New: func() any { return new([]byte) }}

// emptyIDPrefix is how a marshalled Event without ID starts: event_id is
// the first field and has no omitempty.
const emptyIDPrefix = `{"event_id":""`

// timeKey precedes the time value in a marshalled Event (event_type, a
// fixed set of slugs, is the only field before it).
const timeKey = `,"time":"`

// withID splices id into a document marshalled with an empty event_id and
// no time_local, and local (when set) after the time, where MarshalJSON
// puts it. Derived IDs are UUIDs and times RFC 3339: neither needs JSON
// escaping.
func withID(doc []byte, id, local string) []byte {
	out := make([]byte, 0, len(doc)+len(id)+len(local)+len(`,"time_local":""`))
	out = append(out, `{"event_id":"`...)
	out = append(out, id...)
	out = append(out, '"')
	rest := doc[len(emptyIDPrefix):]
	if local == "" {
		return append(out, rest...)
	}
	i := bytes.Index(rest, []byte(timeKey))
	j := -1
	if i >= 0 {
		j = bytes.IndexByte(rest[i+len(timeKey):], '"')
	}
	if j < 0 {
		// Unreachable for a marshalled Event; keep the document valid.
		return append(out, rest...)
	}
	end := i + len(timeKey) + j + 1
	out = append(out, rest[:end]...)
	out = append(out, `,"time_local":"`...)
	out = append(out, local...)
	out = append(out, '"')
	return append(out, rest[end:]...)
}

func idOf(canonical []byte) string { return uuid.NewSHA1(IDNamespace, canonical).String() }

func (d *Decoder) validate(ev *Event, raw []byte) error {
	limit := MaxMessageBytes
	if d.MaxBytes > 0 {
		limit = d.MaxBytes
	}
	if len(raw) > limit {
		return reject(ReasonOversize, "", "message is %d bytes, limit %d", len(raw), limit)
	}
	if !utf8.Valid(raw) {
		return reject(ReasonInvalidUTF8, "", "message is not valid UTF-8")
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return reject(ReasonMalformedJSON, "", "message is not a JSON object")
	}
	if rej := checkStructure(trimmed); rej != nil {
		return rej
	}

	w := wires.Get().(*wire)
	defer func() {
		*w = wire{} // pins nothing of this message while pooled
		wires.Put(w)
	}()
	var extra map[string]string
	opts := strictOpts
	if d.AliasInput {
		opts = strictNoCopyOpts
	}
	if err := json.UnmarshalWithOption(trimmed, w, opts...); err != nil {
		// Not a contract event as it stands (fields outside the contract,
		// wrong types, bad syntax): decoded again the way that says best
		// what is wrong, or that collects the fields outside the contract.
		*w = wire{}
		if extra, err = decodeLenient(trimmed, w); err != nil {
			return err
		}
	}
	return d.normalise(ev, w, extra)
}

// wires recycles the wire a message decodes into. It is passed to go-json
// as an interface, so it lives on the heap: a new one for every message
// was 4 % of ingest's CPU (make bench-e2e). normalise copies what it keeps
// out of it (the tags' array and the strings are the message's, not the
// wire's), so clearing it is all a reuse needs.
var wires = sync.Pool{New: func() any { return new(wire) }}

// strictOpts and strictNoCopyOpts are the options of the strict decoding,
// built once: appending them per message allocated.
var (
	strictOpts       = []json.DecodeOptionFunc{disallowUnknownFields}
	strictNoCopyOpts = []json.DecodeOptionFunc{disallowUnknownFields, json.DecodeNoCopyString()}
)

// disallowUnknownFields is go-json's Decoder.DisallowUnknownFields as an
// option of UnmarshalWithOption, which has no option function for it (the
// flag's value is pinned by TestUnmarshalOptions). Unmarshal decodes the
// message in place, where the Decoder reads it through a stream (a reader,
// a buffer it grows): that stream was a third of decoding a valid event.
func disallowUnknownFields(o *json.DecodeOption) { o.Flags |= 1 << 4 }

// decodeLenient decodes a message the strict decoding refused: it reports
// what is wrong with it, or decodes it without the fields outside the
// contract and returns those as attributes.
func decodeLenient(trimmed []byte, w *wire) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	err := dec.Decode(w)
	var extra map[string]string
	switch {
	case err == nil:
		if dec.More() {
			return nil, reject(ReasonMalformedJSON, "", "trailing data after the JSON object")
		}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// Fields outside the contract. Decode again leniently (Unmarshal
		// also rejects trailing data) and collect the unknown ones into
		// attributes.
		*w = wire{}
		err = json.Unmarshal(trimmed, w)
		if err == nil {
			extra, err = unknownFields(trimmed)
		}
	}
	if err != nil {
		return nil, jsonReject(err)
	}
	return extra, nil
}

func jsonReject(err error) *RejectError {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		return reject(ReasonWrongType, field, "expected %s, got JSON %s", typeErr.Type, typeErr.Value)
	}
	return reject(ReasonMalformedJSON, "", "%v", err)
}

// unknownFields returns the fields outside the contract, as attribute
// entries: top-level names as they are, nested ones as "object.name". String
// values are kept as is, anything else as its JSON text.
func unknownFields(raw []byte) (map[string]string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range top {
		if !knownTop[k] {
			out[k] = attributeText(v)
			continue
		}
		known, nested := knownNested[k]
		if !nested || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(v, &obj); err != nil {
			return nil, err
		}
		for nk, nv := range obj {
			if !known[nk] {
				out[k+"."+nk] = attributeText(nv)
			}
		}
	}
	return out, nil
}

func attributeText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var compact bytes.Buffer
	if json.Compact(&compact, v) == nil {
		return compact.String()
	}
	return string(v)
}

func (d *Decoder) normalise(ev *Event, w *wire, extra map[string]string) error {
	str := strings.TrimSpace

	ev.EventType = strings.ToLower(str(w.EventType))
	if ev.EventType == "" {
		return reject(ReasonMissingField, "event_type", "required")
	}
	if FamilyOf(ev.EventType) == FamilyUnknown {
		return reject(ReasonUnknownEventType, "event_type", "%s is not a contract v1 event type", quoteShort(ev.EventType))
	}

	timeText := str(w.Time)
	if timeText == "" {
		return reject(ReasonMissingField, "time", "required")
	}
	t, err := time.Parse(time.RFC3339Nano, timeText)
	if err != nil {
		return reject(ReasonInvalidValue, "time", "not RFC 3339 with offset: %s", quoteShort(timeText))
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	if t.Before(earliest) {
		return reject(ReasonTimeOutOfRange, "time", "%s is before 2000-01-01", timeText)
	}
	if t.After(now().Add(maxFuture)) {
		return reject(ReasonTimeOutOfRange, "time", "%s is more than 24h in the future", timeText)
	}
	ev.Time = t.UTC()
	if ev.TimeLocal, err = d.localTime(timeText, t, w.TimeLocal); err != nil {
		return err
	}

	if ev.MSP = str(w.MSP); ev.MSP == "" {
		return reject(ReasonMissingField, "msp", "required")
	}
	if err := identifier(ev.MSP, "msp"); err != nil {
		return err
	}
	ev.Tenant = str(w.Tenant)
	if ev.Tenant == "" && RequiresTenant(ev.EventType) {
		return reject(ReasonMissingField, "tenant", "required for %s", ev.EventType)
	}
	if err := identifier(ev.Tenant, "tenant"); err != nil {
		return err
	}
	ev.Tool = strings.ToLower(str(w.Tool))
	if ev.Tool == "" {
		return reject(ReasonMissingField, "tool", "required")
	}
	if err := identifier(ev.Tool, "tool"); err != nil {
		return err
	}
	if !isSlug(ev.Tool) {
		return reject(ReasonInvalidValue, "tool", "%s is not a slug (a-z, 0-9, '-', '_', '.')", quoteShort(ev.Tool))
	}

	ev.Actor = w.Actor
	if err := normaliseActor(&ev.Actor); err != nil {
		return err
	}
	if ev.Actor.User == "" && requiresUser(ev.EventType) {
		return reject(ReasonMissingField, "actor.user", "required for %s", ev.EventType)
	}
	// An absent object normalises to the zero value, as it decoded.
	ev.Target = w.Target
	ev.Target.Host = strings.TrimSpace(ev.Target.Host)
	if err := identifier(ev.Target.Host, "target.host"); err != nil {
		return err
	}
	ev.Target.OS = strings.TrimSpace(ev.Target.OS)
	if err := nonNegative(ev.Target.HostCount, "target.host_count"); err != nil {
		return err
	}
	ev.Target.Tags = normaliseTags(ev.Target.Tags)
	ev.Session = w.Session
	ev.Session.ID = strings.TrimSpace(ev.Session.ID)
	if err := identifier(ev.Session.ID, "session.id"); err != nil {
		return err
	}
	ev.Session.AuthMethod = strings.TrimSpace(ev.Session.AuthMethod)
	if err := nonNegative(ev.Session.DurationS, "session.duration_s"); err != nil {
		return err
	}
	ev.Credential = w.Credential
	ev.Credential.Name = strings.TrimSpace(ev.Credential.Name)
	ev.Package = w.Package
	p := &ev.Package
	p.Name, p.Version, p.Signer = strings.TrimSpace(p.Name), strings.TrimSpace(p.Version), strings.TrimSpace(p.Signer)
	if p.SHA256, err = normaliseSHA256(p.SHA256, "package.sha256"); err != nil {
		return err
	}
	ev.Script = w.Script
	sc := &ev.Script
	sc.Name, sc.Interpreter, sc.Command = strings.TrimSpace(sc.Name), strings.ToLower(strings.TrimSpace(sc.Interpreter)), strings.TrimSpace(sc.Command)
	if sc.SHA256, err = normaliseSHA256(sc.SHA256, "script.sha256"); err != nil {
		return err
	}
	ev.Source.URL = strings.TrimSpace(w.Source.URL)
	ev.Outcome = strings.ToLower(str(w.Outcome))
	if ev.Outcome != "" && ev.Outcome != "success" && ev.Outcome != "failure" {
		return reject(ReasonInvalidValue, "outcome", "%s is neither success nor failure", quoteShort(ev.Outcome))
	}
	ev.Reason = str(w.Reason)
	ev.Change.Ticket = strings.TrimSpace(w.Change.Ticket)
	if d.DiscardContext && len(w.TimeLocal) > 0 {
		// time_local is derived; one a producer sends stays what any field
		// outside the contract is, an attribute.
		if extra == nil {
			extra = map[string]string{}
		}
		extra["time_local"] = attributeText(w.TimeLocal)
	}
	if len(w.Attributes) > 0 || len(extra) > 0 {
		ev.Attributes = make(map[string]string, len(w.Attributes)+len(extra))
		for k, v := range extra {
			ev.Attributes[k] = v
		}
		// Explicit attributes win over same-named fields outside the contract.
		for k, v := range w.Attributes {
			ev.Attributes[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		if len(ev.Attributes) > MaxAttributes {
			return reject(ReasonLimitExceeded, "attributes", "%d entries (with fields outside the contract), limit %d", len(ev.Attributes), MaxAttributes)
		}
		for k := range ev.Attributes {
			if len(k) > MaxIdentifierBytes {
				return reject(ReasonLimitExceeded, "attributes", "key %s is %d bytes, limit %d", quoteShort(k), len(k), MaxIdentifierBytes)
			}
		}
	}
	if !d.DiscardContext && len(w.Context) > 0 && !bytes.Equal(w.Context, []byte("null")) {
		var c Context
		if err := json.Unmarshal(w.Context, &c); err != nil {
			return reject(ReasonWrongType, "context", "not a context object: %v", err)
		}
		ev.Context = &c
	}
	ev.timeText = formatReusing(ev.Time, time.RFC3339Nano, timeText)

	ev.EventID = str(w.EventID)
	if err := identifier(ev.EventID, "event_id"); err != nil {
		return err
	}
	return nil
}

// localTime is the event time in the producer's own offset, from the
// wire's time (or, in a normalised document, its time_local). "Z" and
// "-00:00" say the local offset is unknown (RFC 9557, RFC 3339 4.3): no
// local time then. A normalised document's time_local must name the same
// instant as its time.
func (d *Decoder) localTime(text string, t time.Time, sent json.RawMessage) (string, error) {
	local := ""
	if knownOffset(text) {
		local = formatReusing(t, localLayout, text)
	}
	if d.DiscardContext || len(sent) == 0 || bytes.Equal(sent, []byte("null")) {
		return local, nil
	}
	var s string
	if err := json.Unmarshal(sent, &s); err != nil {
		return "", reject(ReasonWrongType, "time_local", "expected string, got JSON %s", jsonKind(sent))
	}
	if s = strings.TrimSpace(s); s == "" {
		return local, nil
	}
	lt, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !knownOffset(s) {
		return "", reject(ReasonInvalidValue, "time_local", "not RFC 3339 with a local offset: %s", quoteShort(s))
	}
	if !lt.Equal(t) {
		return "", reject(ReasonInvalidValue, "time_local", "%s is not the instant of time %s", quoteShort(s), quoteShort(text))
	}
	return lt.Format(localLayout), nil
}

// formatReusing is t.Format(layout), or text when that is what it would
// write: most producers already send their times that way, and the
// string then costs no allocation.
func formatReusing(t time.Time, layout, text string) string {
	var buf [64]byte
	b := t.AppendFormat(buf[:0], layout)
	if string(b) == text {
		return text
	}
	return string(b)
}

// localLayout is RFC 3339 that writes a zero offset as +00:00, never Z:
// "Z" would read back as "offset unknown".
const localLayout = "2006-01-02T15:04:05.999999999-07:00"

// knownOffset reports whether an RFC 3339 time names a local offset.
func knownOffset(s string) bool {
	if n := len(s); n > 0 && (s[n-1] == 'Z' || s[n-1] == 'z') {
		return false
	}
	return !strings.HasSuffix(s, "-00:00")
}

// jsonKind names the JSON type of a raw value for a wrong_type message.
func jsonKind(v json.RawMessage) string {
	switch b := bytes.TrimSpace(v); {
	case len(b) == 0:
		return "value"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	case b[0] == '"':
		return "string"
	case b[0] == 't' || b[0] == 'f':
		return "bool"
	}
	return "number"
}

// identifier rejects an identifier longer than MaxIdentifierBytes: IDs are
// ClickHouse sort keys, Kafka keys and log fields, and an unbounded one
// costs in all three.
func identifier(s, field string) error {
	if len(s) > MaxIdentifierBytes {
		return reject(ReasonLimitExceeded, field, "%d bytes, limit %d", len(s), MaxIdentifierBytes)
	}
	return nil
}

// quoteShort quotes s for an error message, cut to 64 bytes: an error is a
// dead-letter header and a log field, and must not carry a megabyte value.
func quoteShort(s string) string { return strconv.Quote(truncateKey(s)) }

func normaliseActor(a *Actor) error {
	a.User = strings.TrimSpace(a.User)
	if err := identifier(a.User, "actor.user"); err != nil {
		return err
	}
	a.Role = strings.TrimSpace(a.Role)
	if a.IP = strings.TrimSpace(a.IP); a.IP != "" {
		addr, err := netip.ParseAddr(a.IP)
		if err != nil {
			return reject(ReasonInvalidValue, "actor.ip", "%s is not an IP address", quoteShort(a.IP))
		}
		a.IP = addr.Unmap().String()
	}
	if a.Country = strings.ToUpper(strings.TrimSpace(a.Country)); a.Country != "" {
		if len(a.Country) != 2 || !isUpperAlpha(a.Country) {
			return reject(ReasonInvalidValue, "actor.country", "%s is not an ISO 3166-1 alpha-2 code", quoteShort(a.Country))
		}
	}
	return nonNegative(a.ASN, "actor.asn")
}

func nonNegative(n *int64, field string) error {
	if n != nil && *n < 0 {
		return reject(ReasonInvalidValue, field, "must not be negative, got %d", *n)
	}
	return nil
}

func normaliseSHA256(s, field string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", nil
	}
	if len(s) != 64 || strings.Trim(s, "0123456789abcdef") != "" {
		return "", reject(ReasonInvalidValue, field, "not a hex SHA-256 (64 hex digits)")
	}
	return s, nil
}

func normaliseTags(tags []string) []string {
	out := tags[:0]
	for _, t := range tags {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func isSlug(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func isUpperAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// DeriveID is the deterministic ID of an event that came without one: a
// UUIDv5 over its canonical normalised JSON (event_id left empty), so the
// same message replayed gets the same ID and deduplicates.
func DeriveID(ev *Event) string {
	c := *ev
	c.EventID = ""
	c.TimeLocal = ""
	b, err := c.MarshalJSON()
	if err != nil {
		// Marshalling a validated Event cannot fail; fall back to a
		// deterministic but coarser identity rather than a random one.
		b = []byte(ev.EventType + "|" + ev.TimeText() + "|" + ev.MSP + "|" + ev.Tenant)
	}
	return idOf(b)
}

// MarshalJSON encodes the normalised event, canonically (attributes in key
// order). Derived IDs hash this output, so its bytes must stay exactly as
// they are: what encoding/json produces for the Event's fields, which
// TestMarshalJSONIsEncodingJSON holds it to over random events. It is
// written out by hand, without reflection, because every event without an
// event_id is marshalled for its ID (encoding/json took a quarter of
// ingest's decoding of such events).
func (e Event) MarshalJSON() ([]byte, error) {
	return e.marshal(make([]byte, 0, 1024))
}

// marshal appends MarshalJSON's output to b.
func (e *Event) marshal(b []byte) ([]byte, error) {
	out, ok := e.appendJSON(b)
	if !ok {
		// A time RFC 3339 cannot write (year outside 0-9999): encoding/json's
		// own error.
		type plain Event
		return stdjson.Marshal(plain(*e))
	}
	return out, nil
}

// appendJSON appends MarshalJSON's output to b; false when the time cannot
// be written.
func (e *Event) appendJSON(b []byte) ([]byte, bool) {
	var j jsonObject
	b = j.str(b, "event_id", e.EventID)
	b = j.str(b, "event_type", e.EventType)
	b = j.key(b, "time")
	b = append(b, '"')
	b, err := e.Time.AppendText(b)
	if err != nil {
		return b, false
	}
	b = append(b, '"')
	b = j.optStr(b, "time_local", e.TimeLocal)
	b = j.str(b, "msp", e.MSP)
	b = j.optStr(b, "tenant", e.Tenant)
	b = j.str(b, "tool", e.Tool)
	if a := &e.Actor; *a != (Actor{}) {
		var o jsonObject
		b = o.open(j.key(b, "actor"))
		b = o.optStr(b, "user", a.User)
		b = o.optStr(b, "ip", a.IP)
		b = o.optStr(b, "country", a.Country)
		b = o.optInt(b, "asn", a.ASN)
		b = o.optBool(b, "mfa", a.MFA)
		b = o.optStr(b, "role", a.Role)
		b = append(b, '}')
	}
	if t := &e.Target; t.Host != "" || t.HostCount != nil || t.OS != "" || t.Tags != nil {
		var o jsonObject
		b = o.open(j.key(b, "target"))
		b = o.optStr(b, "host", t.Host)
		b = o.optInt(b, "host_count", t.HostCount)
		b = o.optStr(b, "os", t.OS)
		b = o.optStrs(b, "tags", t.Tags)
		b = append(b, '}')
	}
	if s := &e.Session; *s != (Session{}) {
		var o jsonObject
		b = o.open(j.key(b, "session"))
		b = o.optStr(b, "id", s.ID)
		b = o.optInt(b, "duration_s", s.DurationS)
		b = o.optStr(b, "auth_method", s.AuthMethod)
		b = append(b, '}')
	}
	if c := &e.Credential; *c != (Credential{}) {
		var o jsonObject
		b = o.open(j.key(b, "credential"))
		b = o.optStr(b, "name", c.Name)
		b = o.optBool(b, "privileged", c.Privileged)
		b = append(b, '}')
	}
	if p := &e.Package; *p != (Package{}) {
		var o jsonObject
		b = o.open(j.key(b, "package"))
		b = o.optStr(b, "name", p.Name)
		b = o.optStr(b, "version", p.Version)
		b = o.optStr(b, "sha256", p.SHA256)
		b = o.optStr(b, "signer", p.Signer)
		b = o.optBool(b, "signed", p.Signed)
		b = append(b, '}')
	}
	if s := &e.Script; *s != (Script{}) {
		var o jsonObject
		b = o.open(j.key(b, "script"))
		b = o.optStr(b, "name", s.Name)
		b = o.optStr(b, "sha256", s.SHA256)
		b = o.optStr(b, "interpreter", s.Interpreter)
		b = o.optStr(b, "command", s.Command)
		b = append(b, '}')
	}
	if e.Source != (Source{}) {
		var o jsonObject
		b = o.open(j.key(b, "source"))
		b = o.optStr(b, "url", e.Source.URL)
		b = append(b, '}')
	}
	b = j.optStr(b, "outcome", e.Outcome)
	b = j.optStr(b, "reason", e.Reason)
	if e.Change != (Change{}) {
		var o jsonObject
		b = o.open(j.key(b, "change"))
		b = o.optStr(b, "ticket", e.Change.Ticket)
		b = append(b, '}')
	}
	if len(e.Attributes) > 0 {
		var o jsonObject
		b = o.open(j.key(b, "attributes"))
		for _, k := range e.AttributeKeys() {
			b = o.key(b, k)
			b = appendJSONString(b, e.Attributes[k])
		}
		b = append(b, '}')
	}
	if e.Context != nil {
		b = e.Context.AppendJSON(j.key(b, "context"))
	}
	return append(b, '}'), true
}

// jsonObject writes the members of one JSON object as encoding/json does:
// omitempty strings, pointers and lists are left out when empty or nil.
type jsonObject struct{ started bool }

// open starts the object (its first member comes through key).
func (o *jsonObject) open(b []byte) []byte {
	o.started = true
	return append(b, '{')
}

// key writes a member's name, and the comma before every member but the
// first; the outermost object opens at its first key.
func (o *jsonObject) key(b []byte, k string) []byte {
	switch {
	case !o.started:
		o.started = true
		b = append(b, '{')
	case b[len(b)-1] != '{':
		b = append(b, ',')
	}
	b = appendJSONString(b, k)
	return append(b, ':')
}

func (o *jsonObject) str(b []byte, k, v string) []byte {
	return appendJSONString(o.key(b, k), v)
}

func (o *jsonObject) optStr(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	return o.str(b, k, v)
}

func (o *jsonObject) optInt(b []byte, k string, v *int64) []byte {
	if v == nil {
		return b
	}
	return strconv.AppendInt(o.key(b, k), *v, 10)
}

func (o *jsonObject) optBool(b []byte, k string, v *bool) []byte {
	if v == nil {
		return b
	}
	return strconv.AppendBool(o.key(b, k), *v)
}

func (o *jsonObject) optStrs(b []byte, k string, v []string) []byte {
	if len(v) == 0 {
		return b
	}
	b = append(o.key(b, k), '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// AttributeKeys returns the attribute names sorted, for stable storage.
func (e *Event) AttributeKeys() []string {
	keys := make([]string, 0, len(e.Attributes))
	for k := range e.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
