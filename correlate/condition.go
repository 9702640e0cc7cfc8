package correlate

import (
	"math"
	"strconv"
	"strings"
)

// Condition is a conjunction of comparisons (a range).
type Condition struct {
	Ops []Op
}

// Op is one comparison of a condition.
type Op struct {
	Name  string // gt, gte, lt, lte, eq, neq
	Value float64
}

// Holds reports whether x satisfies every comparison.
func (c Condition) Holds(x float64) bool {
	for _, o := range c.Ops {
		ok := false
		switch o.Name {
		case "gt":
			ok = x > o.Value
		case "gte":
			ok = x >= o.Value
		case "lt":
			ok = x < o.Value
		case "lte":
			ok = x <= o.Value
		case "eq":
			ok = x == o.Value
		case "neq":
			ok = x != o.Value
		}
		if !ok {
			return false
		}
	}
	return true
}

// lowerOnly reports whether every comparison is gt or gte, so that the
// condition, once true, stays true as events are added.
func (c Condition) lowerOnly() bool {
	for _, o := range c.Ops {
		if o.Name != "gt" && o.Name != "gte" {
			return false
		}
	}
	return true
}

// need is the smallest count satisfying a lower-bound-only condition.
func (c Condition) need() int {
	n := 0
	for _, o := range c.Ops {
		var v int
		switch o.Name {
		case "gte":
			v = int(math.Ceil(o.Value))
		case "gt":
			v = int(math.Floor(o.Value)) + 1
		}
		n = max(n, v)
	}
	return n
}

func (c Condition) String() string {
	if len(c.Ops) == 0 {
		return "any"
	}
	parts := make([]string, len(c.Ops))
	for i, o := range c.Ops {
		parts[i] = o.Name + " " + strconv.FormatFloat(o.Value, 'f', -1, 64)
	}
	return strings.Join(parts, " and ")
}

var opOrder = map[string]int{"gt": 0, "gte": 1, "lt": 2, "lte": 3, "eq": 4, "neq": 5}
