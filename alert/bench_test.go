package alert_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/record"
)

// BenchmarkMassPush groups a Kaseya-style push as the detector's hot path
// sees it: one technician pushes one package to 1,000 tenants, ten
// detections each (10,000 detections), alerts per tenant (the default
// group-by), all in one incident. It reports the cost per detection.
func BenchmarkMassPush(b *testing.B) {
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	const n = 10_000
	ds := make([]record.Detection, n)
	evs := make([]*contract.Event, n)
	for i := range n {
		ev := &contract.Event{EventID: fmt.Sprintf("e%05d", i), EventType: contract.TypeSoftwarePush, MSP: "msp-a",
			Tenant: fmt.Sprintf("t%04d", i%1000), Time: start.Add(time.Duration(i) * time.Second)}
		ev.Actor.User, ev.Package.SHA256 = "tech1", "ABCDEF"
		evs[i] = ev
		ds[i] = record.Detection{DetectionID: "d-" + ev.EventID, RuleID: "push", RuleTitle: "Push", Level: "high",
			MSP: ev.MSP, Tenant: ev.Tenant, ActorUser: "tech1", FirstTime: ev.Time, LastTime: ev.Time, EventIDs: []string{ev.EventID}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		g := alert.NewGrouper(alert.Config{})
		for i := range ds {
			d := ds[i]
			g.Add(&d, evs[i], alert.Policy{})
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/detection")
}
