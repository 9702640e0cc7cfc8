// Package registry is the MSP relationship registry: a YAML file that
// documents, for each MSP, the tenants it is contracted to serve, the
// remote tools approved at each tenant, its technicians (and the countries
// they usually work from), each tenant's maintenance windows and working
// hours in the tenant's own time zone, and the tags of critical assets
// (e.g. hosts tagged `election`).
//
// Ingest enriches every event with context.* fields derived from it
// (Registry.Context), so plain Sigma rules can express policy: a push
// outside the maintenance window, a remote tool not approved for the
// tenant, a session by an actor the registry does not know. With no
// registry the fields are absent and such rules stay silent.
//
// Load validates the whole file and reports every problem as
// "file:line:col: message". A Watcher hot-reloads the file (polling its
// size and modification time, and on SIGHUP); a broken edit keeps the
// previous registry running. The format and a worked example are in
// docs/registry.md and deployments/registry.example.yml.
package registry
