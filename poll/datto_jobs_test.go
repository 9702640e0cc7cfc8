package poll

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/adapt"
	"github.com/tripline/tripline/contract"
)

// dattoJobVendor is a Datto RMM API whose activity log holds job runs as
// the published API v2 writes them (details with dotted job.* keys, no
// components) and user logins: record id%4 0 runs job-app (an
// Applications component and a script), 1 job-script, 2 job-gone (a
// deleted job: 404), 3 is a login.
func dattoJobVendor(h *harness) {
	h.v.comps = [][3]string{
		{"c-app", "Install 7-Zip", "Applications"},
		{"c-scr", "Check disk space", "Scripts"},
		{"c-mon", "Disk monitor", "Monitors"},
	}
	h.v.jobComps = map[string][]string{"job-app": {"c-scr", "c-app"}, "job-script": {"c-scr"}}
	h.v.dattoRecord = func(r rec) string {
		if r.id%4 == 3 {
			return fmt.Sprintf(`{"id":"datto-%d","entity":"USER","category":"user","action":"login","date":%d,"site":{"id":4412,"name":"County"},"user":{"id":551,"userName":"tech%d@msp.example"},"details":"{\"ip\":\"203.0.113.7\"}"}`, r.id, r.at.Unix(), r.id)
		}
		job := [...]string{"job-app", "job-script", "job-gone"}[r.id%4]
		details := fmt.Sprintf(`{"job.uid":%q,"job.name":"Monthly %s","job.status":"completed","job.deployment_id":"d-%d","device.hostname":"PC-%d"}`, job, job, r.id, r.id)
		return fmt.Sprintf(`{"id":"datto-%d","entity":"DEVICE","category":"job","action":"deployment","date":%d,"site":{"id":4412,"name":"County"},"deviceId":%d,"hostname":"PC-%d","user":{"id":551,"userName":"tech@msp.example"},"details":%q,"hasStdOut":false,"hasStdErr":false}`,
			r.id, r.at.Unix(), r.id, r.id, details)
	}
	h.v.add(20, now.Add(-30*time.Minute))
}

// converted are the events the adapter makes of msgs' records, by the
// record's id.
func converted(t *testing.T, msgs []kafka.Message) map[string]*contract.Event {
	t.Helper()
	a, _ := adapt.Get(DattoRMM)
	out := map[string]*contract.Event{}
	for _, m := range msgs {
		err := a.Convert(m.Value, testMSP, func(o adapt.Out) error {
			if o.Event == nil {
				return fmt.Errorf("record %d: %v %s", o.Record, o.Err, o.Skip)
			}
			ev := adapt.Keep(o.Event)
			out[ev.Attributes["datto-rmm.record_id"]] = ev
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestDattoJobComponents: a job run whose component installs software is
// written with its components' names and category, which the adapter
// reads as software.push; a script job reads as script.run with its
// script; a deleted job's runs and other activities are written as they
// were. Each job is looked up once, the account's components listed once.
func TestDattoJobComponents(t *testing.T) {
	h := newHarness(t, DattoRMM, 5, "")
	dattoJobVendor(h)
	if err := h.run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	evs := converted(t, h.messages())
	if len(evs) != 20 {
		t.Fatalf("%d records written, want 20", len(evs))
	}
	for id := 100; id < 120; id++ {
		ev := evs[fmt.Sprintf("datto-%d", id)]
		if ev == nil {
			t.Fatalf("record datto-%d not written", id)
		}
		want := [...]string{contract.TypeSoftwarePush, contract.TypeScriptRun, contract.TypeScriptRun, contract.TypeAuthLogin}[id%4]
		if ev.EventType != want {
			t.Errorf("datto-%d: %s, want %s", id, ev.EventType, want)
		}
		switch id % 4 {
		case 0:
			if ev.Package.Name != "Install 7-Zip" || ev.Target.HostCount == nil || *ev.Target.HostCount != 1 {
				t.Errorf("datto-%d: package %+v, host count %v", id, ev.Package, ev.Target.HostCount)
			}
		case 1:
			if ev.Script.Name != "Check disk space" || ev.Attributes["job"] != "Monthly job-script" {
				t.Errorf("datto-%d: script %+v, job %q", id, ev.Script, ev.Attributes["job"])
			}
		case 2:
			if ev.Script.Name != "" || ev.Attributes["details.componentCategory"] != "" {
				t.Errorf("datto-%d: a deleted job's run got components: %+v %v", id, ev.Script, ev.Attributes)
			}
		}
	}
	if got := h.v.jobCalls; got["job-app"] != 1 || got["job-script"] != 1 || got["job-gone"] != 1 {
		t.Errorf("job lookups %v, want one each", got)
	}
	if h.v.compListCalls != 2 {
		t.Errorf("account component listings: %d requests, want 2 (one listing of two pages)", h.v.compListCalls)
	}
}

// TestDattoJobComponentsFailures: a components API that fails (500, after
// the retries) leaves the page unwritten and its checkpoint where it was,
// and the next poll writes it with its components; one that refuses the
// API key (403) is asked once, and the activities go on without.
func TestDattoJobComponentsFailures(t *testing.T) {
	// failJobs answers every job components request with status.
	failJobs := func(status int) func(w http.ResponseWriter, r *http.Request, n int) bool {
		return func(w http.ResponseWriter, r *http.Request, n int) bool {
			if !strings.HasPrefix(r.URL.Path, "/api/v2/job/") {
				return false
			}
			w.WriteHeader(status)
			return true
		}
	}
	t.Run("500", func(t *testing.T) {
		h := newHarness(t, DattoRMM, 5, "")
		dattoJobVendor(h)
		h.v.setFault(failJobs(http.StatusInternalServerError))
		if err := h.run(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "components") {
			t.Fatalf("poll with the components API down: %v, want its error", err)
		}
		if msgs := h.messages(); len(msgs) != 0 {
			t.Fatalf("%d messages written with the components API down", len(msgs))
		}
		h.v.setFault(nil)
		if err := h.run(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		evs := converted(t, h.messages())
		if ev := evs["datto-100"]; ev == nil || ev.EventType != contract.TypeSoftwarePush {
			t.Fatalf("after the API came back: %+v", ev)
		}
	})
	t.Run("403", func(t *testing.T) {
		h := newHarness(t, DattoRMM, 5, "")
		dattoJobVendor(h)
		h.v.setFault(failJobs(http.StatusForbidden))
		if err := h.run(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		evs := converted(t, h.messages())
		if len(evs) != 20 || evs["datto-100"].EventType != contract.TypeScriptRun {
			t.Fatalf("%d records; datto-100 %+v", len(evs), evs["datto-100"])
		}
		if n := strings.Count(h.log.String(), "may not read jobs"); n != 1 {
			t.Errorf("the 403 logged %d times, want once:\n%s", n, h.log)
		}
	})
	t.Run("off", func(t *testing.T) {
		h := newHarness(t, DattoRMM, 5, "")
		dattoJobVendor(h)
		h.conf += "    job_components: false\n"
		if err := h.run(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		var raw []json.RawMessage
		for _, m := range h.messages() {
			var recs []json.RawMessage
			if err := json.Unmarshal(m.Value, &recs); err != nil {
				t.Fatal(err)
			}
			raw = append(raw, recs...)
		}
		if len(raw) != 20 || len(h.v.jobCalls) != 0 {
			t.Fatalf("%d records, job lookups %v with job_components: false", len(raw), h.v.jobCalls)
		}
	})
}
