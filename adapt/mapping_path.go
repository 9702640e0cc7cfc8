package adapt

import (
	"fmt"
	"strconv"
	"strings"
)

// Paths of mapping files reach into what vendors nest in two ways besides
// objects: arrays, by position (authenticationDetails[0].succeeded, Entra's
// list of authentication steps), and JSON documents held in a string field
// (details@json.alertType, the "details" blobs of Kaseya VSA and
// N-central). A segment is NAME, then optionally @json (the field is a
// string holding a JSON document: go on inside it), then any number of
// [N] (the N-th element of an array, from 0). A path that reads through
// an index or a JSON string leaves the field it read through in
// attributes as it was: only whole plain fields are consumed.

// Bounds of what a path may ask, checked when the file is loaded, and of
// an embedded document, checked on each record.
const (
	// maxPathSteps bounds the segments of one path.
	maxPathSteps = 16
	// maxPathIndex is the highest array position a path may name.
	maxPathIndex = 9999
	// maxPathJSON bounds the @json segments of one path (a document in
	// a string in a document ...).
	maxPathJSON = 2
	// MaxEmbeddedJSONBytes bounds a JSON document read from a string
	// field; a longer one is an error of the record (docs/limits.md).
	MaxEmbeddedJSONBytes = 64 << 10
)

// step is one segment of an extended path.
type step struct {
	name    string
	json    bool
	indexes []int
}

func (s *step) plain() bool { return !s.json && len(s.indexes) == 0 }

// parsePath reads a dotted path with the @json and [N] forms.
func parsePath(s string) (mpath, error) {
	p := mpath{text: s}
	if s == "" {
		return p, fmt.Errorf("%q is not a path (field names separated by dots)", s)
	}
	ext := false
	jsons := 0
	for _, seg := range strings.Split(s, ".") {
		st, err := parseStep(seg)
		if err != nil {
			return p, fmt.Errorf("%q is not a path: %v", s, err)
		}
		if st.json {
			jsons++
		}
		ext = ext || !st.plain()
		p.steps = append(p.steps, st)
		if st.plain() {
			p.segs = append(p.segs, st.name)
		} else {
			// Never a field's name: what a path reads through an index
			// or a JSON string is not consumed.
			p.segs = append(p.segs, "\x00"+seg)
		}
	}
	if len(p.steps) > maxPathSteps {
		return p, fmt.Errorf("%q: %d segments, at most %d", s, len(p.steps), maxPathSteps)
	}
	if jsons > maxPathJSON {
		return p, fmt.Errorf("%q: %d @json segments, at most %d", s, jsons, maxPathJSON)
	}
	if !ext {
		p.steps = nil
	}
	return p, nil
}

func parseStep(seg string) (step, error) {
	name, rest := seg, ""
	if i := strings.IndexAny(seg, "@["); i >= 0 {
		name, rest = seg[:i], seg[i:]
	}
	st := step{name: name}
	if name == "" {
		return st, fmt.Errorf("empty field name in %q (field names separated by dots, then @json or [N])", seg)
	}
	if r, ok := strings.CutPrefix(rest, "@json"); ok {
		st.json, rest = true, r
	}
	for rest != "" {
		if rest[0] != '[' {
			return st, fmt.Errorf("%q: want @json or [N] after the field name", seg)
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return st, fmt.Errorf("%q: unclosed [", seg)
		}
		digits := rest[1:end]
		n, err := strconv.Atoi(digits)
		if err != nil || n > maxPathIndex || strings.Trim(digits, "0123456789") != "" {
			return st, fmt.Errorf("%q: [%s] is not an array position 0..%d", seg, rest[1:end], maxPathIndex)
		}
		st.indexes = append(st.indexes, n)
		rest = rest[end+1:]
	}
	return st, nil
}

// lookupSteps is lookup for a path with @json or [N] segments. Plain
// segments before the first of them are read as lookup reads them
// (consumed, their other fields kept as "a.b.field"); from there on the
// objects read are the path's own.
func lookupSteps(r *rec, p mpath) (v string, owner *rec, err error) {
	cur := r
	own := true // cur's fields are the record's: plain objects are adopted
	for i := range p.steps {
		st := &p.steps[i]
		last := i == len(p.steps)-1
		if own && st.plain() && !last {
			next, err := cur.descend(st.name, p.text)
			if next == nil {
				return "", cur, err
			}
			cur = next
			continue
		}
		v = cur.raw(st.name)
		if isNull(v) {
			return "", cur, nil
		}
		if st.json {
			if v[0] != '"' {
				return "", cur, errorf("%s: %s is %s, not a string holding JSON", p.text, st.name, kind(v))
			}
			if len(v) > 2*MaxEmbeddedJSONBytes+2 {
				return "", cur, errorf("%s: %s holds more than %d bytes", p.text, st.name, MaxEmbeddedJSONBytes)
			}
			v = strings.TrimSpace(unquote(v))
			if len(v) > MaxEmbeddedJSONBytes {
				return "", cur, errorf("%s: %s holds %d bytes of JSON, at most %d", p.text, st.name, len(v), MaxEmbeddedJSONBytes)
			}
			if isNull(v) {
				return "", cur, nil
			}
			if err := validJSON(v); err != nil {
				return "", cur, errorf("%s: %s does not hold JSON: %v", p.text, st.name, err)
			}
		}
		for _, n := range st.indexes {
			if v[0] != '[' {
				return "", cur, errorf("%s: %s is %s, not an array", p.text, st.name, kind(v))
			}
			items, err := parseArray(v, nil)
			if err != nil {
				return "", cur, errorf("%s: %s: %v", p.text, st.name, err)
			}
			if n >= len(items) {
				return "", cur, nil
			}
			if v = items[n]; isNull(v) {
				return "", cur, nil
			}
		}
		if last {
			return v, cur, nil
		}
		next := &rec{parent: cur, name: st.name, arena: cur.arena}
		if next.f = cur.arena.parse(v); next.f == nil {
			return "", cur, errorf("%s: %s is %s, not an object", p.text, st.name, kind(v))
		}
		cur, own = next, false
	}
	return "", cur, nil
}

// descend returns r's nested object seg, adopting it (consumed from r,
// its unread fields kept as "seg.field") the first time; nil and no error
// for an absent or null field; path names the path for errors.
func (r *rec) descend(seg, path string) (*rec, error) {
	for k := r.kids; k != nil; k = k.next {
		if k.name == seg && !k.elem {
			return k, nil
		}
	}
	raw := r.raw(seg)
	if isNull(raw) {
		return nil, nil
	}
	next := r.arena.rec(r, seg)
	if next.f = r.arena.parse(raw); next.f == nil {
		return nil, errorf("%s: %s is %s, not an object", path, seg, kind(raw))
	}
	r.take(seg)
	r.adopt(next)
	return next, nil
}

// validJSON checks that v is one JSON value, with the scanner's bounds
// (nesting, strings).
func validJSON(v string) error {
	items, err := parseArray("["+v+"]", nil)
	if err == nil && len(items) != 1 {
		err = fmt.Errorf("not one JSON value")
	}
	return err
}
