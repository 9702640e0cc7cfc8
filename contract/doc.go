// Package contract is the wire contract v1: the JSON events MSPs forward to
// tripline, how they are decoded, validated and normalised, and how an event
// gets its deterministic ID.
//
// Everything downstream (ingest, the rule engine, the ClickHouse store) sees
// only a normalised Event. Input that breaks the contract is reported as a
// *RejectError whose Reason names the dead-letter category; callers route it
// to the dead-letter topic rather than dropping it.
//
// The human-readable contract is docs/event-contract.md; the machine-readable
// one is event.schema.json in this package (embedded as Schema).
package contract
