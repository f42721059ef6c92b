# clawcensus — see README.md. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN := bin
PGDIR := $(CURDIR)/.pg
DEMO_DB := $(BIN)/demo.db
LAB_BASE := 127.0.0.10

.PHONY: help build demo test test-short bench fuzz fingerprints fixtures lint clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-13s %s\n", $$1, $$2}'

build: ## build bin/clawcensus and bin/clawlab (static, no cgo)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/clawcensus ./cmd/clawcensus
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/clawlab ./cmd/clawlab

demo: build ## scan a loopback lab of real-gateway replays into the embedded store, print the report
	@rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	@$(BIN)/clawlab -base $(LAB_BASE) > $(BIN)/lab.txt 2>&1 & echo $$! > $(BIN)/lab.pid; \
	  trap 'kill $$(cat $(BIN)/lab.pid) 2>/dev/null' EXIT; \
	  for i in $$(seq 50); do grep -q '^lab ready' $(BIN)/lab.txt 2>/dev/null && break; sleep 0.1; done; \
	  grep -q '^lab ready' $(BIN)/lab.txt || { echo "the lab did not start (is something else on $(LAB_BASE):18789?)"; exit 1; }; \
	  echo "== the lab: one loopback address per recorded host"; cat $(BIN)/lab.txt; \
	  echo "== clawcensus scan --lab 127.0.0.0/24 --format table (JSON Lines is the default; progress goes to stderr)"; \
	  CLAWCENSUS_SCOPE=127.0.0.0/8 $(BIN)/clawcensus scan --lab --scan-type connect --rate 2000 --db $(DEMO_DB) --format table 127.0.0.0/24 && \
	  echo "== clawcensus report --last" && $(BIN)/clawcensus report --last --db $(DEMO_DB)

# The suite runs sealed (deploy/lab/sealed.sh): in a network namespace with loopback only, so a
# test that aims at the wrong address cannot reach it. Modules are fetched before sealing;
# inside, the module proxy is off. PostgreSQL listens on a unix socket, which crosses namespaces.
SEALED := deploy/lab/sealed.sh env GOPROXY=off GOFLAGS=-mod=readonly GOTOOLCHAIN=local

test: ## run every test sealed in a loopback-only network namespace (race detector on, throwaway PostgreSQL)
	$(GO) mod download
	@url=$$(deploy/lab/pg-throwaway.sh start $(PGDIR)) || exit 1; \
	  trap 'deploy/lab/pg-throwaway.sh stop $(PGDIR)' EXIT; \
	  $(SEALED) TEST_DATABASE_URL="$$url" $(GO) test -race -count=1 ./...

test-short: ## unit tests only, no PostgreSQL (the Postgres cases say why they skip); sealed too
	$(GO) mod download
	$(SEALED) $(GO) test -count=1 ./...

bench: build ## pacing, fingerprinting, coordination, hostile hosts, ingest; as root the side-by-side sweep benchmark (docs/benchmarks.md)
	$(GO) mod download
	$(SEALED) $(GO) test -run '^$$' -bench . -benchtime 1x ./scanner/
	$(SEALED) $(GO) test -run '^$$' -bench . -benchtime 2s ./fingerprint/
	$(SEALED) $(GO) test -run '^$$' -bench . -benchtime 1x ./census/
	$(SEALED) $(GO) test -run '^$$' -bench HostileHosts -benchtime 1x ./cmd/clawcensus/
	$(SEALED) $(GO) test -run '^$$' -bench Ingest -benchtime 400000x ./store/
	@if [ "$$(id -u)" = 0 ]; then \
	  deploy/testbed/tools.sh $(BIN)/bench-tools && $(GO) build -o $(BIN)/bench ./deploy/testbed/bench && \
	  $(SEALED) env BENCH_TOOLS=$(abspath $(BIN)/bench-tools) $(BIN)/bench -reps 2; \
	else echo "the side-by-side sweep benchmark (deploy/testbed) skipped: needs root"; fi

FUZZTIME ?= 20s
fuzz: ## run every fuzz target for FUZZTIME each (default 20s), sealed
	$(GO) mod download
	@for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for fz in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | cut -d' ' -f2); do \
	    echo "== $$pkg $$fz"; \
	    out=$$($(SEALED) $(GO) test -run '^$$' -fuzz "^$$fz$$" -fuzztime $(FUZZTIME) $$pkg 2>&1); rc=$$?; \
	    echo "$$out" | tail -3; \
	    if [ $$rc -ne 0 ] && ! echo "$$out" | grep -q 'Failing input'; then \
	      echo "   (the fuzzing engine stopped without a failing input: once more)"; \
	      $(SEALED) $(GO) test -run '^$$' -fuzz "^$$fz$$" -fuzztime $(FUZZTIME) $$pkg 2>&1 | tail -3; rc=$${PIPESTATUS[0]}; \
	    elif [ $$rc -ne 0 ]; then echo "$$out" | grep -A20 -- '--- FAIL'; fi; \
	    [ $$rc -eq 0 ] || exit 1; \
	  done; \
	done

fingerprints: ## refresh fingerprint/rules/releases.json, the embedded release table, from the npm registry (fingerprint.Update)
	$(GO) run ./fingerprint/internal/genreleases -out fingerprint/rules/releases.json

fixtures: ## re-record the real-gateway fixtures (root, npm registry, Node >= 24 on PATH)
	deploy/lab/record-all.sh
	deploy/lab/record-negatives.sh

lint: ## gofmt and go vet
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	$(GO) vet ./...

clean: ## remove build output and the demo store
	rm -rf $(BIN) $(PGDIR)
