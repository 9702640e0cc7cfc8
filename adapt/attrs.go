package adapt

import (
	"slices"
	"strings"

	"github.com/tripline/tripline/contract"
)

// attrs is an event's attributes as an adapter writes them: the event's
// map, and the same writes in the order made. The encoder sorts the
// writes instead of walking the map (walking and collecting a map was a
// fifth of converting an audit record); the map stays complete for the
// callers that read Out.Event.
//
// Every write to an event's attributes during a conversion goes through
// its attrs. A write straight to the map would leave the list behind:
// the encoder then finds fewer distinct keys than the map holds and walks
// the map (an overwrite it cannot see is what TestEncodeMatchesMarshal
// and the fuzzers' comparisons with encoding/json are there for).
type attrs struct {
	m map[string]string
	// list holds every write, a key again where it was overwritten (the
	// last write wins, as in the map). nil: not tracked, the encoder walks
	// the map.
	list []attr
}

// put sets k to v.
func (a *attrs) put(k, v string) {
	a.m[k] = v
	if a.list != nil {
		a.list = append(a.list, attr{k: k, v: v})
	}
}

// set sets k to v unless v is empty.
func (a *attrs) set(k, v string) {
	if v != "" {
		a.put(k, v)
	}
}

// has says whether k is set.
func (a *attrs) has(k string) bool {
	_, ok := a.m[k]
	return ok
}

// sorted sorts the list by key, stably: in its place, or, for up to
// len(order) attributes, as their positions in order, so that no string
// moves (moving one costs a write barrier while the GC runs). It is false
// when the list is not tracked or has fewer keys than the map (a write
// went around it): then the caller walks the map.
func (a *attrs) sorted(order *[32]uint8) bool {
	if a == nil || a.list == nil || len(a.list) < len(a.m) {
		return false
	}
	l := a.list
	if len(l) > len(order) {
		// Stable, so that of two writes of a key the last stays last.
		slices.SortStableFunc(l, func(x, y attr) int { return strings.Compare(x.k, y.k) })
	} else {
		for i := range l {
			// Insertion sort, stable: a key written again goes after
			// its earlier writes.
			x := &l[i]
			x.p = keyPrefix(x.k)
			j := i
			for ; j > 0 && x.less(&l[order[j-1]]); j-- {
				order[j] = order[j-1]
			}
			order[j] = uint8(i)
		}
	}
	distinct := 0
	for i := range l {
		if i+1 == len(l) || a.key(order, i) != a.key(order, i+1) {
			distinct++
		}
	}
	return distinct == len(a.m)
}

// key is the key of the i-th attribute in sorted order.
func (a *attrs) key(order *[32]uint8, i int) string {
	if len(a.list) > len(order) {
		return a.list[i].k
	}
	return a.list[order[i]].k
}

// reset empties the attributes for another event, keeping their memory.
func (a *attrs) reset() {
	clear(a.m)
	a.list = a.list[:0]
}

// appendSorted writes ,"attributes":{...} from the list sorted by sorted:
// of a key written twice, the last write.
func (a *attrs) appendSorted(b []byte, order *[32]uint8, long *string) []byte {
	l := a.list
	b = append(b, `,"attributes":{`...)
	first := true
	for i := range l {
		x := &l[i]
		if len(l) <= len(order) {
			x = &l[order[i]]
		}
		if i+1 < len(l) && a.key(order, i+1) == x.k {
			continue
		}
		if long != nil && len(x.k) > contract.MaxIdentifierBytes && len(strings.TrimSpace(x.k)) > contract.MaxIdentifierBytes {
			*long = x.k
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, x.k)
		b = append(b, ':')
		b = appendString(b, x.v)
	}
	return append(b, '}')
}
