// Package notify delivers the alert changes of the tripline.alerts topic to
// receivers: a Standard Webhooks signed webhook, Slack, Microsoft Teams,
// PagerDuty Events v2 and email over SMTP with STARTTLS (one file each).
//
// Delivery is at least once. The worker is a consumer group; a batch's
// offsets are committed only when every message of it was answered 2xx by
// every receiver its routes name, or was written to the dead-letter topic
// (tripline.alerts.dlq) after bounded retries with exponential backoff.
// Every attempt is a row of alert_deliveries. A crash between a receiver's
// 2xx and the commit delivers again with the same webhook-id (the
// message's message_id), which receivers deduplicate on; PagerDuty
// deduplicates on dedup_key.
//
// Routing follows Alertmanager: routes are tried in order, the first that
// matches takes the message unless it says continue. Grouping is kept
// simple (docs/alerts.md, "Delivery"): the consumer gathers a batch for the
// shortest group_wait of any route, and each route sends the messages of a
// batch that it matched as one notification to receivers that can carry
// several (Slack, Teams, email), once its own group_wait has passed since
// the oldest of them was produced. repeat_interval renotifies open alerts
// from memory (lost on a restart: the next change notifies again).
package notify
