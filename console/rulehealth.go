package console

import (
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/tripline/tripline/store"
)

// healthDays is the rule health page's window.
const healthDays = 30

type ruleRow struct {
	ID, Title, Level string
	InPack           bool
	Days             []uint64 // healthDays counts, oldest first
	Bars             []bar
	Total            uint64 // in the window
	Ever             uint64
	Last             time.Time
}

// bar is one day of a sparkline, drawn as an SVG rect (no inline style:
// the CSP forbids it).
type bar struct {
	X, Y, H int
	Day     string
	N       uint64
}

type rulesData struct {
	Status  Status
	Rows    []*ruleRow
	Noisy   []*ruleRow
	Never   []*ruleRow
	Since   time.Time
	IsAdmin bool
	// Accounts is the last re-read of the users and tokens files
	// (admins only).
	Accounts AccountsStatus
}

func (s *Server) ruleHealth(w http.ResponseWriter, r *http.Request, v *view) {
	if !v.User.SeesRules() {
		s.fail(w, r, v, fmt.Errorf("rule health: %w", store.ErrNotFound))
		return
	}
	today := s.now().UTC().Truncate(24 * time.Hour)
	since := today.AddDate(0, 0, -(healthDays - 1))
	days, totals, err := s.cfg.Store.RuleActivity(r.Context(), v.User.Scope(), since)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	st := s.cfg.Rules.Status()
	byID := map[string]*ruleRow{}
	var rows []*ruleRow
	row := func(id string) *ruleRow {
		if rr := byID[id]; rr != nil {
			return rr
		}
		rr := &ruleRow{ID: id, Days: make([]uint64, healthDays)}
		byID[id] = rr
		rows = append(rows, rr)
		return rr
	}
	for _, ri := range st.Rules {
		rr := row(ri.ID)
		rr.Title, rr.Level, rr.InPack = ri.Title, ri.Level, true
	}
	for _, d := range days {
		rr := row(d.RuleID)
		if i := int(d.Day.UTC().Sub(since).Hours() / 24); i >= 0 && i < healthDays {
			rr.Days[i] += d.Count
			rr.Total += d.Count
		}
	}
	for _, t := range totals {
		rr := row(t.RuleID)
		rr.Ever, rr.Last = t.Count, t.Last
	}
	for _, rr := range rows {
		rr.Bars = sparkline(rr.Days, since)
	}
	d := &rulesData{Status: st, Since: since, IsAdmin: v.User.Role == RoleAdmin}
	if d.IsAdmin {
		d.Accounts = s.AccountsStatus()
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Total != rows[j].Total {
			return rows[i].Total > rows[j].Total
		}
		return rows[i].ID < rows[j].ID
	})
	d.Rows = rows
	for _, rr := range rows {
		if rr.Total > 0 && len(d.Noisy) < 10 {
			d.Noisy = append(d.Noisy, rr)
		}
		if rr.InPack && rr.Ever == 0 {
			d.Never = append(d.Never, rr)
		}
	}
	v.Title, v.Nav, v.Data = "Rule health", "rules", d
	s.render(w, r, http.StatusOK, "rules", v)
}

// Sparkline geometry, in SVG units: one bar a day.
const (
	barW    = 4
	sparkH  = 24
	barStep = barW + 1
)

func sparkline(days []uint64, since time.Time) []bar {
	var top uint64
	for _, n := range days {
		top = max(top, n)
	}
	out := make([]bar, len(days))
	for i, n := range days {
		h := 0
		if top > 0 && n > 0 {
			h = 1 + int(uint64(sparkH-1)*n/top)
		}
		out[i] = bar{X: i * barStep, Y: sparkH - h, H: h, N: n, Day: since.AddDate(0, 0, i).Format("2006-01-02")}
	}
	return out
}

func (s *Server) reloadRules(w http.ResponseWriter, r *http.Request, v *view) {
	if v.User.Role != RoleAdmin {
		s.fail(w, r, v, fmt.Errorf("rule reload: %w", store.ErrForbidden))
		return
	}
	if err := s.cfg.Rules.Reload(); err != nil {
		s.setFlash(r, flash{Msg: "Reload rejected; the previous rules stay in use.", Err: true})
	} else {
		s.setFlash(r, flash{Msg: "Rules reloaded."})
	}
	s.cfg.Log.Info().Str("user", v.User.Name).Msg("console rule reload")
	http.Redirect(w, r, "/rules", http.StatusSeeOther)
}
