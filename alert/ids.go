package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tripline/tripline/fields"
)

// The UUIDv5 namespaces of alert and incident IDs. Never change them: the
// IDs are what replays collapse on (ReplacingMergeTree) and what analysts
// and receivers refer to.
var (
	alertNamespace    = uuid.MustParse("2f0c9a4e-7d1b-5e63-8a52-616c65727431")
	incidentNamespace = uuid.MustParse("9b7e3c15-4a20-5f8d-b6e1-696e63696431")
)

// IncidentWindow is the length of an incident's window: alerts of one msp
// that share an entity within it form one incident.
const IncidentWindow = 24 * time.Hour

// Entity kinds, in precedence order: an alert's entity is the first of
// these fields that is set on its earliest detection's event. A package
// or script hash names a push better than the technician who ran it; a
// source address is the last resort.
var EntityFields = []string{"package.sha256", "script.sha256", "actor.user", "actor.ip"}

// Fingerprint identifies what an alert groups: the rule and the values of
// its group-by fields (keys and values aligned). It is stable across
// versions and processes; PagerDuty's dedup_key uses it.
func Fingerprint(ruleID string, keys, values []string) string {
	h := sha256.New()
	h.Write([]byte(ruleID))
	for i, k := range keys {
		v := ""
		if i < len(values) {
			v = values[i]
		}
		// NUL separators: no field name or value can forge another's
		// boundary.
		h.Write([]byte{0})
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(v))
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// AlertID is the ID of the alert of fingerprint in the window starting at
// windowStart.
func AlertID(fingerprint string, windowStart time.Time) string {
	return uuid.NewSHA1(alertNamespace, []byte(fingerprint+"\x00"+strconv.FormatInt(windowStart.Unix(), 10))).String()
}

// IncidentID is the ID of the incident of msp around the entity (kind is
// one of EntityFields, value its value) in the incident window starting at
// windowStart.
func IncidentID(msp, kind, value string, windowStart time.Time) string {
	var b strings.Builder
	b.WriteString(msp)
	b.WriteByte(0)
	b.WriteString(kind)
	b.WriteByte(0)
	b.WriteString(value)
	b.WriteByte(0)
	b.WriteString(strconv.FormatInt(windowStart.Unix(), 10))
	return uuid.NewSHA1(incidentNamespace, []byte(b.String())).String()
}

// WindowStart is the start of the tumbling window of length w, aligned on
// the Unix epoch in UTC, that holds t. A zero t (an offline event without
// a time) falls in the window at the epoch. w is rounded to whole seconds
// (at least one).
func WindowStart(t time.Time, w time.Duration) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	ws := int64(w / time.Second)
	if ws < 1 {
		ws = 1
	}
	s := t.Unix()
	// Floor division: times before the epoch still land in the window
	// that holds them.
	q := s / ws
	if s%ws < 0 {
		q--
	}
	return time.Unix(q*ws, 0).UTC()
}

// Entity is the entity of an event that incidents group on: the first of
// EntityFields set in src. ok is false when none is.
func Entity(src fields.Source) (kind, value string, ok bool) {
	if src == nil {
		return "", "", false
	}
	for _, f := range EntityFields {
		if v := text(src.Lookup(f)); v != "" {
			return f, v, true
		}
	}
	return "", "", false
}

// text is a field's value as a group-by value: strings as they are,
// numbers and booleans in their JSON form, string lists joined by commas,
// anything else (absent, null, objects) empty.
func text(v fields.Value) string {
	switch v.Kind {
	case fields.String:
		return v.Str
	case fields.Number:
		return strconv.FormatFloat(v.Num, 'f', -1, 64)
	case fields.Bool:
		return strconv.FormatBool(v.Bool)
	case fields.Strings:
		return strings.Join(v.Strs, ",")
	}
	return ""
}

// levelRank orders Sigma levels; unknown levels rank lowest.
func levelRank(level string) int {
	switch strings.ToLower(level) {
	case "informational":
		return 1
	case "low":
		return 2
	case "medium":
		return 3
	case "high":
		return 4
	case "critical":
		return 5
	}
	return 0
}

// AtLeast reports whether level is min or higher (Sigma's order:
// informational < low < medium < high < critical).
func AtLeast(level, min string) bool { return levelRank(level) >= levelRank(min) }
