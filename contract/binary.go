package contract

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"
)

// The binary encoding of a normalised event, what ingest writes to
// tripline.events so that the detector does not parse and validate again
// the JSON ingest already parsed and validated (docs/event-contract.md,
// "The binary encoding on tripline.events").
//
// Layout: the 4-byte magic "\x00tev" (a JSON document starts with '{',
// so the two never look alike), a version byte (1), then one entry per
// field that is set: a tag byte, the payload's length as an unsigned
// varint, the payload. Strings are their UTF-8 bytes; integers zigzag
// varints; booleans one byte, 0 or 1; time both as Unix nanoseconds and as
// its canonical RFC 3339 text (so decoding neither parses nor formats it);
// a list is one entry per element; an attribute is its key's length as a
// varint, the key, the value. A decoder skips tags it does not know, so a
// field added later under a new tag needs no new version; a new version
// means entries an old decoder would misread.
const (
	binaryMagic = "\x00tev"
	// BinaryVersion is the version of the binary encoding AppendBinary
	// writes and DecodeBinary reads.
	BinaryVersion = 1
	binaryHeader  = len(binaryMagic) + 1
)

// Tags of the binary encoding. Never renumber one: messages written by
// older workers stay in Kafka for the topic's retention.
const (
	tagEventID    = 1
	tagEventType  = 2
	tagTimeNanos  = 3
	tagTimeText   = 4
	tagTimeLocal  = 5
	tagMSP        = 6
	tagTenant     = 7
	tagTool       = 8
	tagOutcome    = 9
	tagReason     = 10
	tagAttribute  = 11
	tagActorUser  = 20
	tagActorIP    = 21
	tagActorCC    = 22
	tagActorASN   = 23
	tagActorMFA   = 24
	tagActorRole  = 25
	tagTargetHost = 30
	tagTargetN    = 31
	tagTargetOS   = 32
	tagTargetTag  = 33
	tagSessionID  = 40
	tagSessionDur = 41
	tagSessionAM  = 42
	tagCredName   = 50
	tagCredPriv   = 51
	tagPkgName    = 60
	tagPkgVersion = 61
	tagPkgSHA256  = 62
	tagPkgSigner  = 63
	tagPkgSigned  = 64
	tagScriptName = 70
	tagScriptSHA  = 71
	tagScriptInt  = 72
	tagScriptCmd  = 73
	tagSourceURL  = 80
	tagChange     = 81
	// Context: tagContext marks a context object (possibly empty); the
	// others are its fields.
	tagContext             = 90
	tagCtxMSPKnown         = 91
	tagCtxTenantContracted = 92
	tagCtxToolApproved     = 93
	tagCtxActorKnown       = 94
	tagCtxUsualCountry     = 95
	tagCtxOnShift          = 96
	tagCtxInWindow         = 97
	tagCtxWorkingHours     = 98
	tagCtxLocalHour        = 99
	tagCtxWeekday          = 100
	tagCtxAssetTag         = 101
	tagCtxUpdateSource     = 102
	// Provenance (AppendProvenance): where ingest read the event, not a
	// field of it.
	tagProvTopic     = 110
	tagProvPartition = 111
	tagProvOffset    = 112
)

// Encoding is how an ingest worker writes normalised events to
// tripline.events.
type Encoding string

const (
	// EncodingBinary is the binary encoding above: the default, and what
	// the detector decodes fastest.
	EncodingBinary Encoding = "binary"
	// EncodingJSON is the normalised JSON document, for consumers of
	// tripline.events other than tripline's detector that want JSON.
	EncodingJSON Encoding = "json"
)

// ParseEncoding reads an --events-encoding value.
func ParseEncoding(s string) (Encoding, error) {
	switch e := Encoding(s); e {
	case EncodingBinary, EncodingJSON:
		return e, nil
	}
	return "", fmt.Errorf("events encoding %q: want binary or json", s)
}

