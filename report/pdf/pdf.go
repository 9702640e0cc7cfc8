// Package pdf prints an HTML report to PDF with headless Chromium (Debian's
// chromium package, installed by scripts/ensure-chromium.sh) through the
// DevTools protocol. It lives apart from package report so that only the
// PDF path depends on chromedp and a browser.
package pdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	stdhtml "html"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// DefaultTimeout bounds one rendering, browser start included: Chromium
// starts slowly on a loaded machine.
const DefaultTimeout = 2 * time.Minute

// ErrNoChromium is returned when no Chromium binary is found.
var ErrNoChromium = errors.New("no Chromium found: install Debian's chromium (scripts/ensure-chromium.sh) or set TRIPLINE_CHROMIUM")

// Options configure Render. Zero values are defaults.
type Options struct {
	// Chromium is the browser binary; default: FindChromium.
	Chromium string
	// Timeout bounds the rendering (DefaultTimeout).
	Timeout time.Duration
	// Footer is plain text printed at the foot of every page with the
	// page number (Render only; Renderer.Render takes it per page).
	Footer string
}

// FindChromium returns the Chromium to use: $TRIPLINE_CHROMIUM, else
// chromium, chromium-browser or google-chrome on PATH, else
// /usr/bin/chromium.
func FindChromium() (string, error) {
	if p := os.Getenv("TRIPLINE_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	return "", ErrNoChromium
}

// Render prints html (a self-contained page: report.WriteHTML's output)
// to A4 PDF pages with a browser of its own. To print many, use one
// Renderer.
func Render(ctx context.Context, html []byte, o Options) ([]byte, error) {
	r, err := NewRenderer(ctx, o)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Render(ctx, html, o.Footer)
}

// Renderer is one running headless Chromium that prints pages to PDF, a
// tab each. The browser runs in a fresh profile directory, removed by
// Close, with every background network feature off: the pages load
// nothing, and on a closed network Chromium's own connections would only
// fail and slow it down. Pages are set with Page.setDocumentContent on
// about:blank, so no file or server is needed. Render may be called from
// several goroutines; Close stops the browser.
type Renderer struct {
	bin     string
	profile string
	timeout time.Duration
	out     *limitedWriter
	bctx    context.Context
	acancel context.CancelFunc
	bcancel context.CancelFunc
}

// NewRenderer starts Chromium; the browser lives until Close or until ctx
// ends. Starting is bounded by the Options' timeout.
func NewRenderer(ctx context.Context, o Options) (*Renderer, error) {
	bin := o.Chromium
	if bin == "" {
		var err error
		if bin, err = FindChromium(); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoChromium, err)
	}
	r := &Renderer{bin: bin, timeout: o.Timeout, out: &limitedWriter{max: 16 << 10}}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	var err error
	if r.profile, err = os.MkdirTemp("", "tripline-chromium-"); err != nil {
		return nil, fmt.Errorf("pdf: profile directory: %w", err)
	}
	var actx context.Context
	actx, r.acancel = chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(r.profile),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.CombinedOutput(r.out),
	)
	r.bctx, r.bcancel = chromedp.NewContext(actx)
	// chromedp ties the browser's life to the context of the first Run,
	// so that context has no deadline: a timer bounds the start instead
	// (killing the browser if it fires).
	timer := time.AfterFunc(r.timeout, r.acancel)
	_, err = chromedp.Run(r.bctx, func(context.Context, *chromedp.Target) (struct{}, error) { return struct{}{}, nil })
	if !timer.Stop() && err == nil {
		err = fmt.Errorf("browser start took more than %v", r.timeout)
	}
	if err != nil {
		err = r.wrap(fmt.Errorf("start: %w", err))
		r.Close()
		return nil, err
	}
	return r, nil
}

// Render prints html to PDF pages (their size and margins from the page's
// CSS @page) in a new tab, within the Options' timeout and ctx. footer,
// plain text, is printed at the foot of every page with "page N of M", so
// a printed page can be traced to its report.
func (r *Renderer) Render(ctx context.Context, html []byte, footer string) ([]byte, error) {
	tctx, cancel := context.WithTimeout(r.bctx, r.timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	tab, tcancel := chromedp.NewContext(tctx)
	defer tcancel()
	pdf, err := chromedp.Run(tab, func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		if _, err := cdp.Call(ctx, t, page.Navigate, page.NavigateParams{URL: "about:blank"}); err != nil {
			return nil, fmt.Errorf("open blank page: %w", err)
		}
		tree, err := cdp.Call(ctx, t, page.GetFrameTree, cdp.Empty{})
		if err != nil {
			return nil, fmt.Errorf("frame tree: %w", err)
		}
		if _, err := cdp.Call(ctx, t, page.SetDocumentContent, page.SetDocumentContentParams{
			FrameID: tree.FrameTree.Frame.ID, HTML: string(html)}); err != nil {
			return nil, fmt.Errorf("set page content: %w", err)
		}
		yes := true
		res, err := cdp.Call(ctx, t, page.PrintToPDF, page.PrintToPDFParams{
			PrintBackground: &yes, PreferCSSPageSize: &yes,
			PaperWidth: chromedp.PaperA4.Width, PaperHeight: chromedp.PaperA4.Height,
			DisplayHeaderFooter: &yes,
			// Chromium fills the classes; the text is escaped here.
			HeaderTemplate: "<span></span>",
			FooterTemplate: `<div style="font-size:7px;width:100%;padding:0 10mm;color:#555;display:flex;justify-content:space-between">` +
				`<span>` + stdhtml.EscapeString(footer) + `</span><span>page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>`,
		})
		if err != nil {
			return nil, fmt.Errorf("print: %w", err)
		}
		return res.Data, nil
	})
	if err != nil {
		return nil, r.wrap(err)
	}
	return pdf, nil
}

func (r *Renderer) wrap(err error) error {
	if s := bytes.TrimSpace(r.out.bytes()); len(s) > 0 {
		return fmt.Errorf("pdf with %s: %w (browser output: %s)", r.bin, err, lastLines(s, 5))
	}
	return fmt.Errorf("pdf with %s: %w", r.bin, err)
}

// Close stops the browser and removes its profile directory.
func (r *Renderer) Close() {
	// An untidy browser exit changes nothing for the PDFs already made.
	_ = chromedp.Cancel(r.bctx)
	r.bcancel()
	r.acancel()
	os.RemoveAll(r.profile)
}

// limitedWriter keeps the first max bytes of the browser's output, for
// errors. chromedp writes from its own goroutine.
type limitedWriter struct {
	mu  sync.Mutex
	b   bytes.Buffer
	max int
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := w.max - w.b.Len(); room > 0 {
		w.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (w *limitedWriter) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.b.Bytes())
}

func lastLines(b []byte, n int) string {
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte(" | ")))
}

// PageCount counts the pages of a PDF by its page objects ("/Type /Page",
// not "/Type /Pages"): enough for Chromium's uncompressed object
// dictionaries, which is what the tests check.
func PageCount(pdf []byte) int {
	n := 0
	for i := 0; ; {
		j := bytes.Index(pdf[i:], []byte("/Type"))
		if j < 0 {
			return n
		}
		k := i + j + len("/Type")
		for k < len(pdf) && (pdf[k] == ' ' || pdf[k] == '\n' || pdf[k] == '\r') {
			k++
		}
		if bytes.HasPrefix(pdf[k:], []byte("/Page")) && !bytes.HasPrefix(pdf[k:], []byte("/Pages")) {
			n++
		}
		i = k
	}
}
