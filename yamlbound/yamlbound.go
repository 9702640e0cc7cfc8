// Package yamlbound decodes operator-written YAML files (Sigma rules, rule
// tests, the MSP registry, placeholder values) into yaml.Node trees whose
// size is bounded by what a parser walking them would build, not by the
// size of the file.
//
// Why: yaml.v3 guards against alias bombs ("billion laughs") only when it
// decodes into Go values. Decoding into a yaml.Node keeps every alias as a
// pointer to its anchor, and a parser that follows the pointers while it
// walks the tree expands them itself, unguarded: a 21 KB rule file whose
// selection lists `*m` 2,000 times, `m` being a mapping holding a list of
// 2,000 values, becomes 4 million detection values and 1.9 GB. The file
// size limit never sees it.
//
// Before yaml.v3 sees a file, one pass over its bytes counts its tokens
// (see tokensWithin): yaml.v3 builds a document's whole tree before it can
// be measured, and a 16 MiB flat list is 8 million nodes (1.4 GB) without
// any alias.
//
// Decode then measures every document as the tree it expands to: an
// alias counts as the whole subtree of its anchor, every time it occurs.
// The expanded node count (over all documents of the file), the expanded
// depth and the number of documents are checked against Limits before any
// caller walks the tree. Sizes of anchored nodes are memoised, so measuring
// costs time proportional to the file, not to the expansion, and a bomb is
// rejected in microseconds.
//
// Aliases themselves stay allowed (YAML users expect them and a file that
// expands within its limits is harmless); an alias that refers to a node
// containing it (`a: &x [*x]`) is an error, as its expansion is infinite.
package yamlbound

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Limits bound one file. A zero field means no limit of that kind.
type Limits struct {
	// Kind names the file format in errors ("rule file", "registry").
	Kind string
	// MaxBytes bounds the file itself.
	MaxBytes int
	// MaxNodes bounds the nodes of all documents of the file after alias
	// expansion: every scalar, list, mapping and mapping key is a node.
	MaxNodes int
	// MaxDepth bounds nesting after alias expansion (a top-level scalar
	// document has depth 1).
	MaxDepth int
	// MaxDocuments bounds the `---`-separated documents of the file.
	MaxDocuments int
}

// Error is a problem with a YAML file as a whole, or at a position in it.
// Line and Col are 1-based; zero means the position is unknown.
type Error struct {
	File      string
	Line, Col int
	Msg       string
	// limit marks a limit being exceeded (errors.Is(err, ErrLimit)).
	limit bool
}

