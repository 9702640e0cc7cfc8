package ops

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestSum(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c_total", Help: "c"}, []string{"reason", "topic"})
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "g", Help: "g"}, []string{"partition"})
	reg.MustRegister(c, g)
	c.WithLabelValues("bad_json", "a").Add(2)
	c.WithLabelValues("bad_json", "b").Add(3)
	c.WithLabelValues("too_big", "a").Inc()
	g.WithLabelValues("0").Set(4)
	g.WithLabelValues("1").Set(-1)

	by := SumBy(reg, "c_total", "reason")
	if len(by) != 2 || by["bad_json"] != 5 || by["too_big"] != 1 {
		t.Errorf("SumBy(c_total, reason) = %v", by)
	}
	if got := Sum(reg, "c_total"); got != 6 {
		t.Errorf("Sum(c_total) = %v, want 6", got)
	}
	if got := Sum(reg, "g"); got != 3 {
		t.Errorf("Sum(g) = %v, want 3", got)
	}
	if got := Sum(reg, "absent"); got != 0 {
		t.Errorf("Sum(absent) = %v", got)
	}
	if by := SumBy(reg, "g", "no_such_label"); len(by) != 1 || by[""] != 3 {
		t.Errorf("SumBy(g, no_such_label) = %v", by)
	}
}
