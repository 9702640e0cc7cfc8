// Package kafkaio is tripline's Kafka plumbing, all of it through
// segmentio/kafka-go: connection settings (brokers, TLS, SASL), topic
// creation, writers, and the Consumer that turns a consumer-group reader into
// batches with at-least-once commits.
//
// The Consumer is the one place that decides when an offset is committed:
// only after the batch handler returned nil, i.e. after everything the batch
// produced was acknowledged downstream. Ingest and detect workers are batch
// handlers on top of it.
package kafkaio
