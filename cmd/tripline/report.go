package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tripline/tripline/atomicfile"
	"github.com/tripline/tripline/registry"
	"github.com/tripline/tripline/report"
	"github.com/tripline/tripline/report/pdf"
	"github.com/tripline/tripline/store"
)

const reportUsage = `Usage:
  tripline report --tenant T --month YYYY-MM [--msp M] [--format html|pdf|csv|json] [--out FILE] [--registry FILE] [--clickhouse ...]
  tripline report --all-tenants --month YYYY-MM --out DIR [--msp M] [--format F] [--registry FILE] [--clickhouse ...]
  tripline report verify FILE.json

The MSP access report of one tenant and month (docs/report.md): sessions by
technician, pushes and scripts, privileged credentials, failed logins,
exceptions and alerts, access review, charts, and a SHA-256 digest of its
data. --msp is needed only when two MSPs report the same tenant ID.
--all-tenants writes one file per tenant with events in the month to DIR,
named MSP_TENANT_MONTH.FORMAT. PDF needs Chromium (scripts/ensure-chromium.sh,
or TRIPLINE_CHROMIUM). verify checks a JSON report's digest against its data.
`

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "verify" {
		return runReportVerify(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, reportUsage); fs.PrintDefaults() }
	var c commonFlags
	c.register(fs, false)
	tenant := fs.String("tenant", "", "the tenant to report on")
	msp := fs.String("msp", "", "the tenant's MSP (default: the one MSP with events for the tenant in the month)")
	month := fs.String("month", "", "the month, YYYY-MM (UTC)")
	format := fs.String("format", report.FormatHTML, "html, pdf, csv or json")
	out := fs.String("out", "", "output file (default: standard output), or directory with --all-tenants")
	all := fs.Bool("all-tenants", false, "one report per tenant with events in the month, written to the --out directory")
	regFile := fs.String("registry", "", "MSP registry YAML: approved tools, windows and technicians for the access review and heat map")
	chromium := fs.String("chromium", "", "Chromium binary for --format pdf (default: $TRIPLINE_CHROMIUM, chromium on PATH, /usr/bin/chromium)")
	timeout := fs.Duration("pdf-timeout", pdf.DefaultTimeout, "longest one PDF may take, browser start included")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	usage := func(msg string) error {
		fmt.Fprintf(stderr, "tripline report: %s\n\n%s", msg, reportUsage)
		return errUsage
	}
	switch {
	case fs.NArg() > 0:
		return usage("unexpected arguments: " + strings.Join(fs.Args(), " "))
	case *month == "":
		return usage("--month is required")
	case *all && *tenant != "":
		return usage("--all-tenants and --tenant exclude each other")
	case !*all && *tenant == "":
		return usage("--tenant or --all-tenants is required")
	case *all && *out == "":
		return usage("--all-tenants needs --out DIR")
	}
	switch *format {
	case report.FormatHTML, report.FormatPDF, report.FormatCSV, report.FormatJSON:
	default:
		return usage(fmt.Sprintf("--format %q: want html, pdf, csv or json", *format))
	}
	from, to, err := report.ParseMonth(*month)
	if err != nil {
		return usage(err.Error())
	}
	opts := report.Options{Scope: store.AllMSPs(), Month: *month}
	if *regFile != "" {
		data, err := os.ReadFile(*regFile)
		if err != nil {
			return fmt.Errorf("registry: %w", err)
		}
		if opts.Registry, err = registry.Parse(data, *regFile); err != nil {
			return fmt.Errorf("registry: %w", err)
		}
		opts.RegistryFile = data
	}
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	r := &reportRenderer{format: *format, pdfOpts: pdf.Options{Chromium: *chromium, Timeout: *timeout}}
	defer r.close()

	if *all {
		refs, err := st.ReportTenants(ctx, opts.Scope, *msp, from, to)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(*out, 0o750); err != nil {
			return fmt.Errorf("report directory: %w", err)
		}
		for _, ref := range refs {
			o := opts
			o.MSP, o.Tenant = ref.MSP, ref.Tenant
			file := filepath.Join(*out, report.FileName(ref.MSP, ref.Tenant, *month, *format))
			digest, err := r.build(ctx, st, o, file, stdout)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "%s %s\n", file, digest)
		}
		fmt.Fprintf(stderr, "%d tenant reports for %s in %s\n", len(refs), *month, *out)
		return nil
	}

	opts.MSP, opts.Tenant = *msp, *tenant
	if opts.MSP == "" {
		if opts.MSP, err = tenantMSP(ctx, st, *tenant, from, to); err != nil {
			return err
		}
	}
	digest, err := r.build(ctx, st, opts, *out, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "report %s/%s %s: %s\n", opts.MSP, opts.Tenant, *month, digest)
	return nil
}

// tenantMSP finds the MSP of tenant from the month's events.
func tenantMSP(ctx context.Context, st *store.Store, tenant string, from, to time.Time) (string, error) {
	refs, err := st.ReportTenants(ctx, store.AllMSPs(), "", from, to)
	if err != nil {
		return "", err
	}
	var msps []string
	for _, r := range refs {
		if r.Tenant == tenant {
			msps = append(msps, r.MSP)
		}
	}
	switch len(msps) {
	case 0:
		return "", fmt.Errorf("no events of tenant %q from %s to %s: name its MSP with --msp to report an empty month", tenant,
			from.Format(time.DateOnly), to.Format(time.DateOnly))
	case 1:
		return msps[0], nil
	}
	return "", fmt.Errorf("tenant %q has events from several MSPs (%s): choose one with --msp", tenant, strings.Join(msps, ", "))
}

// reportRenderer writes reports in one format; for PDF it starts one
// browser for all of them.
type reportRenderer struct {
	format  string
	pdfOpts pdf.Options
	pdf     *pdf.Renderer
}

func (r *reportRenderer) close() {
	if r.pdf != nil {
		r.pdf.Close()
	}
}

// build builds one report and writes it to file ("" or "-": stdout),
// returning its digest.
func (r *reportRenderer) build(ctx context.Context, st *store.Store, o report.Options, file string, stdout io.Writer) (string, error) {
	rep, err := report.Build(ctx, st, o)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if r.format == report.FormatPDF {
		if err := report.WriteHTML(&buf, rep); err != nil {
			return "", err
		}
		if r.pdf == nil {
			if r.pdf, err = pdf.NewRenderer(ctx, r.pdfOpts); err != nil {
				return "", err
			}
		}
		footer := fmt.Sprintf("MSP access report · %s · %s · %s · %s", rep.Data.MSP, rep.Data.Tenant, rep.Data.Period.Month, rep.Digest)
		doc, err := r.pdf.Render(ctx, buf.Bytes(), footer)
		if err != nil {
			return "", err
		}
		buf.Reset()
		buf.Write(doc)
	} else if err := report.Write(&buf, rep, r.format); err != nil {
		return "", err
	}
	if file == "" || file == "-" {
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			return "", fmt.Errorf("write report: %w", err)
		}
		return rep.Digest, nil
	}
	// Reports name the client's technicians and hosts: not world-readable.
	if err := atomicfile.Write(file, buf.Bytes(), 0o640); err != nil {
		return "", fmt.Errorf("write report %s: %w", file, err)
	}
	return rep.Digest, nil
}

func runReportVerify(args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, reportUsage)
		return errUsage
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	digest, err := report.Verify(data)
	if errors.Is(err, report.ErrDigestMismatch) {
		fmt.Fprintf(stdout, "%s: MISMATCH: %v\n", args[0], err)
		return exitCode(1)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok %s\n", args[0], digest)
	return nil
}