// DecodeStored decodes an event as tripline.events carries it: in the
// binary encoding or as a normalised JSON document, whichever the ingest
// worker that wrote it used (the two can meet in one partition during a
// rolling change of --events-encoding).
func (d *Decoder) DecodeStored(b []byte) (Event, error) {
	if IsBinary(b) {
		return DecodeBinary(b)
	}
	return d.Decode(b)
}

// DecodeOwned is DecodeStored for a message whose bytes the caller hands
// over to the event: b must never be written again. A binary-encoded
// event's strings then alias b instead of a copy of it, and the event, its
// numbers, booleans and context are one allocation: the detector decodes
// every event it reads and holds many until the watermark passes them, and
// the copy was about two thirds of its decoding time (profile of make
// bench-e2e). kafka-go's Reader allocates each
// fetched message's value on its own (readNewBytes) and never reuses it,
// which makes a fetched kafka.Message.Value such a b.
func (d *Decoder) DecodeOwned(b []byte) (*Event, error) {
	if !IsBinary(b) {
		dd := *d
		dd.AliasInput = true
		ev, err := dd.Decode(b)
		return &ev, err
	}
	o := new(ownedEvent)
	body := b[binaryHeader:]
	err := decodeBinary(&o.ev, binDecoder{sc: &o.sc}, b, unsafe.String(unsafe.SliceData(body), len(body)))
	return &o.ev, err
}

// ownedEvent is an event DecodeOwned made, with the scalars its pointer
// fields point into.
type ownedEvent struct {
	ev Event
	sc scalars
}

// IsBinary reports whether b is an event in the binary encoding (of any
// version) rather than a JSON document.
func IsBinary(b []byte) bool {
	return len(b) >= binaryHeader && string(b[:len(binaryMagic)]) == binaryMagic
}

