package report

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tripline/tripline/store"
)

// fakeSource serves events from memory.
type fakeSource struct{ events []store.ReportEvent }

func (f *fakeSource) ReportEvents(_ context.Context, _ store.Scope, _, tenant string, _, _ time.Time, _ []string, fn func(*store.ReportEvent) error) error {
	for i := range f.events {
		if f.events[i].Tenant == tenant {
			if err := fn(&f.events[i]); err != nil {
				return err
			}
		}
	}
	return nil
}
func (f *fakeSource) ActorLastSeen(context.Context, store.Scope, string, time.Time, time.Time) (map[string]time.Time, error) {
	return nil, nil
}
func (f *fakeSource) TenantAlerts(context.Context, store.Scope, string, string, time.Time, time.Time) ([]store.ReportAlert, error) {
	return nil, nil
}
func (f *fakeSource) TenantDataSince(context.Context, store.Scope, string, string) (time.Time, error) {
	return time.Time{}, nil
}
func (f *fakeSource) EventRetentionDays(context.Context) (int, error) { return 0, nil }

// TestRowsCappedAsTheyCome: a tenant-month with more rows than MaxRows
// keeps MaxRows of each list, counts the rest, and its totals stay exact.
func TestRowsCappedAsTheyCome(t *testing.T) {
	const n = MaxRows + 500
	src := &fakeSource{}
	base := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		src.events = append(src.events, store.ReportEvent{EventID: fmt.Sprint(i), EventType: "software.push", Time: base.Add(time.Duration(i) * time.Second),
			MSP: "m", Tenant: "t", Tool: "rmm", ActorUser: "tech", PackageName: "p",
			Context: `{"tenant_contracted":true,"tool_approved":true,"in_maintenance_window":false}`})
	}
	r, err := Build(context.Background(), src, Options{Scope: store.AllMSPs(), MSP: "m", Tenant: "t", Month: "2026-11"})
	if err != nil {
		t.Fatal(err)
	}
	d := r.Data
	if len(d.Changes) != MaxRows || d.Omitted["changes"] != 500 || d.Summary.Pushes != n {
		t.Errorf("changes: %d listed, %d omitted, %d pushes", len(d.Changes), d.Omitted["changes"], d.Summary.Pushes)
	}
	if len(d.Exceptions) != MaxRows || d.Omitted["exceptions"] != 500 || d.Summary.Exceptions != n {
		t.Errorf("exceptions: %d listed, %d omitted, %d in all", len(d.Exceptions), d.Omitted["exceptions"], d.Summary.Exceptions)
	}
	if !d.Exceptions[0].Time.Equal(base) || d.Exceptions[0].Kind != ExOutOfWindow {
		t.Errorf("first exception %+v", d.Exceptions[0])
	}
	if d.Daily[2].Pushes != n {
		t.Errorf("daily pushes on the 3rd: %d", d.Daily[2].Pushes)
	}
}

// A context that is not ingest's (damaged or forged into something else)
// reads as unknown, never as a finding or an approval.
func TestDamagedContextIsUnknown(t *testing.T) {
	if c := parseContext(`{"tool_approved":tru`); c != nil {
		t.Errorf("damaged context parsed: %+v", c)
	}
}
