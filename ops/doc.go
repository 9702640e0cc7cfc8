// Package ops serves a worker's operational endpoints: Prometheus metrics on
// /metrics, liveness on /healthz and readiness on /readyz.
package ops