// AppendBinary appends the binary encoding of e, a normalised event, to b
// (encoding.BinaryAppender). It fails only on an event no decoder produced:
// one without an ID, type, time or msp.
func (e *Event) AppendBinary(b []byte) ([]byte, error) {
	if e.EventID == "" || e.EventType == "" || e.Time.IsZero() || e.MSP == "" {
		return b, errors.New("binary encoding: the event is not normalised (no event_id, event_type, time or msp)")
	}
	b = append(b, binaryMagic...)
	b = append(b, BinaryVersion)
	b = appendStr(b, tagEventID, e.EventID)
	b = appendStr(b, tagEventType, e.EventType)
	b = appendInt(b, tagTimeNanos, e.Time.UnixNano())
	b = appendStr(b, tagTimeText, e.TimeText())
	b = appendStr(b, tagTimeLocal, e.TimeLocal)
	b = appendStr(b, tagMSP, e.MSP)
	b = appendStr(b, tagTenant, e.Tenant)
	b = appendStr(b, tagTool, e.Tool)
	b = appendStr(b, tagOutcome, e.Outcome)
	b = appendStr(b, tagReason, e.Reason)

	b = appendStr(b, tagActorUser, e.Actor.User)
	b = appendStr(b, tagActorIP, e.Actor.IP)
	b = appendStr(b, tagActorCC, e.Actor.Country)
	b = appendIntPtr(b, tagActorASN, e.Actor.ASN)
	b = appendBoolPtr(b, tagActorMFA, e.Actor.MFA)
	b = appendStr(b, tagActorRole, e.Actor.Role)
	b = appendStr(b, tagTargetHost, e.Target.Host)
	b = appendIntPtr(b, tagTargetN, e.Target.HostCount)
	b = appendStr(b, tagTargetOS, e.Target.OS)
	for _, t := range e.Target.Tags {
		b = appendEntry(b, tagTargetTag, t)
	}
	b = appendStr(b, tagSessionID, e.Session.ID)
	b = appendIntPtr(b, tagSessionDur, e.Session.DurationS)
	b = appendStr(b, tagSessionAM, e.Session.AuthMethod)
	b = appendStr(b, tagCredName, e.Credential.Name)
	b = appendBoolPtr(b, tagCredPriv, e.Credential.Privileged)
	b = appendStr(b, tagPkgName, e.Package.Name)
	b = appendStr(b, tagPkgVersion, e.Package.Version)
	b = appendStr(b, tagPkgSHA256, e.Package.SHA256)
	b = appendStr(b, tagPkgSigner, e.Package.Signer)
	b = appendBoolPtr(b, tagPkgSigned, e.Package.Signed)
	b = appendStr(b, tagScriptName, e.Script.Name)
	b = appendStr(b, tagScriptSHA, e.Script.SHA256)
	b = appendStr(b, tagScriptInt, e.Script.Interpreter)
	b = appendStr(b, tagScriptCmd, e.Script.Command)
	b = appendStr(b, tagSourceURL, e.Source.URL)
	b = appendStr(b, tagChange, e.Change.Ticket)
	if len(e.Attributes) > 0 {
		// In key order, so that one event always encodes to the same bytes.
		var inline [16]string
		keys := inline[:0]
		for k := range e.Attributes {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = appendAttribute(b, k, e.Attributes[k])
		}
	}
	if c := e.Context; c != nil {
		b = appendEntry(b, tagContext, "")
		b = appendBoolPtr(b, tagCtxMSPKnown, c.MSPKnown)
		b = appendBoolPtr(b, tagCtxTenantContracted, c.TenantContracted)
		b = appendBoolPtr(b, tagCtxToolApproved, c.ToolApproved)
		b = appendBoolPtr(b, tagCtxActorKnown, c.ActorKnown)
		b = appendBoolPtr(b, tagCtxUsualCountry, c.ActorUsualCountry)
		b = appendBoolPtr(b, tagCtxOnShift, c.ActorOnShift)
		b = appendBoolPtr(b, tagCtxInWindow, c.InMaintenanceWindow)
		b = appendBoolPtr(b, tagCtxWorkingHours, c.InWorkingHours)
		b = appendIntPtr(b, tagCtxLocalHour, c.LocalHour)
		b = appendStr(b, tagCtxWeekday, c.Weekday)
		for _, t := range c.AssetTags {
			b = appendEntry(b, tagCtxAssetTag, t)
		}
		b = appendBoolPtr(b, tagCtxUpdateSource, c.UpdateSourceListed)
	}
	return b, nil
}

// appendEntry appends one entry, whatever its payload.
func appendEntry(b []byte, tag byte, payload string) []byte {
	b = append(b, tag)
	b = binary.AppendUvarint(b, uint64(len(payload)))
	return append(b, payload...)
}

// appendStr appends a string field when set.
func appendStr(b []byte, tag byte, s string) []byte {
	if s == "" {
		return b
	}
	return appendEntry(b, tag, s)
}

func appendInt(b []byte, tag byte, v int64) []byte {
	var buf [binary.MaxVarintLen64]byte
	n := binary.PutVarint(buf[:], v)
	b = append(b, tag, byte(n))
	return append(b, buf[:n]...)
}

func appendIntPtr(b []byte, tag byte, v *int64) []byte {
	if v == nil {
		return b
	}
	return appendInt(b, tag, *v)
}

func appendBoolPtr(b []byte, tag byte, v *bool) []byte {
	if v == nil {
		return b
	}
	x := byte(0)
	if *v {
		x = 1
	}
	return append(b, tag, 1, x)
}

