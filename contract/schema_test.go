package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// docPath is the human-readable contract, checked against the decoder here.
const docPath = "../docs/event-contract.md"

// schemaNow is the clock for decoding the documentation's examples, so they
// do not expire: they are dated 2026-11-20.
var schemaNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// jsonSchema is the subset of JSON Schema keywords the contract schema uses.
type jsonSchema struct {
	Schema               string                 `json:"$schema"`
	Type                 any                    `json:"type"`
	Required             []string               `json:"required"`
	Properties           map[string]*jsonSchema `json:"properties"`
	AdditionalProperties any                    `json:"additionalProperties"`
	Items                *jsonSchema            `json:"items"`
	Enum                 []any                  `json:"enum"`
	Pattern              string                 `json:"pattern"`
	Minimum              *float64               `json:"minimum"`
	Not                  *jsonSchema            `json:"not"`
	AllOf                []*jsonSchema          `json:"allOf"`
	If                   *jsonSchema            `json:"if"`
	Then                 *jsonSchema            `json:"then"`
}

// types returns the schema's JSON types other than "null".
func (s *jsonSchema) types() []string {
	var out []string
	switch t := s.Type.(type) {
	case string:
		out = []string{t}
	case []any:
		for _, v := range t {
			out = append(out, v.(string))
		}
	}
	return slices.DeleteFunc(out, func(t string) bool { return t == "null" })
}

func loadSchema(t *testing.T) *jsonSchema {
	t.Helper()
	if !json.Valid(Schema) {
		t.Fatal("event.schema.json is not valid JSON")
	}
	var s jsonSchema
	if err := json.Unmarshal(Schema, &s); err != nil {
		t.Fatalf("event.schema.json: %v", err)
	}
	return &s
}

func TestSchemaIsDraft202012(t *testing.T) {
	s := loadSchema(t)
	if s.Schema != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %q, want draft 2020-12", s.Schema)
	}
	if !reflect.DeepEqual(s.types(), []string{"object"}) {
		t.Errorf("top-level type = %v, want object", s.Type)
	}
	// Ingest keeps unknown top-level fields (in attributes): the schema
	// must not reject them.
	if s.AdditionalProperties != true {
		t.Errorf("top-level additionalProperties = %v, want true", s.AdditionalProperties)
	}
	var desc struct {
		Description string `json:"description"`
	}
	_ = json.Unmarshal(Schema, &desc)
	if !strings.Contains(desc.Description, "attributes") {
		t.Error("schema description does not say unknown fields are kept in attributes")
	}
}

// schemaPaths flattens the schema's properties into dotted paths: a
// property with properties of its own contributes "name.sub" paths.
func schemaPaths(s *jsonSchema) map[string]*jsonSchema {
	out := map[string]*jsonSchema{}
	for name, p := range s.Properties {
		if len(p.Properties) == 0 {
			out[name] = p
			continue
		}
		for sub, q := range p.Properties {
			out[name+"."+sub] = q
		}
	}
	return out
}

// eventJSONTypes derives each field path's JSON type from the Event struct.
func eventJSONTypes() map[string]string {
	out := map[string]string{}
	var walk func(rt reflect.Type, prefix string)
	walk = func(rt reflect.Type, prefix string) {
		for f := range rt.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch {
			case ft == reflect.TypeFor[time.Time]() || ft.Kind() == reflect.String:
				out[prefix+name] = "string"
			case ft.Kind() == reflect.Int64:
				out[prefix+name] = "integer"
			case ft.Kind() == reflect.Bool:
				out[prefix+name] = "boolean"
			case ft.Kind() == reflect.Slice:
				out[prefix+name] = "array"
			case ft.Kind() == reflect.Map:
				out[prefix+name] = "object"
			case ft.Kind() == reflect.Struct:
				walk(ft, prefix+name+".")
			default:
				panic("contract field of unexpected kind: " + prefix + name)
			}
		}
	}
	walk(reflect.TypeFor[Event](), "")
	return out
}

