package console

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tripline/tripline/store"
)

// chromiumPath finds Debian's Chromium (scripts/ensure-chromium.sh, or
// apt-get install chromium). Without it the browser tests skip, except
// under CI=true, where a missing browser must not pass unnoticed.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TRIPLINE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium (run scripts/ensure-chromium.sh, or apt-get install chromium; or set TRIPLINE_CHROMIUM)")
	}
	t.Skip("skipping: no Chromium (apt-get install chromium, or set TRIPLINE_CHROMIUM)")
	return ""
}

// artifactDir is where screenshots go: $TRIPLINE_ARTIFACTS/<test> when
// set (CI keeps it), else the test's artifact directory (go test
// -artifacts keeps it).
func artifactDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("TRIPLINE_ARTIFACTS"); d != "" {
		dir := filepath.Join(d, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.ArtifactDir()
}

// newChrome starts a headless Chromium with the flags this closed
// network needs (no background connections, which it would refuse) and
// a fresh profile.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	// Generous: Chromium starts slowly on a loaded 2-core machine.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return bctx
}

// TestBrowser is the console as a person uses it, in headless Chromium:
// log in, see the queue, open an alert, acknowledge it (and find the
// alert_actions row in ClickHouse), then as a tenant viewer fail to see
// another tenant's alert through the pages and the API.
func TestBrowser(t *testing.T) {
	e := newEnv(t, "t_console_browser")
	ctx := newChrome(t)
	dir := artifactDir(t)
	base := e.srv.URL
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	shot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG; below, JPEG
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	visible := func(sel string) chromedp.Action[chromedp.Void] { return chromedp.WaitVisible(chromedp.CSS(sel)) }
	login := func(name, password string) {
		t.Helper()
		do("log in as "+name,
			chromedp.Navigate(base+"/"),
			visible("#login"),
			chromedp.SendKeys(chromedp.CSS("#name"), name),
			chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS("#login-submit")),
			visible("#alerts"),
		)
	}

	login("ana", analystPW)
	queue := text("#alerts")
	shot("01-queue")
	for _, want := range []string{"Clinic push outside window", "Election office takeover", "Other MSP secret alert"} {
		if !strings.Contains(queue, want) {
			t.Errorf("queue lacks %q:\n%s", want, queue)
		}
	}
	// The one script: select all. It runs, so the CSP admits it.
	do("select all", chromedp.Click(chromedp.CSS("#select-all")))
	selected, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("input.sel:checked").length`))
	if err != nil || selected != 4 {
		t.Errorf("select all ticked %d alerts, want 4 (%v)", selected, err)
	}

	do("open alert a-1", chromedp.Click(chromedp.CSS(`tr[data-alert="a-1"] a.alert-link`)), visible("#alert-id"))
	timeline := text("#timeline")
	shot("02-alert")
	if !strings.Contains(timeline, "clinic-pc-e-1") || !strings.Contains(timeline, "update.msi pushed") {
		t.Errorf("timeline lacks the events and detections:\n%s", timeline)
	}
	// Why it matched: the rule's selection hit each event, with the
	// event's values of its fields, as an analyst reads it on the page.
	do("why it matched", chromedp.ScrollIntoView(chromedp.CSS("#why")))
	why := text("#why")
	shot("02b-why-it-matched")
	for _, want := range []string{"Event e-1", "Event e-2", "selection hit", "package.signed: false", "package.signed = false", "event_type = software.push"} {
		if !strings.Contains(why, want) {
			t.Errorf("why it matched lacks %q:\n%s", want, why)
		}
	}
	hitCells, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#why td.why-search.hit[data-search="selection"]').length`))
	if err != nil || hitCells != 2 {
		t.Errorf("%d events show the selection as hit, want 2 (%v)", hitCells, err)
	}
	do("acknowledge", chromedp.Click(chromedp.CSS("#ack")), visible("#flash"))
	flash, status := text("#flash"), text("#alert-status")
	shot("03-acknowledged")
	if !strings.Contains(flash, "Acknowledged") || strings.TrimSpace(status) != store.StatusAcknowledged {
		t.Errorf("after ack: flash %q, status %q", flash, status)
	}
	acts, err := e.st.AlertActions(e.ctx, store.AllMSPs(), "a-1")
	if err != nil || len(acts) != 1 || acts[0].Actor != "ana" || acts[0].Action != store.ActionAck || acts[0].StatusTo != store.StatusAcknowledged {
		t.Fatalf("alert_actions of a-1 after the browser's ack: %+v %v", acts, err)
	}

	// The tenant viewer: its tenant's alerts, nothing of the others.
	do("log out", chromedp.Click(chromedp.CSS("form.logout button")), visible("#login"))
	login("clinic", viewerPW)
	vqueue := text("#alerts")
	shot("04-viewer-queue")
	if !strings.Contains(vqueue, "Clinic push") || strings.Contains(vqueue, "Election office") || strings.Contains(vqueue, "Other MSP") {
		t.Errorf("viewer queue:\n%s", vqueue)
	}
	do("viewer opens another tenant's alert", chromedp.Navigate(base+"/alerts/a-3"), visible("#error"))
	if denied := text("#error"); !strings.Contains(denied, "Not found") {
		t.Errorf("viewer opening another tenant's alert: %q", denied)
	}
	shot("05-viewer-other-tenant")
	do("viewer API, one alert", chromedp.Navigate(base+"/api/alerts/a-3"))
	if apiOne := text("body"); !strings.Contains(apiOne, "not_found") || strings.Contains(apiOne, "Election") {
		t.Errorf("viewer API, another tenant's alert: %s", apiOne)
	}
	do("viewer API, list", chromedp.Navigate(base+"/api/alerts"))
	if apiList := text("body"); !strings.Contains(apiList, `"a-1"`) || strings.Contains(apiList, `"a-3"`) || strings.Contains(apiList, `"b-1"`) {
		t.Errorf("viewer API list: %s", apiList)
	}
	do("viewer tenant page", chromedp.Navigate(base+"/tenant"), visible("#report-links"))
	shot("06-viewer-tenant")
	do("viewer report link", chromedp.Click(chromedp.CSS("#report-links a")), visible("h1"))
	// The report is its own page (console.ReportHandler), not inside the
	// console's layout.
	if report := text("body"); !strings.Contains(report, "MSP access report") || !strings.Contains(report, "t-1") {
		t.Errorf("report page: %s", report)
	}

	// Rule health, as an admin sees it.
	do("log out the viewer", chromedp.Navigate(base+"/queue"), chromedp.Click(chromedp.CSS("form.logout button")), visible("#login"))
	login("admin", adminPW)
	do("rule health", chromedp.Navigate(base+"/rules"), visible("#rule-days"))
	shot("07-rule-health")
	if noisy := text("#noisy"); !strings.Contains(noisy, e.rule.ID) {
		t.Errorf("noisiest rules lack the alerts' rule: %s", noisy)
	}
	t.Logf("screenshots in %s", dir)
}
