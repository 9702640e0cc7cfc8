package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Slack posts to a Slack incoming webhook: a text fallback (notifications,
// old clients) and Block Kit blocks: a header, then a section per alert
// (at most slackMaxAlerts; the rest are counted in a context block).
type Slack struct {
	URL    string
	Client *http.Client
}

// Slack limits (Block Kit reference): 50 blocks a message, 150 characters
// of header text, 3000 of section text.
const (
	slackMaxAlerts  = 40
	slackHeaderMax  = 150
	slackSectionMax = 3000
	slackTextMax    = 3000
)

// SlackMessage is the incoming-webhook body.
type SlackMessage struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks"`
}

// SlackBlock is a header, section or context block.
type SlackBlock struct {
	Type     string       `json:"type"`
	Text     *SlackText   `json:"text,omitempty"`
	Elements []*SlackText `json:"elements,omitempty"`
}

// SlackText is a text object: plain_text or mrkdwn.
type SlackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Groups implements Sender.
func (s *Slack) Groups() bool { return true }

// Type implements Sender.
func (s *Slack) Type() string { return TypeSlack }

// Send implements Sender.
func (s *Slack) Send(ctx context.Context, n *Notification) (int, error) {
	body, err := json.Marshal(SlackPayload(n))
	if err != nil {
		return 0, Permanent(fmt.Errorf("slack: encode: %w", err))
	}
	return postJSON(ctx, s.Client, s.URL, body, nil)
}

// slackEscape escapes the three characters mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// SlackPayload is the message for n.
func SlackPayload(n *Notification) SlackMessage {
	head := title(&n.Messages[0], n.Repeat)
	if len(n.Messages) > 1 {
		head = fmt.Sprintf("%d alerts (%s)", len(n.Messages), n.Route)
	}
	msg := SlackMessage{Blocks: []SlackBlock{{Type: "header", Text: &SlackText{Type: "plain_text", Text: truncate(head, slackHeaderMax)}}}}
	var text strings.Builder
	for i := range n.Messages {
		m := &n.Messages[i]
		if i == slackMaxAlerts {
			msg.Blocks = append(msg.Blocks, SlackBlock{Type: "context", Elements: []*SlackText{{Type: "mrkdwn",
				Text: fmt.Sprintf("and %d more alerts", len(n.Messages)-i)}}})
			break
		}
		var b strings.Builder
		fmt.Fprintf(&b, "*%s*\n", slackEscape(title(m, n.Repeat)))
		if m.Alert.Summary != "" {
			fmt.Fprintf(&b, "%s\n", slackEscape(m.Alert.Summary))
		}
		for _, f := range facts(m) {
			fmt.Fprintf(&b, "*%s:* %s\n", f[0], slackEscape(f[1]))
		}
		msg.Blocks = append(msg.Blocks, SlackBlock{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: truncate(b.String(), slackSectionMax)}})
		fmt.Fprintf(&text, "%s (%s/%s)\n", title(m, n.Repeat), m.Alert.MSP, m.Alert.Tenant)
	}
	msg.Text = truncate(slackEscape(strings.TrimSpace(text.String())), slackTextMax)
	return msg
}
