package report

import (
	"fmt"
	"html/template"
	"strings"
)

// The charts are inline SVG drawn here, on the server: the report loads
// nothing and runs no script, so it renders the same in a browser, in
// headless Chromium's PDF and in a mail client. Only numbers and fixed
// labels go into the markup; nothing from the data is spliced in as text
// except dates, which are formatted by Go.

// HeatMapSVG draws activity by weekday and local hour: darker cells hold
// more events; cells inside a maintenance window have a thick orange
// border, so work outside the windows stands out.
func HeatMapSVG(h HeatMap) template.HTML {
	const cell, left, top = 22, 40, 20
	w, ht := left+24*cell+10, top+7*cell+40
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="MSP activity by weekday and hour">`, w, ht, w, ht)
	for hr := 0; hr < 24; hr += 3 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" fill="#444">%02d</text>`, left+hr*cell+4, top-6, hr)
	}
	for wd := 0; wd < 7; wd++ {
		y := top + wd*cell
		fmt.Fprintf(&b, `<text x="4" y="%d" font-size="11" fill="#222">%s</text>`, y+15, Weekdays[wd])
		for hr := 0; hr < 24; hr++ {
			x := left + hr*cell
			n := h.Counts[wd][hr]
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s" stroke="#ddd" stroke-width="1"><title>%s %02d:00 %d events</title></rect>`,
				x, y, cell-1, cell-1, heatColor(n, h.Max), Weekdays[wd], hr, n)
		}
	}
	// Maintenance windows on top: an outline per covered cell.
	if h.HasMaintenance {
		for wd := 0; wd < 7; wd++ {
			for hr := 0; hr < 24; hr++ {
				if h.Maintenance[wd][hr] > 0 {
					fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#e67e00" stroke-width="2.5"/>`,
						left+hr*cell+1, top+wd*cell+1, cell-3, cell-3)
				}
			}
		}
	}
	ly := top + 7*cell + 16
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d" font-size="10">fewest</text>`, left, ly, heatColor(1, 10), left+16, ly+10)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d" font-size="10">most (%d)</text>`, left+70, ly, heatColor(10, 10), left+86, ly+10, h.Max)
	if h.HasMaintenance {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="none" stroke="#e67e00" stroke-width="2.5"/><text x="%d" y="%d" font-size="10">maintenance window</text>`, left+170, ly, left+186, ly+10)
	} else {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10">no maintenance windows documented (run with --registry)</text>`, left+170, ly+10)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // numbers and fixed labels only
}

// heatColor is white for 0, then light to dark blue by n/max.
func heatColor(n, max int) string {
	if n <= 0 || max <= 0 {
		return "#ffffff"
	}
	f := float64(n) / float64(max)
	// From #dbe9f6 to #08306b.
	r := 219 + int(f*float64(8-219))
	g := 233 + int(f*float64(48-233))
	bl := 246 + int(f*float64(107-246))
	return fmt.Sprintf("#%02x%02x%02x", r, g, bl)
}

// DailySVG draws sessions (blue) and pushes and scripts (orange) per day.
func DailySVG(days []Day) template.HTML {
	const left, top, plotH, barW = 34, 10, 120, 7
	n := len(days)
	w, ht := left+n*(2*barW+4)+10, top+plotH+50
	mx := 1
	for _, d := range days {
		mx = max(mx, d.Sessions, d.Pushes+d.Scripts)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="Sessions and pushes per day">`, w, ht, w, ht)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, left, top+plotH, w-10, top+plotH)
	fmt.Fprintf(&b, `<text x="2" y="%d" font-size="10">%d</text><text x="2" y="%d" font-size="10">0</text>`, top+8, mx, top+plotH)
	for i, d := range days {
		x := left + i*(2*barW+4)
		sh := d.Sessions * plotH / mx
		ch := (d.Pushes + d.Scripts) * plotH / mx
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#2b6cb0"><title>%s: %d sessions</title></rect>`, x, top+plotH-sh, barW, sh, template.HTMLEscapeString(d.Date), d.Sessions)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#e67e00"><title>%s: %d pushes, %d scripts</title></rect>`, x+barW, top+plotH-ch, barW, ch, template.HTMLEscapeString(d.Date), d.Pushes, d.Scripts)
		if len(d.Date) == 10 && (i%5 == 0 || i == n-1) {
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="9" fill="#444">%s</text>`, x, top+plotH+12, template.HTMLEscapeString(d.Date[5:]))
		}
	}
	ly := top + plotH + 28
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="#2b6cb0"/><text x="%d" y="%d" font-size="10">sessions</text>`, left, ly, left+16, ly+10)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="#e67e00"/><text x="%d" y="%d" font-size="10">pushes and scripts</text>`, left+80, ly, left+96, ly+10)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // numbers and escaped dates only
}