// appendAttribute appends an attribute entry.
func appendAttribute(b []byte, k, v string) []byte {
	b = append(b, tagAttribute)
	var kl [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(kl[:], uint64(len(k)))
	b = binary.AppendUvarint(b, uint64(n+len(k)+len(v)))
	b = append(b, kl[:n]...)
	b = append(b, k...)
	return append(b, v...)
}

// scalars holds an event's numbers, booleans and context in one
// allocation: the Event's pointer fields point into it.
type scalars struct {
	ints  [5]int64
	bools [12]bool
	ctx   Context
}

// DecodeBinary decodes an event AppendBinary encoded. Strings share one
// copy of b's bytes, and the numbers, booleans and context one more
// allocation, so an event costs two or three allocations (plus its tags
// and attributes, when it has them) instead of JSON's dozens. It checks
// what it needs to stay safe (lengths, UTF-8, a known event type, the
// fields every event has) and trusts the rest to the ingest worker that
// validated the event before encoding it; a message that fails is a
// *RejectError.
func DecodeBinary(b []byte) (Event, error) {
	var ev Event
	var s string
	if IsBinary(b) {
		s = string(b[binaryHeader:])
	}
	err := decodeBinary(&ev, binDecoder{}, b, s)
	return ev, err
}

// decodeBinary decodes b into ev. s holds the same bytes as b's body (what
// follows the header), and the event's strings are cut from it: a copy
// (DecodeBinary) or b itself (DecodeOwned). d hands out the pointer
// fields.
func decodeBinary(ev *Event, d binDecoder, b []byte, s string) error {
	if !IsBinary(b) {
		return reject(ReasonInvalidValue, "", "not a binary-encoded event")
	}
	if v := b[len(binaryMagic)]; v != BinaryVersion {
		return reject(ReasonInvalidValue, "", "binary encoding version %d; this build reads version %d", v, BinaryVersion)
	}
	body := b[binaryHeader:]
	for i := 0; i < len(body); {
		tag := body[i]
		n, w := binary.Uvarint(body[i+1:])
		if w <= 0 || n > uint64(len(body)-i-1-w) {
			return reject(ReasonInvalidValue, "", "binary encoding: bad length of the entry at byte %d", binaryHeader+i)
		}
		start := i + 1 + w
		end := start + int(n)
		payload, text := body[start:end], s[start:end]
		i = end
		var err error
		switch tag {
		case tagEventID:
			ev.EventID, err = utf8Str(text)
		case tagEventType:
			ev.EventType, err = utf8Str(text)
		case tagTimeNanos:
			var ns int64
			if ns, err = varint(payload); err == nil {
				ev.Time = time.Unix(0, ns).UTC()
			}
		case tagTimeText:
			ev.timeText, err = utf8Str(text)
		case tagTimeLocal:
			ev.TimeLocal, err = utf8Str(text)
		case tagMSP:
			ev.MSP, err = utf8Str(text)
		case tagTenant:
			ev.Tenant, err = utf8Str(text)
		case tagTool:
			ev.Tool, err = utf8Str(text)
		case tagOutcome:
			ev.Outcome, err = utf8Str(text)
		case tagReason:
			ev.Reason, err = utf8Str(text)
		case tagAttribute:
			kn, kw := binary.Uvarint(payload)
			if kw <= 0 || kn > uint64(len(payload)-kw) {
				return reject(ReasonInvalidValue, "attributes", "binary encoding: bad key length at byte %d", binaryHeader+start)
			}
			k, v := text[kw:kw+int(kn)], text[kw+int(kn):]
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return reject(ReasonInvalidUTF8, "attributes", "binary encoding: invalid UTF-8")
			}
			if ev.Attributes == nil {
				ev.Attributes = map[string]string{}
			}
			ev.Attributes[k] = v
		case tagActorUser:
			ev.Actor.User, err = utf8Str(text)
		case tagActorIP:
			ev.Actor.IP, err = utf8Str(text)
		case tagActorCC:
			ev.Actor.Country, err = utf8Str(text)
		case tagActorASN:
			ev.Actor.ASN, err = d.int(payload)
		case tagActorMFA:
			ev.Actor.MFA, err = d.bool(payload)
		case tagActorRole:
			ev.Actor.Role, err = utf8Str(text)
		case tagTargetHost:
			ev.Target.Host, err = utf8Str(text)
		case tagTargetN:
			ev.Target.HostCount, err = d.int(payload)
		case tagTargetOS:
			ev.Target.OS, err = utf8Str(text)
		case tagTargetTag:
			var t string
			if t, err = utf8Str(text); err == nil {
				ev.Target.Tags = append(ev.Target.Tags, t)
			}
		case tagSessionID:
			ev.Session.ID, err = utf8Str(text)
		case tagSessionDur:
			ev.Session.DurationS, err = d.int(payload)
		case tagSessionAM:
			ev.Session.AuthMethod, err = utf8Str(text)
		case tagCredName:
			ev.Credential.Name, err = utf8Str(text)
		case tagCredPriv:
			ev.Credential.Privileged, err = d.bool(payload)
		case tagPkgName:
			ev.Package.Name, err = utf8Str(text)
		case tagPkgVersion:
			ev.Package.Version, err = utf8Str(text)
		case tagPkgSHA256:
			ev.Package.SHA256, err = utf8Str(text)
		case tagPkgSigner:
			ev.Package.Signer, err = utf8Str(text)
		case tagPkgSigned:
			ev.Package.Signed, err = d.bool(payload)
		case tagScriptName:
			ev.Script.Name, err = utf8Str(text)
		case tagScriptSHA:
			ev.Script.SHA256, err = utf8Str(text)
		case tagScriptInt:
			ev.Script.Interpreter, err = utf8Str(text)
		case tagScriptCmd:
			ev.Script.Command, err = utf8Str(text)
		case tagSourceURL:
			ev.Source.URL, err = utf8Str(text)
		case tagChange:
			ev.Change.Ticket, err = utf8Str(text)
		case tagContext:
			d.context(ev)
		case tagCtxMSPKnown:
			d.context(ev).MSPKnown, err = d.bool(payload)
		case tagCtxTenantContracted:
			d.context(ev).TenantContracted, err = d.bool(payload)
		case tagCtxToolApproved:
			d.context(ev).ToolApproved, err = d.bool(payload)
		case tagCtxActorKnown:
			d.context(ev).ActorKnown, err = d.bool(payload)
		case tagCtxUsualCountry:
			d.context(ev).ActorUsualCountry, err = d.bool(payload)
		case tagCtxOnShift:
			d.context(ev).ActorOnShift, err = d.bool(payload)
		case tagCtxInWindow:
			d.context(ev).InMaintenanceWindow, err = d.bool(payload)
		case tagCtxWorkingHours:
			d.context(ev).InWorkingHours, err = d.bool(payload)
		case tagCtxLocalHour:
			d.context(ev).LocalHour, err = d.int(payload)
		case tagCtxWeekday:
			d.context(ev).Weekday, err = utf8Str(text)
		case tagCtxAssetTag:
			var t string
			if t, err = utf8Str(text); err == nil {
				c := d.context(ev)
				c.AssetTags = append(c.AssetTags, t)
			}
		case tagCtxUpdateSource:
			d.context(ev).UpdateSourceListed, err = d.bool(payload)
		case tagProvTopic, tagProvPartition, tagProvOffset:
			// Not part of the event: ReadProvenance reads them.
		default:
			// A field of a newer build: skipped, as the encoding promises.
		}
		if err != nil {
			return reject(ReasonInvalidValue, "", "binary encoding: entry %d at byte %d: %v", tag, binaryHeader+start-1-w, err)
		}
	}
	switch {
	case ev.EventID == "":
		return reject(ReasonMissingField, "event_id", "binary encoding without an event_id")
	case FamilyOf(ev.EventType) == FamilyUnknown:
		return reject(ReasonUnknownEventType, "event_type", "%s", strconv.Quote(ev.EventType))
	case ev.Time.IsZero():
		return reject(ReasonMissingField, "time", "binary encoding without a time")
	case ev.MSP == "":
		return reject(ReasonMissingField, "msp", "binary encoding without an msp")
	}
	if ev.timeText == "" {
		ev.timeText = ev.Time.Format(time.RFC3339Nano)
	}
	return nil
}

