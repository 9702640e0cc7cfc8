package adapt

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/tripline/tripline/contract"
)

// Encode returns the event's contract v1 JSON: byte for byte what
// contract.Event.MarshalJSON (encoding/json) writes, without reflection
// (TestEncodeMatchesMarshal and the fuzz tests hold it to that). An event
// an adapter emitted always encodes.
func Encode(ev *contract.Event) ([]byte, error) { return AppendEncode(nil, ev) }

// AppendEncode is Encode appending to dst, for a caller that reuses its
// buffer.
func AppendEncode(dst []byte, ev *contract.Event) ([]byte, error) {
	if ev.Context != nil {
		b, err := ev.MarshalJSON()
		return append(dst, b...), err
	}
	if y := ev.Time.Year(); y < 0 || y > 9999 {
		return dst, fmt.Errorf("time %v: year outside of range [0,9999]", ev.Time)
	}
	n := len(dst)
	if dst == nil {
		dst = make([]byte, 0, 1024)
	}
	b := appendEvent(dst, ev, nil, nil)
	if len(b)-n > contract.MaxMessageBytes {
		return dst[:n], fmt.Errorf("event is %d bytes, limit %d", len(b)-n, contract.MaxMessageBytes)
	}
	return b, nil
}

// appendEvent writes ev's encoding, its attributes from at when at
// tracks them (else from the map). With long non-nil, it also sets *long
// to an attribute key longer than contract.MaxIdentifierBytes (trimmed),
// if there is one.
func appendEvent(b []byte, ev *contract.Event, at *attrs, long *string) []byte {
	b = append(b, `{"event_id":`...)
	b = appendString(b, ev.EventID)
	b = append(b, `,"event_type":`...)
	b = appendString(b, ev.EventType)
	b = append(b, `,"time":"`...)
	b = ev.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","msp":`...)
	b = appendString(b, ev.MSP)
	b = field(b, "tenant", ev.Tenant)
	b = append(b, `,"tool":`...)
	b = appendString(b, ev.Tool)
	if a := &ev.Actor; *a != (contract.Actor{}) {
		b = append(b, `,"actor":{`...)
		n := len(b)
		b = field(b, "user", a.User)
		b = field(b, "ip", a.IP)
		b = field(b, "country", a.Country)
		b = intField(b, "asn", a.ASN)
		b = boolField(b, "mfa", a.MFA)
		b = field(b, "role", a.Role)
		b = closeObj(b, n)
	}
	if t := &ev.Target; t.Host != "" || t.HostCount != nil || t.OS != "" || t.Tags != nil {
		b = append(b, `,"target":{`...)
		n := len(b)
		b = field(b, "host", t.Host)
		b = intField(b, "host_count", t.HostCount)
		b = field(b, "os", t.OS)
		if len(t.Tags) > 0 {
			b = append(b, `,"tags":[`...)
			for i, tag := range t.Tags {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, tag)
			}
			b = append(b, ']')
		}
		b = closeObj(b, n)
	}
	if s := &ev.Session; *s != (contract.Session{}) {
		b = append(b, `,"session":{`...)
		n := len(b)
		b = field(b, "id", s.ID)
		b = intField(b, "duration_s", s.DurationS)
		b = field(b, "auth_method", s.AuthMethod)
		b = closeObj(b, n)
	}
	if c := &ev.Credential; *c != (contract.Credential{}) {
		b = append(b, `,"credential":{`...)
		n := len(b)
		b = field(b, "name", c.Name)
		b = boolField(b, "privileged", c.Privileged)
		b = closeObj(b, n)
	}
	if p := &ev.Package; *p != (contract.Package{}) {
		b = append(b, `,"package":{`...)
		n := len(b)
		b = field(b, "name", p.Name)
		b = field(b, "version", p.Version)
		b = field(b, "sha256", p.SHA256)
		b = field(b, "signer", p.Signer)
		b = boolField(b, "signed", p.Signed)
		b = closeObj(b, n)
	}
	if s := &ev.Script; *s != (contract.Script{}) {
		b = append(b, `,"script":{`...)
		n := len(b)
		b = field(b, "name", s.Name)
		b = field(b, "sha256", s.SHA256)
		b = field(b, "interpreter", s.Interpreter)
		b = field(b, "command", s.Command)
		b = closeObj(b, n)
	}
	if ev.Source != (contract.Source{}) {
		b = append(b, `,"source":{`...)
		n := len(b)
		b = field(b, "url", ev.Source.URL)
		b = closeObj(b, n)
	}
	b = field(b, "outcome", ev.Outcome)
	b = field(b, "reason", ev.Reason)
	if ev.Change != (contract.Change{}) {
		b = append(b, `,"change":{`...)
		n := len(b)
		b = field(b, "ticket", ev.Change.Ticket)
		b = closeObj(b, n)
	}
	if len(ev.Attributes) > 0 {
		var order [32]uint8
		if at.sorted(&order) {
			b = at.appendSorted(b, &order, long)
		} else {
			b = appendAttributes(b, ev.Attributes, long)
		}
	}
	return append(b, '}')
}

