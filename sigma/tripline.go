package sigma

import (
	"time"

	"gopkg.in/yaml.v3"
)

// MaxAlertWindow is the longest alert window a rule may set: the detector
// holds an open alert's state for that long.
const MaxAlertWindow = 30 * 24 * time.Hour

// AlertBlock is the `tripline: alert:` block of a rule or correlation
// (docs/alerts.md): how its detections group into alerts. The parser
// checks its shape (known keys, a list of field names, a positive window
// of at most MaxAlertWindow, a boolean); what the fields mean and how
// alerts are formed is not this package's business.
type AlertBlock struct {
	// GroupBy are the field names as written (nil: not set); GroupByPos
	// their positions, for errors about them.
	GroupBy    []string
	GroupByPos []Pos
	// Window is zero when not set.
	Window    time.Duration
	WindowRaw string
	// MuteInMaintenance is set by `mute_in_maintenance`.
	MuteInMaintenance bool
	Pos               Pos
}

// parseTripline reads the document's `tripline:` block, tripline's own
// extension keys. Unknown keys are errors: a misspelt key would silently
// leave the default in force.
func (p *docParser) parseTripline(root *yaml.Node) *AlertBlock {
	k, v := lookup(root, "tripline")
	if k == nil || isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		p.errorf(k, "tripline must be a mapping, got %s", kindName(v))
		return nil
	}
	var block *AlertBlock
	for _, kv := range mappingPairs(v) {
		if kv[0] == nil {
			continue
		}
		switch kv[0].Value {
		case "alert":
			block = p.parseAlertBlock(kv[0], kv[1])
		default:
			p.errorf(kv[0], "unknown key %q in tripline (known: alert)", kv[0].Value)
		}
	}
	return block
}

func (p *docParser) parseAlertBlock(k, v *yaml.Node) *AlertBlock {
	if v == nil || v.Kind != yaml.MappingNode {
		got := "null"
		if v != nil {
			got = kindName(v)
		}
		p.errorf(k, "tripline.alert must be a mapping, got %s", got)
		return nil
	}
	b := &AlertBlock{Pos: p.pos(k)}
	seen := map[string]bool{}
	for _, kv := range mappingPairs(v) {
		key, val := kv[0], kv[1]
		if key == nil {
			continue
		}
		if seen[key.Value] {
			p.errorf(key, "duplicate key %q in tripline.alert", key.Value)
			continue
		}
		seen[key.Value] = true
		switch key.Value {
		case "group_by":
			p.alertGroupBy(b, key, val)
		case "window":
			if val == nil || val.Kind != yaml.ScalarNode || isNull(val) {
				p.errorf(key, "tripline.alert.window must be a duration such as 24h")
				continue
			}
			d, err := ParseTimespan(val.Value)
			switch {
			case err != nil:
				p.errorf(val, "tripline.alert.window: %v", err)
			case d <= 0:
				p.errorf(val, "tripline.alert.window %q must be positive", val.Value)
			case d > MaxAlertWindow:
				p.errorf(val, "tripline.alert.window %q exceeds the maximum of 30d", val.Value)
			default:
				b.Window, b.WindowRaw = d, val.Value
			}
		case "mute_in_maintenance":
			if val == nil || val.Kind != yaml.ScalarNode || val.Tag != "!!bool" {
				p.errorf(key, "tripline.alert.mute_in_maintenance must be true or false")
				continue
			}
			_ = val.Decode(&b.MuteInMaintenance) // a !!bool node decodes
		default:
			p.errorf(key, "unknown key %q in tripline.alert (known: group_by, window, mute_in_maintenance)", key.Value)
		}
	}
	return b
}

func (p *docParser) alertGroupBy(b *AlertBlock, key, val *yaml.Node) {
	var items []*yaml.Node
	switch {
	case val != nil && val.Kind == yaml.ScalarNode && !isNull(val):
		items = []*yaml.Node{val}
	case val != nil && val.Kind == yaml.SequenceNode:
		for _, e := range val.Content {
			items = append(items, deref(e))
		}
	default:
		p.errorf(key, "tripline.alert.group_by must be a field name or a list of them")
		return
	}
	if len(items) == 0 {
		p.errorf(key, "tripline.alert.group_by is empty (leave it out for the default msp, tenant, actor.user)")
		return
	}
	seen := map[string]bool{}
	for _, e := range items {
		if e == nil || e.Kind != yaml.ScalarNode || isNull(e) || e.Value == "" {
			p.errorf(key, "tripline.alert.group_by entries must be field names")
			continue
		}
		if seen[e.Value] {
			p.errorf(e, "tripline.alert.group_by lists %q twice", e.Value)
			continue
		}
		seen[e.Value] = true
		b.GroupBy = append(b.GroupBy, e.Value)
		b.GroupByPos = append(b.GroupByPos, p.pos(e))
	}
}
