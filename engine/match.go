package engine

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tripline/tripline/fields"
)

// node is a compiled condition. Evaluation short-circuits and never
// allocates.
type node interface {
	eval(sc *scratch) bool
}

type andNode []node
type orNode []node
type notNode struct{ x node }
type constNode bool

func (n andNode) eval(sc *scratch) bool {
	for _, k := range n {
		if !k.eval(sc) {
			return false
		}
	}
	return true
}

func (n orNode) eval(sc *scratch) bool {
	for _, k := range n {
		if k.eval(sc) {
			return true
		}
	}
	return false
}

func (n notNode) eval(sc *scratch) bool { return !n.x.eval(sc) }
func (n constNode) eval(*scratch) bool  { return bool(n) }

func mkAnd(kids []node) node {
	var flat andNode
	for _, k := range kids {
		if a, ok := k.(andNode); ok {
			flat = append(flat, a...)
		} else {
			flat = append(flat, k)
		}
	}
	if len(flat) == 1 {
		return flat[0]
	}
	if len(flat) == 0 {
		return constNode(true)
	}
	return flat
}

func mkOr(kids []node) node {
	var flat orNode
	for _, k := range kids {
		if o, ok := k.(orNode); ok {
			flat = append(flat, o...)
		} else {
			flat = append(flat, k)
		}
	}
	if len(flat) == 1 {
		return flat[0]
	}
	if len(flat) == 0 {
		return constNode(false)
	}
	return flat
}

// item is one `field|mods: values` test.
type item struct {
	field  int // slot; -1 for keyword searches
	vals   []valm
	all    bool
	neg    bool
	exists int8 // -1 no exists test, 0 must be absent, 1 must be present
}

func (it *item) eval(sc *scratch) bool {
	if it.field < 0 {
		return sc.keyword(it)
	}
	v := sc.get(it.field)
	if it.exists >= 0 {
		return (v.Kind != fields.Absent) == (it.exists == 1)
	}
	var r bool
	if it.all {
		r = true
		for i := range it.vals {
			if !sc.matchItemValue(&it.vals[i], v, it.field) {
				r = false
				break
			}
		}
	} else {
		for i := range it.vals {
			if sc.matchItemValue(&it.vals[i], v, it.field) {
				r = true
				break
			}
		}
	}
	return r != it.neg
}

func (sc *scratch) matchItemValue(m *valm, v *fields.Value, slot int) bool {
	if m.acp != 0 && sc.scanned {
		// The automaton scanned every string form of this field for the
		// literal; a hit is exactly what `contains` asks.
		return sc.needleGen[m.acp-1] == sc.gen
	}
	if len(m.need) > 0 && sc.scanned && !sc.anyHit(m.need) {
		// None of the literals one of which every match contains was in
		// any string form of the field.
		return false
	}
	return sc.matchValue(m, v, slot)
}

// anyHit says whether the scan of the current event found one of ids.
func (sc *scratch) anyHit(ids []int32) bool {
	for _, id := range ids {
		if sc.needleGen[id] == sc.gen {
			return true
		}
	}
	return false
}

type slot struct {
	gen    uint32
	lowGen uint32
	val    fields.Value
	low    string
}

// scratch is per-goroutine evaluation state, reused across events so the
// hot path does not allocate.
type scratch struct {
	rs    *RuleSet
	ev    fields.Source
	gen   uint32
	slots []slot
	// arena backs folded strings cached in slots for the current event.
	arena []byte
	// tmp/tmp2 back short-lived folded strings (list elements, refs).
	tmp, tmp2 []byte
	numBuf    []byte

	// keyword search state; kwFn is bound once so passing it to
	// EachString does not allocate.
	kwFn   func(string) bool
	kwItem *item
	kwVal  int // index into kwItem.vals, or -1 for any
	kwHit  bool

	// prefilter state; scanned says whether the automata ran for the
	// current event (so needle hit bits are valid).
	scanned   bool
	candGen   []uint32
	cands     []int32
	needleGen []uint32
}

func newScratch(rs *RuleSet) *scratch {
	sc := &scratch{
		rs:        rs,
		slots:     make([]slot, len(rs.paths)),
		arena:     make([]byte, 0, 4096),
		candGen:   make([]uint32, len(rs.rules)),
		needleGen: make([]uint32, rs.pf.numNeedles()),
	}
	sc.kwFn = sc.kwVisit
	return sc
}

