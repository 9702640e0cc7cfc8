package console

import (
	"errors"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/tripline/tripline/registry"
	"github.com/tripline/tripline/report"
	"github.com/tripline/tripline/store"
)

// ReportHandler serves the MSP access report (docs/report.md) of
// /report?msp=M&tenant=T&month=YYYY-MM[&format=html|csv|json], read in the
// logged-in user's scope: a tenant viewer gets its own tenant's and
// nothing else (the console has checked the tenant already; the scope
// makes the store refuse anything else too). registry, when it returns
// one, adds the access review and the maintenance windows of the heat map.
// It is Config.Report.
func ReportHandler(src report.Source, reg func() *registry.Registry, log zerolog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := UserFrom(r.Context())
		if u == nil {
			http.Error(w, "not logged in", http.StatusUnauthorized)
			return
		}
		q := r.URL.Query()
		msp, tenant, month, format := q.Get("msp"), q.Get("tenant"), q.Get("month"), q.Get("format")
		if msp == "" {
			msp = u.MSP
		}
		if month == "" {
			month = time.Now().UTC().Format("2006-01")
		}
		if format == "" {
			format = "html"
		}
		if format != "html" && format != "csv" && format != "json" {
			http.Error(w, "format must be html, csv or json (PDF: tripline report --format pdf)", http.StatusBadRequest)
			return
		}
		if msp == "" || tenant == "" {
			http.Error(w, "msp and tenant are required", http.StatusBadRequest)
			return
		}
		if _, _, err := report.ParseMonth(month); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		o := report.Options{Scope: u.Scope(), MSP: msp, Tenant: tenant, Month: month}
		if reg != nil {
			o.Registry = reg()
		}
		rep, err := report.Build(r.Context(), src, o)
		switch {
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrForbidden):
			http.Error(w, "no such tenant in your scope", http.StatusNotFound)
			return
		case err != nil:
			log.Error().Err(err).Str("msp", msp).Str("tenant", tenant).Str("month", month).Msg("report")
			http.Error(w, "the report could not be built; see the console's log", http.StatusInternalServerError)
			return
		}
		switch format {
		case "csv":
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		case "json":
			w.Header().Set("Content-Type", "application/json")
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			// The report is one self-contained page (its CSS inline, its
			// charts inline SVG, no script): the console's policy, which
			// allows only its own files, would unstyle it. This one
			// allows inline style and nothing else.
			w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		}
		if format != "html" {
			w.Header().Set("Content-Disposition", `attachment; filename="`+report.FileName(msp, tenant, month, format)+`"`)
		}
		if err := report.Write(w, rep, format); err != nil {
			// The headers are sent; a truncated body is all the client gets.
			log.Warn().Err(err).Str("tenant", tenant).Msg("report write")
		}
	})
}
