package main

import (
	"context"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/tripline/tripline/kafkaio"
)

// rawTopicWriter prepares the raw vendor topic that receive and poll
// write: it creates the topic if it is missing (an operator may have
// created it, or forbid creating topics: a warning), and returns a writer
// sized to the topic's message limit (maxMessage, else the brokers', else
// Kafka's default) and that limit.
func rawTopicWriter(ctx context.Context, kcfg kafkaio.Config, topic string, partitions, maxMessage int, log zerolog.Logger) (*kafka.Writer, int) {
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := kcfg.EnsureTopics(sctx, []kafkaio.TopicSpec{{Name: topic, Partitions: partitions}}); err != nil {
		log.Warn().Err(err).Str("topic", topic).Msg("could not ensure the topic exists")
	}
	limit, err := kcfg.WriterLimit(sctx, maxMessage, topic)
	if err != nil {
		log.Warn().Err(err).Msg("message limit")
	}
	return kcfg.NewWriterLimit(limit), limit
}
