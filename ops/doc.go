// Package ops serves a worker's operational endpoints: Prometheus metrics on
// /metrics, liveness on /healthz and readiness on /readyz. Run wires them
// around one worker: the server, the readiness probes of ClickHouse and
// Kafka, and the consumer-lag poller, all stopped when the worker returns.
package ops
