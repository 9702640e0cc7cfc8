// Package record holds what the pipeline produces: a normalised event with
// the Kafka coordinates it came from, and a detection ready to store. Ingest
// and detect build them; store is one sink for them. They live below both
// so that a sink does not own the domain types.
package record