func (sc *scratch) reset(ev fields.Source) {
	sc.ev = ev
	sc.gen++
	if sc.gen == 0 {
		// Wrapped: clear stamps so stale entries cannot look current.
		for i := range sc.slots {
			sc.slots[i] = slot{}
		}
		clear(sc.candGen)
		clear(sc.needleGen)
		sc.gen = 1
	}
	sc.arena = sc.arena[:0]
}

func (sc *scratch) get(i int) *fields.Value {
	s := &sc.slots[i]
	if s.gen != sc.gen {
		s.val = sc.ev.Lookup(sc.rs.paths[i])
		s.gen = sc.gen
	}
	return &s.val
}

// lowSlot returns the folded form of the string value held in slot i,
// computing it once per event.
func (sc *scratch) lowSlot(i int, s string) string {
	sl := &sc.slots[i]
	if sl.lowGen != sc.gen {
		if isLower(s) {
			sl.low = s
		} else {
			start := len(sc.arena)
			sc.arena = appendLower(sc.arena, s)
			sl.low = bytesString(sc.arena[start:])
		}
		sl.lowGen = sc.gen
	}
	return sl.low
}

func lowerInto(buf *[]byte, s string) string {
	if isLower(s) {
		return s
	}
	*buf = appendLower((*buf)[:0], s)
	return bytesString(*buf)
}

