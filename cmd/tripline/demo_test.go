package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/store/storetest"
)

// The demo is the README's first command: it must run to completion on
// embedded defaults and show the injected attacks.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ClickHouse")
	}
	if _, err := chserver.Find(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"demo", "--events", "8000"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		`events ingested:\s+8000 `,
		`dead letters:\s+5`,
		`of the events as the vendors' own records on msp\.vendor \(datto-rmm [1-9]\d*, .*ninjaone [1-9]\d*, ocsf [1-9]\d*, screenconnect [1-9]\d*, teamviewer [1-9]\d*\)`,
		`[1-9]\d*\s+critical\s+Pushed Script Disables or Blinds Microsoft Defender`,
		`[1-9]\d*\s+medium\s+RMM Console Login Without MFA`,
		`clickhouse-client --host 127\.0\.0\.1 --port \d+`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	// The summary leads with what an analyst works: incidents, then
	// alerts, then the detections they group.
	var at []int
	for _, line := range []string{`\n  incidents:\s+\d+\n`, `\n  alerts:\s+\d+\n`, `\n  detections:\s+\d+\n`} {
		loc := regexp.MustCompile(line).FindStringIndex(out)
		if loc == nil {
			t.Fatalf("demo output lacks %q:\n%s", line, out)
		}
		at = append(at, loc[0])
	}
	if !(at[0] < at[1] && at[1] < at[2]) {
		t.Errorf("summary is not incidents, alerts, detections in that order:\n%s", out)
	}
	m := regexp.MustCompile(`detections:\s+(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no detections line:\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	if n == 0 {
		t.Errorf("demo raised no detections")
	}
	// The detector grouped them: fewer alerts than detections, and the
	// two attacks in a few incidents.
	alerts, _ := strconv.Atoi(regexp.MustCompile(`\n  alerts:\s+(\d+)`).FindStringSubmatch(out)[1])
	incidents, _ := strconv.Atoi(regexp.MustCompile(`\n  incidents:\s+(\d+)`).FindStringSubmatch(out)[1])
	if alerts == 0 || alerts >= n || incidents == 0 || incidents > alerts {
		t.Errorf("%d detections, %d alerts, %d incidents: want 0 < incidents <= alerts < detections", n, alerts, incidents)
	}
}

// TestDemoAlerts checks the incidents and alerts part of the summary on
// alerts the Grouper made of a push to five tenants and a login.
func TestDemoAlerts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ClickHouse")
	}
	if _, err := chserver.Find(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx := context.Background()
	srv, err := chserver.Start(ctx, chserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	st := storetest.Migrated(t, srv.Addr())
	g := alert.NewGrouper(alert.Config{})
	var alerts []record.Alert
	var incidents []record.Incident
	at := time.Now().UTC().Add(-time.Hour)
	add := func(rule, title, level, tenant, pkg string, p alert.Policy) {
		ev := &contract.Event{EventID: rule + tenant, EventType: contract.TypeSoftwarePush, MSP: "msp-a", Tenant: tenant, Time: at}
		ev.Actor.User, ev.Package.SHA256 = "tech1", pkg
		d := record.Detection{DetectionID: "d-" + ev.EventID, RuleID: rule, RuleTitle: title, Level: level, MSP: "msp-a",
			Tenant: tenant, ActorUser: "tech1", FirstTime: at, LastTime: at, EventIDs: []string{ev.EventID}}
		ch := g.Add(&d, ev, p)
		alerts, incidents = append(alerts, ch.Alerts...), append(incidents, ch.Incidents...)
	}
	for _, tenant := range []string{"t1", "t2", "t3", "t4", "t5"} {
		add("push", "Unsigned push", "high", tenant, "ABC", alert.Policy{GroupBy: []string{"msp", "package.sha256"}})
		add("outside", "Push outside the window", "medium", tenant, "ABC", alert.Policy{})
	}
	add("login", "Login without MFA", "medium", "t1", "", alert.Policy{})
	if err := st.InsertAlerts(ctx, alerts); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertIncidents(ctx, incidents); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := demoAlerts(ctx, &out, st); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		// The technician's no-MFA login shares the actor with the push:
		// one incident (alert.Grouper joins alerts through shared entities).
		`incidents:\s+1\n`,
		`\n    high\s+package.sha256 ABC\s+msp-a\s+7 alerts, 5 tenants\n`,
		`alerts:\s+7\n    1\s+high\s+Unsigned push\s+\(5 detections\)\n    5\s+medium\s+Push outside the window\s+\(5 detections\)\n    1\s+medium\s+Login without MFA`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}
