// Package ingest is the ingest worker: it turns raw MSP messages into
// normalised events.
//
// For each batch from the raw topics it decodes and validates every message
// against the wire contract, writes valid events to ClickHouse and to the
// normalised topic (keyed by MSP, so one MSP's stream stays ordered on one
// partition), and sends invalid ones, byte for byte, to the dead-letter
// topic with headers naming the reason and the source coordinates. The batch
// handler returns only after all three writes are acknowledged; the
// kafkaio.Consumer then commits the offsets.
package ingest
