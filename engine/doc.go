// Package engine compiles parsed Sigma rules (package sigma) into a RuleSet
// and evaluates events (fields.Source) against it.
//
// Compile once, match many:
//
//	coll, errs := sigma.ParseDir("rules")          // per-file errors
//	rs, cerrs := engine.CompileCollection(coll, engine.Config{
//		FieldAliases: map[string]string{"User": "actor.user"},
//		Placeholders: map[string][]string{"Admins": {"adm_*"}},
//	})
//	m := rs.NewMatcher()                           // one per goroutine
//	hits := m.Match(event, hits[:0])               // no allocations
//
// (engine.LoadDir does the first two steps.) RuleSet.Match is also safe for
// concurrent use; it borrows scratch state from a sync.Pool.
//
// # Semantics
//
// Sigma specification 2.1, with pySigma's reading where the text is vague:
//
//   - Strings compare case-insensitively (Unicode simple folding, ASCII fast
//     path); `cased` makes them case-sensitive; `re` is case-sensitive unless
//     the `i` sub-modifier is given. `*`/`?` wildcards and `\` escapes follow
//     sigma.ParsePattern.
//   - Numbers and booleans compare by the event's type: rule 4624 matches
//     event number 4624 and event string "4624"; a string pattern matches a
//     number's decimal text.
//   - Event lists (fields.Strings, fields.List) match when any element does;
//     with `all`, every value must match some element.
//   - `null` matches null or absent fields; `”` only the empty string;
//     `exists: false` only absent fields.
//   - `neq` negates the item: it matches when the field equals none of the
//     values (absent fields included).
//   - Keyword (field-less) values are substring searches over every string
//     of the event; `|all` requires every keyword.
//   - `windash` expands flag-like `-` and `/` (pySigma: `\B[-/]\b`) into
//     `-`, `/`, en dash, em dash and horizontal bar.
//   - `base64offset`, `utf16*`/`wide` follow pySigma's encodings.
//   - Time modifiers read RFC 3339 / "2006-01-02 15:04:05" strings or Unix
//     seconds (milliseconds when ≥ 1e11) in UTC and may be combined with
//     lt/lte/gt/gte; without them they test equality.
//   - `fieldref` compares with another field of the same event (equality, or
//     contains/startswith/endswith when given).
//   - `expand` replaces %name% placeholders with Config.Placeholders values
//     (cartesian product); an unconfigured placeholder rejects the rule.
//   - Filters (sigma.Filter) are AND-ed to the rules they apply to, so their
//     conditions are written negated (`not selection`), as in pySigma.
//   - Logsource routing: a rule sees an event when, for product, category
//     and service, either side is empty or both are equal.
//   - Views (Config.Views) present an event to rules of another logsource
//     (a pushed script as a Windows process creation, for SigmaHQ's rules);
//     a rule matching the event or one of its views matches once.
//
// # Speed
//
// Literals are folded at compile time and each event field is folded at most
// once per event into a scratch arena, so matching is plain
// strings.HasPrefix/HasSuffix/Contains; patterns with inner wildcards use a
// backtracking-free glob matcher; RE2 only runs for `re`. Field lookups are
// cached per event. A prefilter derives, per rule, a set of literal needles
// of which at least one must occur in a given field for the rule to match;
// one Aho-Corasick automaton per field finds all needles in a single pass
// and only rules with a hit (or without a derivable needle set) are
// evaluated. The same scan answers folded `contains` values, and a regexp
// or inner-wildcard glob runs only when it found one of the literals
// every match of it contains.
package engine