func (sc *scratch) numText(v *fields.Value) string {
	if v.Str != "" {
		return v.Str
	}
	sc.numBuf = strconv.AppendFloat(sc.numBuf[:0], v.Num, 'f', -1, 64)
	return bytesString(sc.numBuf)
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// matchValue tests one rule value against an event value. slot is the
// event slot holding v when v is the field's top-level value (enables the
// per-event folded-string cache), else -1.
func (sc *scratch) matchValue(m *valm, v *fields.Value, slot int) bool {
	switch v.Kind {
	case fields.Absent, fields.Null:
		return m.kind == vkNull
	case fields.String:
		return sc.matchString(m, v.Str, slot)
	case fields.Number:
		return sc.matchNumber(m, v)
	case fields.Bool:
		switch m.kind {
		case vkBool:
			return v.Bool == m.b
		case vkStr, vkRe, vkFieldRef:
			return sc.matchString(m, boolText(v.Bool), -1)
		}
		return false
	case fields.Strings:
		for _, s := range v.Strs {
			if sc.matchString(m, s, -1) {
				return true
			}
		}
		return false
	case fields.List:
		for i := range v.List {
			if sc.matchValue(m, &v.List[i], -1) {
				return true
			}
		}
		return false
	}
	return false
}

func (sc *scratch) fold(s string, slot int) string {
	if slot >= 0 {
		return sc.lowSlot(slot, s)
	}
	return lowerInto(&sc.tmp, s)
}

func (sc *scratch) matchString(m *valm, s string, slot int) bool {
	switch m.kind {
	case vkStr:
		if m.cased {
			return m.matchPattern(s)
		}
		return m.matchPattern(sc.fold(s, slot))
	case vkNum:
		if len(s) == len(m.lit) && strings.EqualFold(s, m.lit) {
			return true
		}
		f, ok := parseNum(s)
		return ok && f == m.num
	case vkBool:
		return strings.EqualFold(s, boolText(m.b))
	case vkCmp:
		f, ok := parseNum(s)
		return ok && compare(f, m.cmp, m.num)
	case vkCIDR:
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		return err == nil && m.pfx.Contains(a.Unmap())
	case vkRe:
		return m.re.MatchString(s)
	case vkFieldRef:
		return sc.matchRef(m, s, slot)
	case vkTime:
		t, ok := parseTime(s)
		return ok && compare(timeValue(t, m.part), m.cmp, m.num)
	}
	return false
}

func (sc *scratch) matchNumber(m *valm, v *fields.Value) bool {
	switch m.kind {
	case vkNum:
		return v.Num == m.num
	case vkCmp:
		return compare(v.Num, m.cmp, m.num)
	case vkStr, vkRe, vkFieldRef:
		return sc.matchString(m, sc.numText(v), -1)
	case vkTime:
		return compare(timeValue(epochTime(v.Num), m.part), m.cmp, m.num)
	}
	return false
}

// matchRef compares s with the value of the referenced field.
func (sc *scratch) matchRef(m *valm, s string, slot int) bool {
	rv := sc.get(m.ref)
	var other string
	switch rv.Kind {
	case fields.String:
		other = rv.Str
		if !m.cased {
			other = sc.lowSlot(m.ref, other)
		}
	case fields.Number:
		other = sc.numText(rv)
	case fields.Bool:
		other = boolText(rv.Bool)
	default:
		return false
	}
	if !m.cased {
		if slot >= 0 {
			s = sc.lowSlot(slot, s)
		} else {
			s = lowerInto(&sc.tmp2, s)
		}
	}
	switch m.op {
	case opPrefix:
		return strings.HasPrefix(s, other)
	case opSuffix:
		return strings.HasSuffix(s, other)
	case opContains:
		return strings.Contains(s, other)
	}
	return s == other
}

// parseNum parses a decimal number without the error allocation
// strconv.ParseFloat makes on failure.
func parseNum(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(('0' <= c && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, ok := wallClock(s); ok {
		return t, true
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	if f, ok := parseNum(s); ok {
		return epochTime(f), true
	}
	return time.Time{}, false
}

// wallClock reads an RFC 3339 timestamp's date and time of day as written,
// in its own offset, returned as a UTC time with that wall clock: the time
// part modifiers ask for the hour where the event happened (contract
// time_local), never for the instant. Read by hand rather than with
// time.Parse, which allocates a zone for an offset that is not whole hours
// (+05:30): matching stays allocation-free, and is faster for any offset.
// The fraction of a second is checked but not kept (no part needs it).
func wallClock(s string) (time.Time, bool) {
	n := len(s)
	switch {
	case n > 0 && s[n-1] == 'Z':
		s = s[:n-1]
	case n >= 6 && (s[n-6] == '+' || s[n-6] == '-') && s[n-3] == ':':
		oh, ok1 := digits2(s[n-5:])
		om, ok2 := digits2(s[n-2:])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		s = s[:n-6]
	default:
		return time.Time{}, false
	}
	// 2006-01-02T15:04:05[.fraction]
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	if len(s) > 19 {
		if s[19] != '.' || len(s) == 20 {
			return time.Time{}, false
		}
		for i := 20; i < len(s); i++ {
			if !isDigit(s[i]) {
				return time.Time{}, false
			}
		}
	}
	y1, ok1 := digits2(s[0:])
	y2, ok2 := digits2(s[2:])
	mo, ok3 := digits2(s[5:])
	d, ok4 := digits2(s[8:])
	h, ok5 := digits2(s[11:])
	mi, ok6 := digits2(s[14:])
	sec, ok7 := digits2(s[17:])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60 {
		return time.Time{}, false
	}
	y := y1*100 + y2
	if d > daysIn(time.Month(mo), y) {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC), true
}

// digits2 reads two decimal digits at the start of s.
func digits2(s string) (int, bool) {
	if len(s) < 2 || !isDigit(s[0]) || !isDigit(s[1]) {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func daysIn(m time.Month, y int) int {
	if m == time.February {
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	}
	if m == time.April || m == time.June || m == time.September || m == time.November {
		return 30
	}
	return 31
}

// epochTime interprets n as Unix seconds, or milliseconds when it is too
// large to be seconds.
func epochTime(n float64) time.Time {
	if math.Abs(n) >= 1e11 {
		return time.UnixMilli(int64(n)).UTC()
	}
	sec, frac := math.Modf(n)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

func timeValue(t time.Time, p timePart) float64 {
	switch p {
	case tpMinute:
		return float64(t.Minute())
	case tpHour:
		return float64(t.Hour())
	case tpDay:
		return float64(t.Day())
	case tpWeek:
		_, w := t.ISOWeek()
		return float64(w)
	case tpMonth:
		return float64(t.Month())
	case tpWeekday:
		if d := t.Weekday(); d != time.Sunday {
			return float64(d)
		}
		return 7
	}
	return float64(t.Year())
}

// keyword runs a field-less search over every string of the event.
func (sc *scratch) keyword(it *item) bool {
	sc.kwItem = it
	if !it.all {
		sc.kwVal = -1
		sc.kwHit = false
		sc.ev.EachString(sc.kwFn)
		return sc.kwHit != it.neg
	}
	for i := range it.vals {
		sc.kwVal = i
		sc.kwHit = false
		sc.ev.EachString(sc.kwFn)
		if !sc.kwHit {
			return it.neg
		}
	}
	return !it.neg
}

func (sc *scratch) kwVisit(s string) bool {
	it := sc.kwItem
	low := ""
	folded := false
	check := func(m *valm) bool {
		if m.cased {
			return m.matchPattern(s)
		}
		if !folded {
			low = lowerInto(&sc.tmp, s)
			folded = true
		}
		return m.matchPattern(low)
	}
	if sc.kwVal >= 0 {
		if check(&it.vals[sc.kwVal]) {
			sc.kwHit = true
			return false
		}
		return true
	}
	for i := range it.vals {
		if check(&it.vals[i]) {
			sc.kwHit = true
			return false
		}
	}
	return true
}