func (e *Error) Error() string {
	switch {
	case e.Line == 0:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Col == 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// ErrLimit is wrapped (errors.Is) by every error that is a limit being
// exceeded, as opposed to invalid YAML.
var ErrLimit = errors.New("limit exceeded")

// Is makes limit errors match ErrLimit.
func (e *Error) Is(target error) bool { return e.limit && target == ErrLimit }

// Decode parses every document of data (file names it in errors) and
// checks it against lim. It returns the documents that were decoded and
// within the limits before the first problem, and that problem as an
// *Error (errors.As) — so a parser may still report what it found in the
// documents before a syntax error. It never panics.
func Decode(data []byte, file string, lim Limits) ([]*yaml.Node, error) {
	docs, _, err := DecodeNodes(data, file, lim)
	return docs, err
}

// DecodeNodes is Decode that also returns the expanded node count of the
// documents it returns, for callers that bound a whole set of files.
func DecodeNodes(data []byte, file string, lim Limits) (docs []*yaml.Node, nodes int, err error) {
	defer func() {
		// yaml.v3 has panicked on hostile input in the past; a config
		// file must never take the process down.
		if r := recover(); r != nil {
			docs, nodes, err = nil, 0, &Error{File: file, Msg: fmt.Sprintf("cannot parse YAML: %v", r)}
		}
	}()
	kind := lim.Kind
	if kind == "" {
		kind = "YAML file"
	}
	if lim.MaxBytes > 0 && len(data) > lim.MaxBytes {
		return nil, 0, &Error{File: file, limit: true, Msg: fmt.Sprintf(
			"%s is %d bytes, more than the limit of %d", kind, len(data), lim.MaxBytes)}
	}
	if lim.MaxNodes > 0 {
		if line, ok := tokensWithin(data, tokensPerNode*lim.MaxNodes); !ok {
			return nil, 0, &Error{File: file, Line: line, Col: 1, limit: true, Msg: fmt.Sprintf(
				"%s holds more than %d YAML tokens by this line, too many for its limit of %d nodes", kind, tokensPerNode*lim.MaxNodes, lim.MaxNodes)}
		}
	}
	m := &measure{file: file, kind: kind, lim: lim, memo: map[*yaml.Node]result{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		doc := new(yaml.Node)
		derr := dec.Decode(doc)
		if errors.Is(derr, io.EOF) {
			return docs, m.total, nil
		}
		if derr != nil {
			// The decoder cannot resynchronise after a syntax error.
			return docs, m.total, syntaxError(file, derr)
		}
		if lim.MaxDocuments > 0 && len(docs) >= lim.MaxDocuments {
			return docs, m.total, m.limitf(doc, "%s has more than %d YAML documents", kind, lim.MaxDocuments)
		}
		if err := m.document(doc); err != nil {
			return docs, m.total, err
		}
		docs = append(docs, doc)
	}
}

// Unmarshal decodes a single-document file into out (as yaml.Unmarshal
// does) after Decode has checked it against lim. An empty file leaves out
// unchanged. More than one document is an error: formats read this way
// have one.
func Unmarshal(data []byte, file string, lim Limits, out any) error {
	return unmarshal(data, file, lim, out, false)
}

// UnmarshalStrict is Unmarshal that also refuses keys out has no field
// for (yaml.v3's KnownFields), at their line. The file is decoded a second
// time, from its bytes, only after Decode has checked it against lim.
func UnmarshalStrict(data []byte, file string, lim Limits, out any) error {
	return unmarshal(data, file, lim, out, true)
}

func unmarshal(data []byte, file string, lim Limits, out any, strict bool) error {
	if lim.MaxDocuments == 0 || lim.MaxDocuments > 1 {
		lim.MaxDocuments = 1
	}
	docs, err := Decode(data, file, lim)
	if err != nil {
		return err
	}
	if len(docs) == 0 {
		return nil
	}
	if strict {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		err = dec.Decode(out)
	} else {
		err = docs[0].Decode(out)
	}
	if err != nil {
		return typeError(file, err)
	}
	return nil
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// syntaxError turns yaml.v3's "yaml: line 3: did not find expected key"
// into an *Error at line 3.
func syntaxError(file string, err error) *Error {
	e := &Error{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlLine.FindStringSubmatch(e.Msg); m != nil {
		// yaml.v3 gives no column; 1 still lets editors jump to the line.
		e.Line, _ = strconv.Atoi(m[1])
		e.Col = 1
		e.Msg = strings.Join(strings.Fields(strings.Replace(e.Msg, m[0]+":", "", 1)), " ")
	}
	return e
}

// typeError positions the first of yaml.v3's "line N: cannot unmarshal"
// messages and keeps the others in the message.
func typeError(file string, err error) *Error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		e := &Error{File: file, Msg: strings.Join(te.Errors, "; ")}
		if m := yamlLine.FindStringSubmatch(te.Errors[0]); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Col = 1
			e.Msg = strings.TrimSpace(strings.Replace(e.Msg, m[0]+":", "", 1))
		}
		return e
	}
	// A custom UnmarshalYAML's own error that names its line.
	e := &Error{File: file, Msg: err.Error()}
	if m := yamlLine.FindStringSubmatch(e.Msg); m != nil && strings.HasPrefix(e.Msg, m[0]) {
		e.Line, _ = strconv.Atoi(m[1])
		e.Col = 1
		e.Msg = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(e.Msg, m[0]), ":"))
	}
	return e
}

// result is the expanded size and depth of a node.
type result struct{ nodes, depth int }

// measure walks documents, counting expanded nodes over the whole file.
type measure struct {
	file string
	kind string
	lim  Limits
	// total is the expanded node count of the documents measured so far.
	total int
	// memo holds the expanded size of anchored nodes already measured;
	// active holds the anchored nodes being measured (an alias to one of
	// them is a cycle).
	memo    map[*yaml.Node]result
	active  map[*yaml.Node]bool
	aliases bool
}

func (m *measure) limitf(n *yaml.Node, format string, args ...any) error {
	return &Error{File: m.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...), limit: true}
}

func (m *measure) document(doc *yaml.Node) error {
	r, err := m.node(doc, 1, m.total)
	if err != nil {
		return err
	}
	m.total += r.nodes
	return nil
}

