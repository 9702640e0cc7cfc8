// Package alert turns detections into the units a SOC works: alerts
// (detections of one rule with one fingerprint inside one window) and
// incidents (alerts of one msp sharing an entity inside one window). IDs
// are pure functions of the detections, so streaming, offline evaluation
// and replays after a crash agree. Message is the record detect writes to
// tripline.alerts for tripline notify. See docs/alerts.md.
package alert
