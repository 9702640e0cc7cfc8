package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Teams posts to a Microsoft Teams Workflows webhook ("When a Teams
// webhook request is received"): a message whose one attachment is an
// Adaptive Card, a heading and a FactSet per alert. Workflows answers 202.
type Teams struct {
	URL    string
	Client *http.Client
}

// teamsMaxAlerts keeps a card well under Teams' 28 KB message limit.
const teamsMaxAlerts = 20

// TeamsMessage is the Workflows webhook body.
type TeamsMessage struct {
	Type        string            `json:"type"`
	Attachments []TeamsAttachment `json:"attachments"`
}

// TeamsAttachment carries the card.
type TeamsAttachment struct {
	ContentType string       `json:"contentType"`
	ContentURL  *string      `json:"contentUrl"`
	Content     AdaptiveCard `json:"content"`
}

// AdaptiveCard is the card (schema 1.4, which Teams renders).
type AdaptiveCard struct {
	Schema  string         `json:"$schema"`
	Type    string         `json:"type"`
	Version string         `json:"version"`
	Body    []AdaptiveItem `json:"body"`
}

// AdaptiveItem is a TextBlock or a FactSet.
type AdaptiveItem struct {
	Type   string         `json:"type"`
	Text   string         `json:"text,omitempty"`
	Weight string         `json:"weight,omitempty"`
	Size   string         `json:"size,omitempty"`
	Wrap   bool           `json:"wrap,omitempty"`
	Facts  []AdaptiveFact `json:"facts,omitempty"`
}

// AdaptiveFact is one title/value line of a FactSet.
type AdaptiveFact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// Groups implements Sender.
func (t *Teams) Groups() bool { return true }

// Type implements Sender.
func (t *Teams) Type() string { return TypeTeams }

// Send implements Sender.
func (t *Teams) Send(ctx context.Context, n *Notification) (int, error) {
	body, err := json.Marshal(TeamsPayload(n))
	if err != nil {
		return 0, Permanent(fmt.Errorf("teams: encode: %w", err))
	}
	return postJSON(ctx, t.Client, t.URL, body, nil)
}

// TeamsPayload is the message for n.
func TeamsPayload(n *Notification) TeamsMessage {
	card := AdaptiveCard{Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4"}
	if len(n.Messages) > 1 {
		card.Body = append(card.Body, AdaptiveItem{Type: "TextBlock", Text: fmt.Sprintf("%d alerts (%s)", len(n.Messages), n.Route), Weight: "Bolder", Size: "Large", Wrap: true})
	}
	for i := range n.Messages {
		m := &n.Messages[i]
		if i == teamsMaxAlerts {
			card.Body = append(card.Body, AdaptiveItem{Type: "TextBlock", Text: fmt.Sprintf("and %d more alerts", len(n.Messages)-i), Wrap: true})
			break
		}
		card.Body = append(card.Body, AdaptiveItem{Type: "TextBlock", Text: title(m, n.Repeat), Weight: "Bolder", Size: "Medium", Wrap: true})
		if m.Alert.Summary != "" {
			card.Body = append(card.Body, AdaptiveItem{Type: "TextBlock", Text: m.Alert.Summary, Wrap: true})
		}
		fs := AdaptiveItem{Type: "FactSet"}
		for _, f := range facts(m) {
			fs.Facts = append(fs.Facts, AdaptiveFact{Title: f[0], Value: f[1]})
		}
		card.Body = append(card.Body, fs)
	}
	return TeamsMessage{Type: "message", Attachments: []TeamsAttachment{{ContentType: "application/vnd.microsoft.card.adaptive", Content: card}}}
}
