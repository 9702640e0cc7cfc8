package notify

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/record"
)

// Repeater remembers, per route with a repeat_interval, the alerts that are
// still open (opened, updated or reopened, and neither resolved nor closed
// since) and when each was last notified.
//
// It lives in memory, fed by the handler after a batch is delivered:
// deliberately simple. After a restart it knows only the alerts that
// changed since, so an alert open across a restart is renotified at its
// next change, not at its interval. Renotifications are best effort:
// a failed one is logged and counted, retried within the attempt budget,
// and tried again at the next interval; it is not dead-lettered (the
// change it repeats was delivered).
type Repeater struct {
	// MaxOpen bounds the alerts remembered (default 10000); past it new
	// ones are not renotified.
	MaxOpen int

	mu   sync.Mutex
	open map[repeatKey]*openAlert
}

type repeatKey struct{ route, alertID string }

type openAlert struct {
	route *Route
	msg   alert.Message
	last  time.Time
	n     int
}

// maxRepeatAge forgets an alert this long after it was last notified
// with a change: windows are at most 30 days.
const maxRepeatAge = 31 * 24 * time.Hour

// Observe records that m was delivered on route at now.
func (r *Repeater) Observe(route *Route, m *alert.Message, now time.Time) {
	if route.RepeatInterval <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.open == nil {
		r.open = map[repeatKey]*openAlert{}
	}
	k := repeatKey{route.Name, m.Alert.AlertID}
	switch m.Kind {
	case alert.KindResolved, alert.KindClosed:
		delete(r.open, k)
		return
	}
	if m.Status == "acknowledged" {
		// Someone is on it: stop nagging.
		delete(r.open, k)
		return
	}
	if o := r.open[k]; o != nil {
		o.msg, o.last = *m, now
		return
	}
	limit := r.MaxOpen
	if limit <= 0 {
		limit = 10000
	}
	if len(r.open) >= limit {
		return
	}
	r.open[k] = &openAlert{route: route, msg: *m, last: now}
}

// Open is the number of alerts remembered.
func (r *Repeater) Open() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.open)
}

// due returns the alerts whose repeat_interval has passed, oldest first,
// and marks them notified at now.
func (r *Repeater) due(now time.Time) []openAlert {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []openAlert
	for k, o := range r.open {
		if now.Sub(o.last) > maxRepeatAge {
			delete(r.open, k)
			continue
		}
		if now.Sub(o.last) >= o.route.RepeatInterval {
			o.n++
			o.last = now
			out = append(out, *o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].msg.Alert.AlertID < out[j].msg.Alert.AlertID })
	return out
}

// RunRepeats renotifies due alerts every tick until ctx ends.
func (h *Handler) RunRepeats(ctx context.Context, tick time.Duration) {
	if h.Repeats == nil {
		return
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.repeatOnce(ctx, h.now())
		}
	}
}

// repeatOnce sends one renotification per due alert (grouped per route
// for receivers that carry groups) and logs the attempts.
func (h *Handler) repeatOnce(ctx context.Context, now time.Time) {
	due := h.Repeats.due(now)
	if len(due) == 0 {
		return
	}
	type key struct {
		route    *Route
		receiver string
	}
	var order []key
	perKey := map[key][]openAlert{}
	for _, o := range due {
		for _, name := range o.route.Receivers {
			k := key{o.route, name}
			if perKey[k] == nil {
				order = append(order, k)
			}
			perKey[k] = append(perKey[k], o)
		}
	}
	var rows []record.AlertDelivery
	for _, k := range order {
		s := h.Receivers.Sender(k.receiver)
		var notes []*Notification
		if s.Groups() {
			for start := 0; start < len(perKey[k]); start += maxGroup {
				n := &Notification{Route: k.route.Name, Repeat: 1}
				for _, o := range perKey[k][start:min(start+maxGroup, len(perKey[k]))] {
					n.Messages = append(n.Messages, o.msg)
					n.Repeat = max(n.Repeat, o.n)
				}
				notes = append(notes, n)
			}
		} else {
			for _, o := range perKey[k] {
				notes = append(notes, &Notification{Route: k.route.Name, Messages: []alert.Message{o.msg}, Repeat: o.n})
			}
		}
		for _, n := range notes {
			n.ID = NotificationID(n.Messages, n.Repeat)
			r, err := h.deliver(ctx, k.route, k.receiver, s, n)
			rows = append(rows, r...)
			result := ResultDelivered
			if err != nil {
				result = ResultFailed
				h.Log.Warn().Str("receiver", k.receiver).Str("route", k.route.Name).Str("notification", n.ID).
					Str("error", h.Receivers.Redact(err.Error())).Msg("renotification failed; trying again at the next interval")
			}
			h.Metrics.repeats.WithLabelValues(k.receiver, result).Add(float64(len(n.Messages)))
			if ctx.Err() != nil {
				break
			}
		}
	}
	if len(rows) > 0 {
		// Log what was sent even when shutting down, within bounds.
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := h.Store.InsertDeliveries(ictx, rows); err != nil {
			h.Log.Warn().Err(err).Int("rows", len(rows)).Msg("cannot log renotifications")
		}
	}
}
