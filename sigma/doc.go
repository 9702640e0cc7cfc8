// Package sigma parses Sigma rule files into an AST: rules, correlation
// rules and global filters, with every error positioned as
// "file:line:col: message". Evaluation lives in package engine; this package
// only knows the language.
//
// Loading:
//
//	coll, errs := sigma.ParseDir("rules")         // recursive *.yml/*.yaml
//	coll, errs := sigma.ParseFS(fsys, ".")        // same over an fs.FS
//	coll, err := sigma.ParseFile("rule.yml")      // err is an ErrorList
//	coll, err := sigma.ParseBytes(data, "rule.yml")
//
// A Collection holds Rules, Correlations and Filters. A bad document or file
// never prevents the others from loading; the parser never panics. Files
// are decoded through package yamlbound within FileLimits (100,000 nodes
// after YAML alias expansion, among others), so what a file can make the
// parser build is bounded whatever its aliases; a file past them yields
// only that error. Collection.RemoveDuplicates enforces unique ids and
// names over everything loaded together.
//
// Document types: a document with a `correlation` key is a Correlation; one
// with a `filter` key and no `detection` is a Filter; anything else must be
// a Rule with a `detection`. Legacy multi-document collections
// (`action: global`) are rejected with an error.
//
// Identity: a document's Identity is its `id`, else `name`, else the file
// base name without extension (suffixed "#n" for the n-th document of a
// multi-document file). Filters and correlations reference rules by id or
// name.
//
// Detection: a search identifier's map is an AND of items, a list of maps
// an OR of them, a list of plain values a keyword item (OR). Items are
// `field|mod|mod: value(s)`; value lists are OR-ed unless `all`. Values keep
// their YAML type (string, number, bool, null) and raw text; wildcard and
// escape handling is ParsePattern.
//
// Conditions: `and`, `or`, `not`, parentheses, `1 of X`, `any of X`, `all of
// X` with X a name, a `*` pattern or `them` (which skips names starting with
// `_`). Precedence: or < and < not < x of < ( ). A condition list is an OR.
// Names and patterns are resolved at parse time; unknown names are errors.
//
// Filters follow pySigma: `filter.rules` lists rule ids/names; when it is
// absent, empty, "any" or "all" the filter applies to every rule whose
// logsource it covers. The engine AND-s the filter's condition to the rule's
// condition, so filter conditions are written as exclusions (`not
// selection`).
package sigma