// node measures n at nesting level depth, base being the expanded nodes
// counted before it in the file; it fails as soon as the running count or
// the depth passes a limit, so that a bomb is never walked to its end.
func (m *measure) node(n *yaml.Node, depth, base int) (result, error) {
	if n == nil {
		return result{}, nil
	}
	if n.Kind == yaml.AliasNode {
		m.aliases = true
		t := n.Alias
		if t == nil {
			return result{}, nil
		}
		if m.active[t] {
			return result{}, m.limitf(n, "alias *%s refers to a node that contains it (its expansion is infinite)", n.Value)
		}
		r, err := m.anchored(t, depth, base)
		if err != nil {
			return r, err
		}
		if err := m.check(n, depth-1+r.depth, base+r.nodes); err != nil {
			return r, err
		}
		return r, nil
	}
	if n.Anchor != "" {
		return m.anchored(n, depth, base)
	}
	return m.tree(n, depth, base)
}

// anchored measures an anchored node once; later aliases to it reuse the
// result, so measuring a bomb stays linear in the file.
func (m *measure) anchored(n *yaml.Node, depth, base int) (result, error) {
	if r, ok := m.memo[n]; ok {
		return r, nil
	}
	if m.active == nil {
		m.active = map[*yaml.Node]bool{}
	}
	m.active[n] = true
	r, err := m.tree(n, depth, base)
	delete(m.active, n)
	if err != nil {
		return r, err
	}
	m.memo[n] = result{nodes: r.nodes, depth: r.depth}
	return r, nil
}

// tree measures n and its children (depth relative to n is r.depth).
func (m *measure) tree(n *yaml.Node, depth, base int) (result, error) {
	r := result{nodes: 1, depth: 1}
	if err := m.check(n, depth, base+1); err != nil {
		return r, err
	}
	for _, c := range n.Content {
		cr, err := m.node(c, depth+1, base+r.nodes)
		if err != nil {
			return r, err
		}
		// The child checked the running count and its depth itself.
		r.nodes += cr.nodes
		r.depth = max(r.depth, cr.depth+1)
	}
	return r, nil
}

// check reports a limit passed at n: depth is n's nesting level, count the
// file's expanded nodes up to and including n.
func (m *measure) check(n *yaml.Node, depth, count int) error {
	if m.lim.MaxDepth > 0 && depth > m.lim.MaxDepth {
		return m.limitf(n, "YAML nesting deeper than %d levels (the limit for a %s)", m.lim.MaxDepth, m.kind)
	}
	if m.lim.MaxNodes > 0 && count > m.lim.MaxNodes {
		if m.aliases {
			return m.limitf(n, "YAML aliases expand the %s past %d nodes (each *alias copies its anchor's whole subtree; the limit counts the copies)", m.kind, m.lim.MaxNodes)
		}
		return m.limitf(n, "%s has more than %d YAML nodes", m.kind, m.lim.MaxNodes)
	}
	return nil
}

// tokensPerNode is how many tokens (see tokensWithin) a file may hold per
// node of its limit before it is rejected unparsed. A key or a flow list
// item is one token per node and a block list item ("- x") two, so a file
// within its node limit passes unless it is all block list and also holds
// prose (quoted text, block scalars and comments count word by word).
const tokensPerNode = 2

// tokensWithin reports whether data holds at most max tokens, else the
// line on which it passes max. A token starts at a non-blank byte at the
// start of the input or after a blank or one of ",:[]{}". yaml.v3 builds
// its whole node tree before Decode can count anything, and a flat list
// costs it some 90 MiB per MiB ("a,a,a,..." is one node per two bytes; a
// 16 MiB one took 1.4 GB and 98 s). Every node yaml.v3 builds starts a
// token or is the empty value of a key or entry that does ("- a:" is a
// sequence entry, a mapping, a key and a null for two tokens), so the tree
// it builds for an accepted file is at most 1.5 nodes per token: 3 nodes
// per node of the limit, in one pass over the bytes.
func tokensWithin(data []byte, max int) (line int, ok bool) {
	n, line := 0, 1
	prev := byte(' ')
	for _, c := range data {
		if c == '\n' {
			line++
		}
		if !isBlank(c) {
			switch prev {
			case ' ', '\t', '\n', '\r', ',', ':', '[', ']', '{', '}':
				n++
				if n > max {
					return line, false
				}
			}
		}
		prev = c
	}
	return 0, true
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
