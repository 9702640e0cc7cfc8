package detection

import "testing"

func TestDetectionIDDeterministic(t *testing.T) {
	a := ID("rule-1", "e1", "e2", "e3")
	if a != ID("rule-1", "e3", "e1", "e2") {
		t.Error("detection ID depends on event order")
	}
	for _, other := range []string{
		ID("rule-2", "e1", "e2", "e3"),
		ID("rule-1", "e1", "e2"),
		ID("rule-1e1", "e2", "e3"),
	} {
		if other == a {
			t.Errorf("different rule or events gave the same ID %s", a)
		}
	}
}