func TestSchemaFieldsMatchContract(t *testing.T) {
	s := loadSchema(t)
	got := schemaPaths(s)
	// The schema is what producers send; time_local is written by
	// normalisation (one a producer sends is an attribute).
	want := slices.DeleteFunc(append(slices.Clone(FieldPaths), "attributes"), func(p string) bool { return p == "time_local" })
	gotNames := make([]string, 0, len(got))
	for p := range got {
		gotNames = append(gotNames, p)
	}
	sort.Strings(gotNames)
	sort.Strings(want)
	if !slices.Equal(gotNames, want) {
		t.Fatalf("schema fields differ from the contract's\n schema:   %v\n contract: %v", gotNames, want)
	}

	goTypes := eventJSONTypes()
	for path, p := range got {
		wantType, ok := goTypes[path]
		if !ok {
			t.Errorf("%s: in FieldPaths but not a field of Event", path)
			continue
		}
		if types := p.types(); len(types) != 1 || types[0] != wantType {
			t.Errorf("%s: schema type %v, decoder reads a JSON %s", path, p.Type, wantType)
		}
		if wantType == "integer" && (p.Minimum == nil || *p.Minimum != 0) {
			t.Errorf("%s: integer without minimum 0 (the decoder rejects negatives)", path)
		}
		if wantType == "array" && (p.Items == nil || !slices.Equal(p.Items.types(), []string{"string"})) {
			t.Errorf("%s: items must be strings", path)
		}
		if wantType == "object" && !reflect.DeepEqual(p.AdditionalProperties, map[string]any{"type": "string"}) {
			t.Errorf("%s: values must be strings, got additionalProperties %v", path, p.AdditionalProperties)
		}
	}
	// Unknown nested fields are kept as attributes, so nested objects must
	// not forbid them either.
	for name, p := range s.Properties {
		if len(p.Properties) > 0 && p.AdditionalProperties != true {
			t.Errorf("%s: additionalProperties = %v, want true", name, p.AdditionalProperties)
		}
	}
}

func TestSchemaEventTypes(t *testing.T) {
	s := loadSchema(t)
	et := s.Properties["event_type"]
	if et == nil {
		t.Fatal("no event_type property")
	}
	seen := map[string]bool{}
	for _, v := range et.Enum {
		name, _ := v.(string)
		if FamilyOf(name) == FamilyUnknown {
			t.Errorf("schema event type %q is not one the decoder accepts", name)
		}
		if seen[name] {
			t.Errorf("schema lists %q twice", name)
		}
		seen[name] = true
	}
	for name := range eventTypes {
		if !seen[name] {
			t.Errorf("decoder event type %q missing from the schema's enum", name)
		}
	}
}

// schemaMatches evaluates the event_type condition of an if clause: the
// only kind of condition the contract schema uses.
func schemaMatches(t *testing.T, cond *jsonSchema, eventType string) bool {
	t.Helper()
	if len(cond.Properties) != 1 || cond.Properties["event_type"] == nil {
		t.Fatalf("if clause tests something other than event_type: %+v", cond)
	}
	var match func(s *jsonSchema) bool
	match = func(s *jsonSchema) bool {
		ok := true
		if s.Pattern != "" {
			ok = ok && regexp.MustCompile(s.Pattern).MatchString(eventType)
		}
		if s.Enum != nil {
			ok = ok && slices.Contains(s.Enum, any(eventType))
		}
		if s.Not != nil {
			ok = ok && !match(s.Not)
		}
		return ok
	}
	return match(cond.Properties["event_type"])
}

