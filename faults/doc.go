// Package faults holds tripline's fault-injection tests: they prove that the
// pipeline loses nothing and duplicates nothing an analyst can see when its
// parts crash, stall or disappear. There is no library code here, only the
// tests (faults_test.go) and their harness (harness_test.go).
//
// Each test builds the real tripline binary (once, in TestMain), starts a
// private ClickHouse server (package chserver) and an in-process
// Kafka-protocol broker over TCP (package broker, kfake), runs `tripline
// ingest` and `tripline detect` as child processes, produces a known data
// set — N valid simulated events including attack scenarios, plus invalid
// messages interleaved with them — injects a fault, lets the pipeline catch
// up, and then checks:
//
//   - events: `SELECT count(), uniqExact(event_id) FROM tripline.events
//     FINAL` is (N, N), and every stored ID is one that was produced;
//   - detections: the detections FINAL are exactly the expected set (rules
//     evaluated offline on the same events), each detection_id once;
//   - dead letters: every invalid message is on tripline.dlq, identified by
//     its source coordinates (tripline-source-topic, -partition, -offset
//     headers). Where the workers keep running and can commit (ClickHouse
//     faults, rebalance, poison) the topic holds each exactly once; after a
//     SIGKILL between a dead-letter write and the offset commit, or a commit
//     abandoned while the broker was away, a replay writes a second copy
//     with the same coordinates, which consumers of the DLQ deduplicate on
//     (README, "Delivery guarantees"). TestSIGKILLWorkers and
//     TestBrokerOutage therefore assert uniqueness by coordinates.
//
// Besides the data, the tests check the operational signals: /readyz is
// 503 during ClickHouse and broker outages and 200 again afterwards, the
// ingest group's committed offsets do not move while ClickHouse is down, at
// most one batch is processed (and retried) meanwhile, the process RSS does
// not grow with a ~90 MiB backlog, tripline_consumer_lag shows the
// backlog, SIGTERM ends every worker with exit status 0, and the metrics
// count exactly what was stored and dead-lettered.
//
// Scenarios (test names):
//
//   - TestSIGKILLWorkers: ingest and detect SIGKILLed at random points
//     several times and restarted (seed logged; FAULTS_SEED reproduces);
//   - TestClickHouseOutage: ClickHouse stopped for ClickHouseOutage
//     mid-stream and started again; /readyz of both workers must report
//     not-ready during the outage, committed offsets must not move, memory
//     must not grow with the backlog, and the workers must resume;
//   - TestClickHouseKilledMidInsert: ClickHouse SIGKILLed while an INSERT
//     into tripline.events is running;
//   - TestDetectRebalance: a second detect worker joins the group mid-stream,
//     then leaves;
//   - TestBrokerOutage: the Kafka broker goes away (listener closed) and
//     comes back on the same port with the same data directory;
//   - TestPoisonMessages: poison messages (malformed, deeply nested, invalid
//     UTF-8, non-contract JSON on tripline.events) between valid ones;
//   - TestNotifySIGKILL (notify_test.go): `tripline notify` SIGKILLed while
//     it delivers a backlog of alerts to a Standard Webhooks receiver, and
//     restarted: every alert delivered (the batch in flight twice, with the
//     same webhook-id), every offset committed, a delivered row per
//     message in alert_deliveries; TestNotifyPoisonConfig: notify refuses
//     to start with a bad config, naming file:line.
//
// The tests need a clickhouse-server binary: without one they are skipped,
// or fail when CI=true. They are skipped under -short. `make faults` runs
// just this package (about 2 minutes on 2 cores); `make test` runs it with
// everything else. FAULTS_SEED replays TestSIGKILLWorkers' kill schedule;
// FAULTS_CH_OUTAGE (e.g. 8s) changes TestClickHouseOutage's 30 s outage.
package faults
