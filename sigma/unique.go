package sigma

// RemoveDuplicates enforces that every id and name of the rules and
// correlations of c, over all the files it was built from, designates one
// document: correlations and filters refer to rules by id or name, and a
// reference that resolves to one of two rules silently stops the other
// from feeding it. An id equal to another document's name is ambiguous in
// the same way.
//
// Each later document that reuses an id or name is reported at the id or
// name, with the position of the first one, and removed from c, so later
// stages neither report it again nor pick one of the two. Filters are not
// referred to and are left alone.
func (c *Collection) RemoveDuplicates() ErrorList {
	type owner struct {
		kind, what string // "rule", "id"
		pos        Pos
		meta       *Meta
	}
	seen := map[string]owner{}
	var errs ErrorList
	// keep checks m and records its id and name; false means m reuses an
	// id or name of an earlier document.
	keep := func(kind string, m *Meta) bool {
		ok := true
		for _, k := range []struct {
			what, key string
			pos       Pos
		}{{"id", m.ID, m.IDPos}, {"name", m.Name, m.NamePos}} {
			if k.key == "" {
				continue
			}
			pos := k.pos
			if pos.Line == 0 {
				pos = m.Pos
			}
			prev, dup := seen[k.key]
			if !dup {
				continue
			}
			if prev.meta == m {
				continue // a document whose name is its id
			}
			errs = append(errs, Errorf(pos, "%s %s %q is also the %s of the %s at %s (ids and names must be unique: correlations and filters refer to rules by them)",
				kind, k.what, k.key, prev.what, prev.kind, prev.pos))
			ok = false
		}
		if !ok {
			return false
		}
		if m.ID != "" {
			seen[m.ID] = owner{kind, "id", orPos(m.IDPos, m.Pos), m}
		}
		if m.Name != "" && m.Name != m.ID {
			seen[m.Name] = owner{kind, "name", orPos(m.NamePos, m.Pos), m}
		}
		return true
	}
	rules := c.Rules[:0]
	for _, r := range c.Rules {
		if r == nil || keep("rule", &r.Meta) {
			rules = append(rules, r)
		}
	}
	c.Rules = rules
	corrs := c.Correlations[:0]
	for _, co := range c.Correlations {
		if co == nil || keep("correlation", &co.Meta) {
			corrs = append(corrs, co)
		}
	}
	c.Correlations = corrs
	return errs
}

func orPos(p, fallback Pos) Pos {
	if p.Line == 0 {
		return fallback
	}
	return p
}