type attr struct {
	k, v string
	// p is the key's first 8 bytes, big-endian and zero-padded: keys
	// whose p differ are ordered by it, without comparing the strings
	// (a function call per pair was a quarter of sorting them).
	p uint64
}

// keyPrefix is attr.p of k.
func keyPrefix(k string) uint64 {
	var p uint64
	if len(k) >= 8 {
		for i := range 8 {
			p = p<<8 | uint64(k[i])
		}
		return p
	}
	for i := range len(k) {
		p = p<<8 | uint64(k[i])
	}
	return p << (8 * (8 - len(k)))
}

// less orders attributes by key, bytewise as strings compare.
func (a *attr) less(b *attr) bool {
	if a.p != b.p {
		return a.p < b.p
	}
	return a.k < b.k
}

// appendAttributes writes ,"attributes":{...} of a map in key order: its
// pairs are collected on the stack (up to 32) and written as a tracked
// list is (attrs.sorted, attrs.appendSorted).
func appendAttributes(b []byte, m map[string]string, long *string) []byte {
	var buf [32]attr
	at := attrs{m: m, list: buf[:0]}
	for k, v := range m {
		at.list = append(at.list, attr{k: k, v: v})
	}
	var order [32]uint8
	at.sorted(&order)
	return at.appendSorted(b, &order, long)
}

// field appends ,"name":"value" unless value is empty (omitempty). Inside
// an object, closeObj removes the comma before the first field.
func field(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

func intField(b []byte, name string, v *int64) []byte {
	if v == nil {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, *v, 10)
}

func boolField(b []byte, name string, v *bool) []byte {
	if v == nil {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return strconv.AppendBool(b, *v)
}

// closeObj drops the leading comma of an object's first field (written at
// n) and closes the object.
func closeObj(b []byte, n int) []byte {
	if len(b) > n && b[n] == ',' {
		b = append(b[:n], b[n+1:]...)
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string exactly as encoding/json does
// (HTML-safe: <, > and & escaped; invalid UTF-8 as U+FFFD; U+2028 and
// U+2029 escaped).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs escaping (most text).
		if i+8 <= len(s) {
			i += plainRun(s, i)
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if asIs[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// plainRun is how many bytes from s[i] on, in whole words of 8, need no
// escaping: one call per string, with plain8 inlined in its loop (a call
// per word made escaping 2.5 times slower in a microbenchmark over a
// sign-in's attributes).
func plainRun(s string, i int) int {
	n := i
	for n+8 <= len(s) && plain8(word(s, n)) {
		n += 8
	}
	return n - i
}

// word is the 8 bytes at s[i:] as one little-endian integer, read in one
// load. The caller checks that i+8 <= len(s).
func word(s string, i int) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
}

// plain8 says whether none of the word's 8 bytes needs appendString's
// attention: no control byte, no '"', '\\', '<', '>' or '&', nothing above
// 0x7f (SWAR: a byte of x is zero or less than n exactly when the
// expressions below set its top bit, for n <= 0x80). Written without
// helpers so that it inlines.
func plain8(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q, e, l, g, a := x^('"'*lo), x^('\\'*lo), x^('<'*lo), x^('>'*lo), x^('&'*lo)
	t := (x-0x20*lo)&^x | x | (q-lo)&^q | (e-lo)&^e | (l-lo)&^l | (g-lo)&^g | (a-lo)&^a
	return t&hi == 0
}

// asIs is the ASCII bytes appendString writes as they are. Read only.
var asIs = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()
