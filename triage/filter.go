package triage

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/record"
)

// filterNamespace makes a draft's ID a function of the alert: closing the
// same alert twice drafts the same filter. Never change it.
var filterNamespace = uuid.MustParse("3f0c9d52-7a41-5e8b-b6d3-66696c746572")

// DraftFilter writes a Sigma filter document (docs/rule-authoring.md,
// "Filters") that excludes events with the alert's group-by values from
// its rule: what an analyst who closed the alert as a false positive would
// otherwise write by hand. Fields the alert grouped on become the
// selection; an empty value (the field was absent) becomes null. It is a
// draft: the selection may be too wide (group by msp alone excludes a whole
// MSP) and is for a person to review, never applied automatically.
func DraftFilter(a *record.Alert, actor, note string, at time.Time) (string, error) {
	if a.RuleID == "" {
		return "", fmt.Errorf("alert %s has no rule ID", a.AlertID)
	}
	sel := &yaml.Node{Kind: yaml.MappingNode}
	for i, k := range a.GroupKeys {
		if i >= len(a.GroupValues) || !filterField(k) {
			continue
		}
		v := str(sigmaLiteral(a.GroupValues[i]))
		if a.GroupValues[i] == "" {
			v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
		}
		sel.Content = append(sel.Content, str(k), v)
	}
	if len(sel.Content) == 0 {
		return "", fmt.Errorf("alert %s has no group-by values to filter on", a.AlertID)
	}
	var vals []string
	for i, v := range a.GroupValues {
		if i < len(a.GroupKeys) && v != "" && filterField(a.GroupKeys[i]) {
			vals = append(vals, v)
		}
	}
	title := fmt.Sprintf("False positive: %s for %s", a.RuleTitle, strings.Join(vals, ", "))
	if len(title) > 200 {
		title = title[:200]
	}
	desc := fmt.Sprintf("Drafted by tripline when %s closed alert %s as a false positive on %s.",
		actor, a.AlertID, at.UTC().Format(time.RFC3339))
	if note = strings.TrimSpace(note); note != "" {
		desc += "\nNote: " + note
	}
	filter := mapping(
		str("rules"), &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{str(a.RuleID)}},
		str("false_positive"), sel,
		str("condition"), str("not false_positive"),
	)
	doc := mapping(
		str("title"), str(title),
		str("id"), str(uuid.NewSHA1(filterNamespace, []byte(a.AlertID)).String()),
		str("status"), str("experimental"),
		str("description"), str(desc),
		str("author"), str(actor),
		str("date"), str(at.UTC().Format("2006-01-02")),
		// Every tripline rule's product; no category, so the filter
		// covers the rule whatever its category.
		str("logsource"), mapping(str("product"), str(contract.Product)),
		str("filter"), filter,
	)
	var b bytes.Buffer
	b.WriteString("# Draft Sigma filter: review it, then add it to the rules and run 'tripline rules lint'.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return "", fmt.Errorf("draft filter: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("draft filter: %w", err)
	}
	return b.String(), nil
}

// filterField reports whether a group-by key is an event field a filter
// can test (context.* comes from the registry, which rules may read too).
func filterField(k string) bool {
	for _, p := range contract.FieldPaths {
		if k == p {
			return true
		}
	}
	return strings.HasPrefix(k, "attributes.") || strings.HasPrefix(k, "context.")
}

// sigmaLiteral escapes Sigma's wildcards so a value is matched as is: an
// actor named "a*" must not exclude every actor starting with "a".
func sigmaLiteral(v string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`).Replace(v)
}

func str(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func mapping(kv ...*yaml.Node) *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Content: kv} }
