# tripline — the two commands a newcomer needs are `make demo` and `make test`.
GO       ?= go
BIN      := bin/tripline
PKGS     := ./...
BENCHTIME ?= 2s

.PHONY: all build demo test test-short test-cluster vet bench bench-e2e fuzz faults clickhouse zookeeper chromium kcat clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/tripline

# Installs clickhouse-server from Debian packages when missing (tests and the
# demo run a private server as a child process).
clickhouse:
	@scripts/ensure-clickhouse.sh

# Installs Debian's zookeeper when missing: the cluster tests (chcluster/)
# start a private ZooKeeper beside three clickhouse-server processes.
zookeeper:
	@scripts/ensure-zookeeper.sh

# Installs Debian's chromium when missing: PDF reports (tripline report
# --format pdf) print through headless Chromium, and its test fails under
# CI=true without it.
chromium:
	@scripts/ensure-chromium.sh

# Installs Debian's kcat when missing: `make bench-e2e` measures the test
# broker alone on the pipeline's traffic with it (faults BenchmarkBrokerAlone).
kcat:
	@scripts/ensure-kcat.sh

demo: build clickhouse
	$(BIN) demo

vet:
	$(GO) vet $(PKGS)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

# Unit and integration tests (real ClickHouse child process, in-process Kafka
# broker over TCP), fuzz seed corpora, and the shipped rules' own tests.
test: clickhouse zookeeper chromium vet build
	$(GO) test -count=1 -timeout 12m $(PKGS)
	$(BIN) rules test rules/

# Fault-injection tests alone (they are also part of `make test`): SIGKILLed
# workers, ClickHouse stopped and killed mid-insert, a consumer-group
# rebalance, the broker going away, poison messages. About 2 minutes.
faults: clickhouse
	$(GO) test -count=1 -timeout 10m -v ./faults/

# The ClickHouse cluster tests alone (they are also part of `make test`,
# about 40 s): a real cluster on loopback (ZooKeeper, 2 shards, one with 2
# replicas), migrate ON CLUSTER, dedup through Distributed tables,
# queries.sql and the Grafana dashboard's queries, a replica SIGKILLed
# during inserts, the pipeline with its entry server SIGKILLed (detections
# equal offline). See docs/cluster.md.
test-cluster: clickhouse zookeeper
	$(GO) test -count=1 -timeout 10m -v -run 'Cluster' ./chcluster/ ./store/ ./pipeline/ ./cmd/tripline/ ./deployments/

# The end-to-end figure: TRIPLINE_E2E_EVENTS (default 200,000) simulated
# events already in the broker's raw topics, `tripline ingest` and
# `tripline detect` as two processes with default flags, the broker and
# ClickHouse on the same machine; prints events/s and each part's CPU per
# event (faults/e2e_bench_test.go); then the broker alone on the same Kafka
# traffic, driven by kcat (faults/broker_bench_test.go). A few minutes.
bench-e2e: clickhouse kcat
	$(GO) test -run '^$$' -bench 'EndToEnd|BrokerAlone' -benchtime 1x -timeout 40m ./faults/

test-short:
	$(GO) test -short -count=1 $(PKGS)

bench: clickhouse
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./contract/ ./registry/ ./ingest/ ./engine/ ./rules/ ./cmd/tripline/ ./simulate/ ./store/ ./pipeline/ ./report/ ./adapt/ ./receive/

# Every fuzzer in the module, FUZZTIME each (go test fuzzes one target per
# run, so each is named exactly). A new interesting input is minimised for
# at most FUZZMINIMIZE: Go's default of 60 s shows as long stretches of
# "execs: N (0/sec)" on the adapters' JSON seeds, spent minimising, not
# fuzzing. One target: make fuzz FUZZPKGS=./adapt/ FUZZRUN=FuzzOCSF.
FUZZTIME ?= 60s
FUZZMINIMIZE ?= 10s
FUZZPKGS ?= $(sort $(dir $(shell grep -rl --include='*_test.go' '^func Fuzz' .)))
FUZZRUN ?= .
fuzz:
	@set -e; for pkg in $(FUZZPKGS); do \
	  for fn in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' | grep -E '$(FUZZRUN)'); do \
	    echo "== $$pkg $$fn"; \
	    $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg; \
	  done; \
	done

clean:
	rm -rf bin
