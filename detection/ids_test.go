package detect

import "testing"

func TestDetectionIDDeterministic(t *testing.T) {
	a := DetectionID("rule-1", "e1", "e2", "e3")
	if a != DetectionID("rule-1", "e3", "e1", "e2") {
		t.Error("detection ID depends on event order")
	}
	for _, other := range []string{
		DetectionID("rule-2", "e1", "e2", "e3"),
		DetectionID("rule-1", "e1", "e2"),
		DetectionID("rule-1e1", "e2", "e3"),
	} {
		if other == a {
			t.Errorf("different rule or events gave the same ID %s", a)
		}
	}
}
