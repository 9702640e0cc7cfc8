package ingest

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/tripline/tripline/kafkaio"
)

// writerLimit is the largest message the worker's writer sends to topics:
// from their max.message.bytes, or override. A broker that cannot say (an
// ACL without DescribeConfigs, an old broker) leaves Kafka's default
// limit, with a warning; the worker still starts. It fails only when ctx
// ends.
func writerLimit(ctx context.Context, k kafkaio.Config, override int, log zerolog.Logger, topics ...string) (int, error) {
	qctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	limit, err := k.WriterLimit(qctx, override, topics...)
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if err != nil {
		log.Warn().Err(err).Strs("topics", topics).Int("max_message_bytes", limit).Msg("cannot read the topics' max.message.bytes; set --max-message-bytes if it is not Kafka's default")
	} else {
		log.Info().Strs("topics", topics).Int("max_message_bytes", limit).Msg("largest message the writer sends")
	}
	return limit, nil
}
