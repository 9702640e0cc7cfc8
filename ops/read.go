package ops

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Sum returns the sum of every series of the counter or gauge name on g
// (0 when there is none, or g cannot be gathered): a worker's metrics read
// back, for a summary.
func Sum(g prometheus.Gatherer, name string) float64 {
	var v float64
	for _, n := range SumBy(g, name, "") {
		v += n
	}
	return v
}

// SumBy returns the counter or gauge name on g summed by the value of one
// label (series without it count under "").
func SumBy(g prometheus.Gatherer, name, label string) map[string]float64 {
	out := map[string]float64{}
	mfs, err := g.Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[labelValue(m, label)] += m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue()
		}
	}
	return out
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
