package fields

import (
	"encoding/json"
	"testing"
)

func TestMapLookup(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal([]byte(`{"actor":{"user":"jdoe","mfa":false},"a.b":"dotted","Image":"C:\\x.exe","n":4624,"tags":["x","y"],"nil":null,"obj":{"k":1}}`), &doc); err != nil {
		t.Fatal(err)
	}
	m := Map{Doc: doc}
	tests := []struct {
		path string
		kind Kind
	}{
		{"actor.user", String}, {"actor.mfa", Bool}, {"a.b", String}, {"Image", String},
		{"n", Number}, {"tags", List}, {"nil", Null}, {"obj", Object}, {"actor.nope", Absent}, {"nope", Absent},
	}
	for _, tt := range tests {
		if got := m.Lookup(tt.path); got.Kind != tt.kind {
			t.Errorf("Lookup(%q).Kind = %v, want %v", tt.path, got.Kind, tt.kind)
		}
	}
	var strs []string
	m.EachString(func(s string) bool { strs = append(strs, s); return true })
	if len(strs) != 5 {
		t.Errorf("EachString saw %d strings (%v), want 5", len(strs), strs)
	}
}
