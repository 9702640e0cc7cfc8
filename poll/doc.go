// Package poll is `tripline poll`: it pulls vendor APIs (NinjaOne
// activities, TeamViewer event logging and connection reports, Microsoft
// Graph sign-ins, Datto RMM activity logs) and writes the records, unconverted, to the raw topic
// exactly as `tripline receive` writes a post of the same records
// (receive.Messages: same topic, key and headers), for ingest to convert.
//
// Each source of the config file (one vendor account of one MSP) keeps a
// durable checkpoint: a small JSON file, replaced atomically (temp file,
// fsync, rename, fsync of the directory) only after Kafka acknowledged a
// page's records (acks=all). A poller killed at any point resumes from the
// last checkpoint: nothing acknowledged is fetched again except the page
// whose checkpoint had not been written yet, and nothing is skipped.
// Records fetched twice carry the vendor's ID, which ingest turns into
// event_id, so storage deduplicates them.
//
// Three cursor kinds, one per API style:
//   - NinjaOne: activity IDs. The API lists newest first, so a poll sweeps
//     down from the newest activity with olderThan to the last ID written
//     (newerThan); the checkpoint keeps the sweep's lower bound, so a kill
//     mid-sweep resumes it rather than restarting it.
//   - TeamViewer, Graph, Datto RMM: a time window [since, until) paged
//     with the vendor's continuation token, next-page URL or offset ID,
//     which the checkpoint keeps. A TeamViewer source polls its connection
//     reports as a second source, NAME-connections, with its own window. The next window starts `overlap` before the end of
//     the last one, because these logs receive records late; the records
//     of the overlap are fetched twice and deduplicated by event_id.
//
// A source whose records need more of its API than the page says is an
// enricher: Datto RMM's job activities name the job, and the poller adds
// its components' names and category (datto_jobs.go) before the page is
// written, so that ingest reads a software deployment as one.
//
// HTTP: 429 and 503 wait for Retry-After (bounded), other transient
// failures back off exponentially with full jitter; 401 drops the cached
// OAuth token and fetches a new one once. Response bodies are bounded.
// Credentials come from environment variables or files named in the
// config; they are never logged, put in errors or in metrics, and a
// next-page URL pointing at another host than the configured API is
// refused rather than sent the bearer token.
package poll
