// Package deployments holds deployment files; its tests check they wire together.
//
// The files themselves are ../docker-compose.yml, ../Dockerfile and the
// Kubernetes manifests in kubernetes/. The tests parse them without a
// container engine and check what a typo would silently break: service and
// host names, ports, topic names and partition counts, start-up order,
// probes, ConfigMap and Secret references, and that no secret is committed.
package deployments
