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
// to A4 PDF pages and returns the PDF. The browser runs in a fresh
// profile directory, removed afterwards, with every background network
// feature off: the page loads nothing, and on a closed network Chromium's
// own connections would only fail and slow it down. The page is set with
// Page.setDocumentContent on about:blank, so no file or server is needed.
func Render(ctx context.Context, html []byte, o Options) ([]byte, error) {
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
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	profile, err := os.MkdirTemp("", "tripline-chromium-")
	if err != nil {
		return nil, fmt.Errorf("pdf: profile directory: %w", err)
	}
	defer os.RemoveAll(profile)

	// The deadline goes on the allocator's parent: chromedp wants the first
	// Run's context without a timeout of its own, and cancelling the
	// parent stops the browser process.
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := &limitedWriter{max: 16 << 10}
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(profile),
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
		chromedp.CombinedOutput(out),
	)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	pdf, err := chromedp.Run(bctx, func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
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
		})
		if err != nil {
			return nil, fmt.Errorf("print: %w", err)
		}
		return res.Data, nil
	})
	if err != nil {
		if s := bytes.TrimSpace(out.bytes()); len(s) > 0 {
			return nil, fmt.Errorf("pdf with %s: %w (browser output: %s)", bin, err, lastLines(s, 5))
		}
		return nil, fmt.Errorf("pdf with %s: %w", bin, err)
	}
	// Close the browser now, while its profile directory still exists. The
	// PDF is complete: an untidy browser exit is not the caller's problem.
	_ = chromedp.Cancel(bctx)
	return pdf, nil
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