// Provenance is where ingest read an event: the raw message's topic,
// partition and offset. Ingest appends it to each binary-encoded event it
// forwards (AppendProvenance) instead of writing it as three message
// headers: a consumer reading through kafka-go's Reader pays two
// allocations for every header key and one for every value, ten for the
// three (BenchmarkConsumer), on the detector's every message, while the
// detector never reads them.
type Provenance struct {
	Topic     string
	Partition int
	Offset    int64
}

// AppendProvenance appends p to b, a binary-encoded event (AppendBinary),
// as entries that DecodeBinary and DecodeOwned skip (so do decoders of
// builds before them: the tags are new); ReadProvenance reads them back.
func AppendProvenance(b []byte, p Provenance) []byte {
	b = appendStr(b, tagProvTopic, p.Topic)
	b = appendInt(b, tagProvPartition, int64(p.Partition))
	return appendInt(b, tagProvOffset, p.Offset)
}

// ReadProvenance returns the provenance of b, a message of
// tripline.events; ok is false when b carries none (a JSON document, whose
// provenance is in the message's tripline-source-* headers, or an event
// written before ingest appended it). It checks only the entries' framing,
// not the event.
func ReadProvenance(b []byte) (p Provenance, ok bool, err error) {
	if !IsBinary(b) {
		return Provenance{}, false, nil
	}
	body := b[binaryHeader:]
	for i := 0; i < len(body); {
		tag := body[i]
		n, w := binary.Uvarint(body[i+1:])
		if w <= 0 || n > uint64(len(body)-i-1-w) {
			return Provenance{}, false, reject(ReasonInvalidValue, "", "binary encoding: bad length of the entry at byte %d", binaryHeader+i)
		}
		payload := body[i+1+w : i+1+w+int(n)]
		i += 1 + w + int(n)
		var v int64
		switch tag {
		case tagProvTopic:
			p.Topic, ok = string(payload), true
		case tagProvPartition:
			if v, err = varint(payload); err == nil {
				p.Partition, ok = int(v), true
			}
		case tagProvOffset:
			if p.Offset, err = varint(payload); err == nil {
				ok = true
			}
		}
		if err != nil {
			return Provenance{}, false, reject(ReasonInvalidValue, "", "binary encoding: provenance entry %d: %v", tag, err)
		}
	}
	return p, ok, nil
}