// schemaRequired returns the dotted paths the schema requires of an event
// of the given type.
func schemaRequired(t *testing.T, s *jsonSchema, eventType string) []string {
	var out []string
	add := func(c *jsonSchema) {
		for _, name := range c.Required {
			if p := c.Properties[name]; p != nil && len(p.Required) > 0 {
				for _, sub := range p.Required {
					out = append(out, name+"."+sub)
				}
				continue
			}
			out = append(out, name)
		}
	}
	add(s)
	for _, c := range s.AllOf {
		if c.If != nil && c.Then != nil && schemaMatches(t, c.If, eventType) {
			add(c.Then)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// TestSchemaRequiredMatchesDecoder derives, for every event type, which
// fields the decoder requires (by dropping each from a valid message) and
// compares them with what the schema requires, conditionals included.
func TestSchemaRequiredMatchesDecoder(t *testing.T) {
	s := loadSchema(t)
	d := Decoder{Now: func() time.Time { return schemaNow }}
	for eventType := range eventTypes {
		base := map[string]any{
			"event_type": eventType, "time": "2026-11-20T10:00:00Z", "msp": "msp-a",
			"tenant": "acme", "tool": "ninjaone", "actor": map[string]any{"user": "jdoe"},
		}
		if _, err := d.Decode(mustJSON(t, base)); err != nil {
			t.Fatalf("%s: base message rejected: %v", eventType, err)
		}
		var decoderRequires []string
		for _, path := range []string{"event_type", "time", "msp", "tenant", "tool", "actor.user"} {
			msg := cloneMessage(base)
			if top, sub, nested := strings.Cut(path, "."); nested {
				delete(msg[top].(map[string]any), sub)
			} else {
				delete(msg, path)
			}
			_, err := d.Decode(mustJSON(t, msg))
			var rej *RejectError
			if errors.As(err, &rej) && rej.Reason == ReasonMissingField && rej.Field == path {
				decoderRequires = append(decoderRequires, path)
			} else if err != nil {
				t.Fatalf("%s without %s: unexpected error %v", eventType, path, err)
			}
		}
		sort.Strings(decoderRequires)
		if got := schemaRequired(t, s, eventType); !slices.Equal(got, decoderRequires) {
			t.Errorf("%s: schema requires %v, decoder requires %v", eventType, got, decoderRequires)
		}
	}
}

// TestSchemaPatternsMatchDecoder checks each pattern in the schema against
// the decoder on values either side of the line.
func TestSchemaPatternsMatchDecoder(t *testing.T) {
	s := loadSchema(t)
	paths := schemaPaths(s)
	hex := "abcdef0123456789ABCDEF0123456789abcdef0123456789ABCDEF0123456789"
	samples := map[string][]string{
		"time": {"2026-11-20T10:00:00Z", "2026-11-20T10:00:00.123456789+01:00", "2026-11-20T10:00:00-05:30",
			"2026-11-20T10:00:00", "2026-11-20 10:00:00Z", "2026-11-20T10:00:00+0100", "20261120T100000Z"},
		"tool":           {"kaseya-vsa", "Kaseya-VSA", "n-able_n.central", "kaseya vsa", "tool/x", "ninjaöne"},
		"actor.country":  {"US", "us", "", "USA", "U", "U1"},
		"package.sha256": {hex, "", hex[:63], hex + "0", strings.Repeat("g", 64)},
		"script.sha256":  {hex, "", hex[:63], strings.Repeat("0", 65)},
	}
	d := Decoder{Now: func() time.Time { return schemaNow }}
	for path, values := range samples {
		p := paths[path]
		if p == nil || p.Pattern == "" {
			t.Errorf("%s: schema has no pattern", path)
			continue
		}
		re := regexp.MustCompile(p.Pattern)
		for _, v := range values {
			msg := map[string]any{
				"event_type": "software.push", "time": "2026-11-20T10:00:00Z", "msp": "msp-a",
				"tenant": "acme", "tool": "ninjaone", "actor": map[string]any{"user": "jdoe"},
			}
			if top, sub, nested := strings.Cut(path, "."); nested {
				obj, _ := msg[top].(map[string]any)
				if obj == nil {
					obj = map[string]any{}
					msg[top] = obj
				}
				obj[sub] = v
			} else {
				msg[path] = v
			}
			_, err := d.Decode(mustJSON(t, msg))
			if schemaOK := re.MatchString(v); schemaOK != (err == nil) {
				t.Errorf("%s = %q: schema pattern says valid=%v, decoder says %v", path, v, schemaOK, err)
			}
		}
	}
	outcome := paths["outcome"]
	for _, v := range []string{"success", "failure"} {
		if !slices.Contains(outcome.Enum, any(v)) {
			t.Errorf("outcome enum lacks %q", v)
		}
	}
}

// fence is one fenced code block of the documentation.
type fence struct {
	info string
	line int
	body string
}

func docFences(t *testing.T, doc string) []fence {
	t.Helper()
	var out []fence
	var cur *fence
	var body strings.Builder
	for i, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "```") {
			if cur != nil {
				body.WriteString(line)
				body.WriteByte('\n')
			}
			continue
		}
		if cur == nil {
			cur = &fence{info: strings.TrimSpace(strings.TrimPrefix(line, "```")), line: i + 1}
			body.Reset()
			continue
		}
		cur.body = body.String()
		out = append(out, *cur)
		cur = nil
	}
	if cur != nil {
		t.Fatalf("%s:%d: unterminated code fence", docPath, cur.line)
	}
	return out
}

// TestDocExamples decodes every ```json block of docs/event-contract.md.
// A block fenced "```json normalised" must also equal the normalised form
// of the block before it, as ingest writes it (DecodeNormalised).
func TestDocExamples(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	d := Decoder{Now: func() time.Time { return schemaNow }}
	types := map[string]bool{}
	var prev []byte // normalised form of the previous example
	n := 0
	for _, f := range docFences(t, string(raw)) {
		words := strings.Fields(f.info)
		if len(words) == 0 || words[0] != "json" {
			continue
		}
		n++
		ev, doc, err := d.DecodeNormalised([]byte(f.body))
		if err != nil {
			t.Errorf("%s:%d: example rejected: %v", docPath, f.line, err)
			prev = nil
			continue
		}
		types[ev.EventType] = true
		if slices.Contains(words[1:], "normalised") {
			if prev == nil {
				t.Errorf("%s:%d: normalised block without a valid message before it", docPath, f.line)
				continue
			}
			want := prev
			var shown, wanted any
			if err := json.Unmarshal([]byte(f.body), &shown); err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal(want, &wanted)
			if !reflect.DeepEqual(shown, wanted) {
				var pretty bytes.Buffer
				_ = json.Indent(&pretty, want, "", "  ")
				t.Errorf("%s:%d: normalised example differs from the decoder's output:\n%s", docPath, f.line, pretty.String())
			}
		}
		prev = doc
	}
	if n == 0 {
		t.Fatalf("%s: no json examples found", docPath)
	}
	for _, et := range []string{TypeAuthLogin, TypeSessionStart, TypeCredentialUse, TypeSoftwarePush, TypeScriptRun, TypeAgentUpdate} {
		if !types[et] {
			t.Errorf("%s: no worked example of %s", docPath, et)
		}
	}
}

// TestDocReference checks the documentation's tables: every event type and
// every rejection reason is documented, and each rejection example produces
// the documented reason and tripline-error text.
func TestDocReference(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	for name := range eventTypes {
		if !strings.Contains(doc, "| `"+name+"` |") {
			t.Errorf("%s: event type %s has no row in the event type tables", docPath, name)
		}
	}
	for _, path := range append(slices.Clone(FieldPaths), "attributes") {
		if !strings.Contains(doc, "| `"+path+"` |") {
			t.Errorf("%s: field %s has no row in the field table", docPath, path)
		}
	}

	_, section, ok := strings.Cut(doc, "\n## Rejections\n")
	if !ok {
		t.Fatalf("%s: no Rejections section", docPath)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	d := Decoder{Now: func() time.Time { return schemaNow }}
	documented := map[Reason]bool{}
	for line := range strings.SplitSeq(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 4 {
			t.Errorf("%s: rejection row with %d cells: %s", docPath, len(cells), line)
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		reason := Reason(strings.Trim(cells[0], "`"))
		documented[reason] = true
		wantErr := strings.Trim(cells[3], "`")
		if !strings.HasPrefix(wantErr, string(reason)+": ") {
			t.Errorf("%s: %s: error %q does not start with its reason", docPath, reason, wantErr)
		}
		example := cells[2]
		if strings.Count(example, "`") != 2 || !strings.HasPrefix(example, "`") || !strings.HasSuffix(example, "`") {
			continue // described in words (oversize, invalid UTF-8)
		}
		_, err := d.Decode([]byte(strings.Trim(example, "`")))
		var rej *RejectError
		if !errors.As(err, &rej) {
			t.Errorf("%s: %s example was accepted (%v)", docPath, reason, err)
			continue
		}
		if rej.Reason != reason || rej.Error() != wantErr {
			t.Errorf("%s: %s example gives %q, documented %q", docPath, reason, rej.Error(), wantErr)
		}
	}
	for _, r := range Reasons {
		if !documented[r] {
			t.Errorf("%s: rejection reason %s is not documented", docPath, r)
		}
	}
	for _, h := range []string{"tripline-reason", "tripline-error", "tripline-source-topic",
		"tripline-source-partition", "tripline-source-offset", "tripline-rejected-at"} {
		if !strings.Contains(doc, "| `"+h+"` |") {
			t.Errorf("%s: dead-letter header %s not documented", docPath, h)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cloneMessage(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if obj, ok := v.(map[string]any); ok {
			v = cloneMessage(obj)
		}
		out[k] = v
	}
	return out
}
