package yamlbound

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzDecode: whatever the input, Decode does not panic, and a walk that
// follows every alias (as the rule and registry parsers do) over the
// documents it accepts visits at most MaxNodes nodes and MaxDepth levels.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		"a: b\n",
		"a: &x [1, 2]\nb: *x\nc: {<<: *x}\n",
		"a: &x [*x]\n",
		"a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: &c [*b, *b, *b]\nd: [*c, *c, *c]\n",
		"---\na: 1\n---\nb: 2\n",
		"[[[[[[[[[[[[1]]]]]]]]]]]]\n",
		bomb(50),
		"a: *nope\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	lim := Limits{MaxBytes: 1 << 20, MaxNodes: 500, MaxDepth: 10, MaxDocuments: 4}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, _ := Decode(data, "fuzz.yml", lim)
		if len(docs) > lim.MaxDocuments {
			t.Fatalf("%d documents, limit %d", len(docs), lim.MaxDocuments)
		}
		nodes := 0
		var walk func(n *yaml.Node, depth int)
		walk = func(n *yaml.Node, depth int) {
			if n == nil {
				return
			}
			if n.Kind == yaml.AliasNode {
				walk(n.Alias, depth)
				return
			}
			nodes++
			if nodes > lim.MaxNodes || depth > lim.MaxDepth {
				t.Fatalf("accepted documents expand past the limits (%d nodes, depth %d)", nodes, depth)
			}
			for _, c := range n.Content {
				walk(c, depth+1)
			}
		}
		for _, d := range docs {
			walk(d, 1)
		}
	})
}

// TestOnlyDecoder: operator YAML is decoded through this package alone,
// so that a new config file cannot reintroduce unbounded alias expansion
// by calling yaml.Unmarshal or yaml.NewDecoder itself. (Node.Decode on
// nodes Decode returned is fine: they are already measured.)
func TestOnlyDecoder(t *testing.T) {
	root := ".."
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "yamlbound" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return nil // not ours to judge
		}
		imported := false
		for _, imp := range file.Imports {
			imported = imported || imp.Path.Value == `"gopkg.in/yaml.v3"`
		}
		if !imported {
			return nil
		}
		file, err = parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return nil
		}
		ast.Inspect(file, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "yaml" && (sel.Sel.Name == "Unmarshal" || sel.Sel.Name == "NewDecoder") {
				t.Errorf("%s: yaml.%s decodes YAML without limits; use yamlbound.Decode or yamlbound.Unmarshal", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
