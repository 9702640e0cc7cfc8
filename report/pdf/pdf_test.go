package pdf

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/tripline/tripline/report"
)

// chromium returns the browser for a test: skipped when none is installed,
// except under CI=true, where a missing browser is a failure (make test
// installs it with scripts/ensure-chromium.sh).
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping under -short: starts Chromium")
	}
	bin, err := FindChromium()
	if err == nil {
		if _, err = os.Stat(bin); err == nil {
			return bin
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("Chromium is required under CI=true: %v (run scripts/ensure-chromium.sh)", err)
	}
	t.Skipf("skipping: %v", err)
	return ""
}

// sample is a report with enough rows to run past one page.
func sample() *report.Report {
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	d := report.Data{Version: report.Version, MSP: "msp-northwind", Tenant: "county-elections-ks",
		Period: report.Period{Month: "2026-11", From: from, To: from.AddDate(0, 1, 0)}}
	yes, no := true, false
	for i := 0; i < 120; i++ {
		at := from.Add(time.Duration(i) * 5 * time.Hour)
		dur := int64(600 + i)
		d.Sessions = append(d.Sessions, report.Session{SessionID: "sc-" + at.Format("0102150405"), User: "jdoe@northwind-msp.example",
			Tool: "screenconnect", Start: at, DurationS: &dur, Country: "US", SourceIP: "203.0.113.7", MFA: &yes, MFASource: "login",
			ToolApproved: &yes, InMaintenance: &no, InWorkingHours: &yes, Contracted: &yes, Hosts: []string{"ELEC-DC01"}})
		d.HeatMap.Counts[i%7][i%24]++
	}
	d.HeatMap.Max, d.HeatMap.HasMaintenance = 1, true
	d.HeatMap.Maintenance[6][2] = 60
	for day := from; day.Before(d.Period.To); day = day.AddDate(0, 0, 1) {
		d.Daily = append(d.Daily, report.Day{Date: day.Format(time.DateOnly), Sessions: 4, Pushes: 1})
	}
	r := &report.Report{GeneratedAt: from.AddDate(0, 1, 1), Generator: "test", Data: d}
	if err := r.Seal(); err != nil {
		panic(err)
	}
	return r
}

func TestRenderPDF(t *testing.T) {
	bin := chromium(t)
	var html bytes.Buffer
	if err := report.WriteHTML(&html, sample()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	pdf, err := Render(ctx, html.Bytes(), Options{Chromium: bin, Timeout: 3 * time.Minute, Footer: "county-elections-ks · 2026-11 · <digest>"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", pdf[:min(len(pdf), 16)])
	}
	pages := PageCount(pdf)
	// 120 session rows do not fit on one A4 page.
	if pages < 2 {
		t.Errorf("%d pages", pages)
	}
	if dir := os.Getenv("TRIPLINE_TEST_ARTIFACTS"); dir != "" {
		if err := os.WriteFile(dir+"/report.pdf", pdf, 0o644); err != nil {
			t.Error(err)
		}
	}
	t.Logf("%d bytes, %d pages in %v", len(pdf), pages, time.Since(start).Round(time.Millisecond))
}

func TestRenderNoChromium(t *testing.T) {
	_, err := Render(context.Background(), []byte("<p>x</p>"), Options{Chromium: "/nonexistent/chromium"})
	if !errors.Is(err, ErrNoChromium) {
		t.Fatalf("err = %v, want ErrNoChromium", err)
	}
}

func TestPageCount(t *testing.T) {
	pdf := []byte("%PDF-1.4\n1 0 obj <</Type /Pages /Count 2>>\n2 0 obj <</Type /Page>>\n3 0 obj <</Type/Page /Parent 1 0 R>>")
	if n := PageCount(pdf); n != 2 {
		t.Errorf("PageCount = %d, want 2", n)
	}
}

// TestRendererReuse prints several reports with one browser (the MSP's
// monthly --all-tenants run), two tabs at once, and removes the profile
// directory on Close.
func TestRendererReuse(t *testing.T) {
	bin := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	r, err := NewRenderer(ctx, Options{Chromium: bin, Timeout: 3 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var html bytes.Buffer
	if err := report.WriteHTML(&html, sample()); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() {
			doc, err := r.Render(ctx, html.Bytes(), "footer")
			if err == nil && (!bytes.HasPrefix(doc, []byte("%PDF-")) || PageCount(doc) < 2) {
				err = errors.New("not a multi-page PDF")
			}
			errs <- err
		}()
	}
	for i := 0; i < 3; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	profile := r.profile
	r.Close()
	if _, err := os.Stat(profile); !os.IsNotExist(err) {
		t.Errorf("profile directory %s left behind: %v", profile, err)
	}
}
