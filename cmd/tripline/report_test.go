package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/chserver"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/record"
	"github.com/tripline/tripline/registry"
	"github.com/tripline/tripline/report/pdf"
	"github.com/tripline/tripline/simulate"
	"github.com/tripline/tripline/store"
)

// TestReportCLI runs tripline report as an MSP's monthly job would, on
// simulated traffic ingested with the simulator's registry.
func TestReportCLI(t *testing.T) {
	srv := chserver.ForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, store.Config{Addr: srv.Addr(), Database: "t_report_cli"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	g, err := simulate.New(simulate.Config{Seed: 3, Start: time.Date(2026, 11, 10, 8, 0, 0, 0, time.UTC), Events: 4000, TenantsPerMSP: 3})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	regFile := filepath.Join(dir, "registry.yml")
	if err := os.WriteFile(regFile, g.Registry(), 0o600); err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Load(regFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := contract.Decoder{DiscardContext: true, Now: func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }}
	var rows []record.Event
	tenants := map[string]bool{}
	var tenant, msp string
	for m, ok := g.Next(); ok; m, ok = g.Next() {
		ev, doc, err := dec.DecodeNormalised(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		ev.Context = reg.Context(&ev)
		rows = append(rows, record.Event{Event: &ev, Doc: contract.WithContext(doc, ev.Context), Topic: m.Topic})
		if ev.Tenant != "" {
			tenants[ev.MSP+"/"+ev.Tenant] = true
			if tenant == "" && ev.EventType == "session.start" {
				tenant, msp = ev.Tenant, ev.MSP
			}
		}
	}
	if err := st.InsertEvents(ctx, rows); err != nil {
		t.Fatal(err)
	}

	chFlags := []string{"--clickhouse", srv.Addr(), "--clickhouse-db", "t_report_cli"}
	cli := func(wantCode int, args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		if args[0] == "report" && (len(args) < 2 || args[1] != "verify") {
			args = append(args, chFlags...)
		}
		if code := run(ctx, args, &out, &errb); code != wantCode {
			t.Fatalf("tripline %s: exit %d, want %d\nstdout: %.2000s\nstderr: %s", strings.Join(args, " "), code, wantCode, out.String(), errb.String())
		}
		return out.String(), errb.String()
	}

	// JSON to a file, verified; the digest is what the command printed.
	jsonFile := filepath.Join(dir, "r.json")
	_, msg := cli(0, "report", "--tenant", tenant, "--month", "2026-11", "--format", "json", "--out", jsonFile, "--registry", regFile)
	out, _ := cli(0, "report", "verify", jsonFile)
	digest := strings.TrimSpace(out[strings.LastIndex(out, " "):])
	if !strings.HasPrefix(digest, "sha256:") || !strings.Contains(msg, digest) {
		t.Errorf("verify printed %q, build printed %q", out, msg)
	}
	js, _ := os.ReadFile(jsonFile)
	if fi, _ := os.Stat(jsonFile); fi.Mode().Perm() != 0o640 {
		t.Errorf("report file mode %v", fi.Mode().Perm())
	}
	tampered := filepath.Join(dir, "tampered.json")
	os.WriteFile(tampered, bytes.Replace(js, []byte(`"sessions": `), []byte(`"sessions": 1`), 1), 0o600)
	if out, _ := cli(1, "report", "verify", tampered); !strings.Contains(out, "MISMATCH") {
		t.Errorf("tampered: %s", out)
	}
	// The same data in CSV carries the same digest.
	if csvOut, _ := cli(0, "report", "--tenant", tenant, "--month", "2026-11", "--format", "csv", "--registry", regFile); !strings.Contains(csvOut, digest) ||
		!strings.Contains(csvOut, "#section,sessions") {
		t.Errorf("csv:\n%.1000s", csvOut)
	}

	// The monthly run: one HTML file per tenant.
	outDir := filepath.Join(dir, "reports")
	cli(0, "report", "--all-tenants", "--month", "2026-11", "--out", outDir, "--registry", regFile)
	files, _ := filepath.Glob(filepath.Join(outDir, "*_2026-11.html"))
	if len(files) != len(tenants) || len(files) == 0 {
		t.Errorf("%d files for %d tenants: %v", len(files), len(tenants), files)
	}

	// Usage errors and an unknown tenant.
	cli(2, "report", "--tenant", tenant)
	cli(2, "report", "--tenant", tenant, "--month", "2026-11", "--format", "docx")
	cli(2, "report", "--all-tenants", "--month", "2026-11")
	if _, e := cli(1, "report", "--tenant", "nobody", "--month", "2026-11"); !strings.Contains(e, "--msp") {
		t.Errorf("unknown tenant: %s", e)
	}

	// PDF, where Chromium is installed (and always under CI=true).
	if _, err := pdf.FindChromium(); err != nil && os.Getenv("CI") != "true" {
		t.Logf("no PDF: %v", err)
		return
	}
	pdfFile := filepath.Join(dir, "r.pdf")
	cli(0, "report", "--tenant", tenant, "--month", "2026-11", "--format", "pdf", "--out", pdfFile, "--registry", regFile)
	pdfDir := filepath.Join(dir, "pdf")
	cli(0, "report", "--all-tenants", "--msp", msp, "--month", "2026-11", "--out", pdfDir, "--format", "pdf")
	pdfs, _ := filepath.Glob(filepath.Join(pdfDir, "*_2026-11.pdf"))
	if len(pdfs) != 3 { // the MSP's three tenants, with one browser
		t.Errorf("%d PDFs for the 3 tenants of %s", len(pdfs), msp)
	}
	for _, f := range append(pdfs, pdfFile) {
		doc, _ := os.ReadFile(f)
		if !bytes.HasPrefix(doc, []byte("%PDF-")) || pdf.PageCount(doc) < 1 {
			t.Errorf("%s: %d bytes, %d pages", f, len(doc), pdf.PageCount(doc))
		}
	}
}
