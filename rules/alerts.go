package rules

import (
	"slices"
	"strings"

	"github.com/tripline/tripline/alert"
	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/sigma"
)

// alertPolicies builds the alert policy of every rule and correlation of
// coll from its tripline.alert block (docs/alerts.md), keyed by identity.
// Rules without a block are left out (the snapshot's default applies);
// correlations are always in, because their detections come out up to a
// timespan after their first event and their alerts must wait that long
// (Policy.Lag). The errors are the group-by fields the event contract does
// not have, at their positions.
func alertPolicies(coll *sigma.Collection) (map[string]alert.Policy, []error) {
	out := map[string]alert.Policy{}
	var errs []error
	for _, r := range coll.Rules {
		if r.Alert == nil {
			continue
		}
		p, perrs := alertPolicy(r.Alert)
		errs = append(errs, perrs...)
		out[r.Identity()] = p
	}
	for _, c := range coll.Correlations {
		p := alert.DefaultPolicy()
		if c.Alert != nil {
			var perrs []error
			p, perrs = alertPolicy(c.Alert)
			errs = append(errs, perrs...)
		}
		p.Lag = c.Timespan
		out[c.Identity()] = p
	}
	return out, errs
}

// alertPolicy checks one block and fills in the defaults.
func alertPolicy(b *sigma.AlertBlock) (alert.Policy, []error) {
	p := alert.DefaultPolicy()
	var errs []error
	if b.GroupBy != nil {
		p.GroupBy = b.GroupBy
		for i, f := range b.GroupBy {
			if !groupableField(f) {
				errs = append(errs, sigma.Errorf(b.GroupByPos[i],
					"tripline.alert.group_by: %q is not a field of the MSP event contract v1 (known: %s, context.*, attributes.*)",
					f, strings.Join(contract.FieldPaths, ", ")))
			}
		}
		if !slices.Contains(b.GroupBy, "msp") {
			errs = append(errs, sigma.Errorf(b.GroupByPos[0], "tripline.alert.group_by must include msp: an alert never spans MSPs"))
		}
	}
	if b.Window > 0 {
		p.Window = b.Window
	}
	p.MuteInMaintenance = b.MuteInMaintenance
	return p, errs
}

// groupableField reports whether alerts can group on f: a contract field,
// a registry context field or an attribute.
func groupableField(f string) bool {
	return slices.Contains(contract.FieldPaths, f) || slices.Contains(contract.ContextPaths, f) ||
		(strings.HasPrefix(f, "attributes.") && len(f) > len("attributes."))
}