var errInvalidUTF8 = errors.New("invalid UTF-8")

func utf8Str(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errInvalidUTF8
	}
	return s, nil
}

func varint(p []byte) (int64, error) {
	v, n := binary.Varint(p)
	if n <= 0 || n != len(p) {
		return 0, errors.New("bad integer")
	}
	return v, nil
}

// binDecoder hands out the pointer fields of one event from its scalars.
type binDecoder struct {
	sc          *scalars
	nInt, nBool int
}

func (d *binDecoder) scalars() *scalars {
	if d.sc == nil {
		d.sc = new(scalars)
	}
	return d.sc
}

func (d *binDecoder) int(p []byte) (*int64, error) {
	v, err := varint(p)
	if err != nil {
		return nil, err
	}
	sc := d.scalars()
	if d.nInt == len(sc.ints) { // a repeated field: more than the event has
		x := new(int64)
		*x = v
		return x, nil
	}
	sc.ints[d.nInt] = v
	d.nInt++
	return &sc.ints[d.nInt-1], nil
}

func (d *binDecoder) bool(p []byte) (*bool, error) {
	if len(p) != 1 || p[0] > 1 {
		return nil, fmt.Errorf("bad boolean % x", p)
	}
	v := p[0] == 1
	sc := d.scalars()
	if d.nBool == len(sc.bools) {
		x := new(bool)
		*x = v
		return x, nil
	}
	sc.bools[d.nBool] = v
	d.nBool++
	return &sc.bools[d.nBool-1], nil
}

// context is ev's context, made (in the scalars) at its first entry.
func (d *binDecoder) context(ev *Event) *Context {
	if ev.Context == nil {
		ev.Context = &d.scalars().ctx
	}
	return ev.Context
}
