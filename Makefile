# The two commands a newcomer needs: `make run` and `make test`. Everything else is for
# contributors. Targets share one cargo build (CARGO_TARGET_DIR may point to a cache).

CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
LISTEN ?= 127.0.0.1:8080
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
IMAGE ?= quay.io/krkn-chaos/krkn-telemetry:$(VERSION)
STATIC_TARGET := x86_64-unknown-linux-musl
DATA_DIR ?= ./data

.PHONY: image dist deploy deploy-check bench-lambda run test lint fmt schema bench bench-model bench-api bench-collector bench-logs bench-backup bench-queries bench-hostile fuzz build release watch invoke help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

run: ## start the service on the embedded store at http://$(LISTEN)
	$(CARGO) run --locked -p krkn-telemetry-api --bin krkn-telemetry-api -- serve --listen $(LISTEN) --store local --data-dir $(DATA_DIR)

test: ## install what the tests need and run them all
	scripts/test-services.sh start
	set -e; trap 'scripts/test-services.sh stop' EXIT; . .tools/services.env; \
	KRKN_TEST_STATIC_COLLECTOR_DIR="$$(scripts/static-build.sh krkn-telemetry-collector)"; \
	export KRKN_TEST_STATIC_COLLECTOR_DIR; \
	$(CARGO) test --locked --workspace --all-targets; \
	$(CARGO) test --locked --workspace --doc; \
	tests/run_krkn_lib_e2e.sh $(TARGET_DIR)/debug/krkn-telemetry-api; \
	scripts/openapi-test.sh $(TARGET_DIR)/debug/krkn-telemetry-api; \
	scripts/browser-test.sh $(TARGET_DIR)/debug/krkn-telemetry-api; \
	tests/smoke_make_run.sh

lint: ## rustfmt, clippy (warnings are errors), cfn-lint and `sam validate --lint` on the SAM template
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	scripts/lint-infra.sh

fmt: ## format the code
	$(CARGO) fmt --all

schema: ## regenerate schema/*.json from the model types
	UPDATE_SCHEMA=1 $(CARGO) test --locked -p krkn-telemetry-model --test schema

watch: ## the Lambda binary under `cargo lambda watch`, on the embedded store in $(DATA_DIR)
	bin="$$(dirname "$$(scripts/python-venv.sh scripts/requirements-lambda.txt | tail -n1)")"; \
	KRKN_TELEMETRY_DATA_DIR=$(DATA_DIR) "$$bin/cargo-lambda" lambda watch --bin krkn-telemetry-lambda

invoke: ## send a sample event to `make watch`: make invoke EVENT=events/v1-healthz.json
	@test -n "$(EVENT)" || { echo "usage: make invoke EVENT=events/<file>.json" >&2; exit 2; }
	bin="$$(dirname "$$(scripts/python-venv.sh scripts/requirements-lambda.txt | tail -n1)")"; \
	"$$bin/cargo-lambda" lambda invoke krkn-telemetry-lambda --data-file $(EVENT)

image: ## build the collector image (Containerfile) with podman, docker or buildah: make image IMAGE=registry/name:tag
	@engine="$$(command -v podman || command -v docker || command -v buildah || true)"; \
	if [ -z "$$engine" ]; then echo "make image: no podman, docker or buildah here (make test proves the image's contents in an empty root instead)" >&2; exit 1; fi; \
	case "$$engine" in \
	  *buildah) "$$engine" bud --build-arg VERSION=$(VERSION) -f Containerfile -t $(IMAGE) . ;; \
	  *) "$$engine" build --build-arg VERSION=$(VERSION) -f Containerfile -t $(IMAGE) . ;; \
	esac

dist: ## static (musl) release binaries of krkn-telemetry and krkn-telemetry-api in dist/, with SHA256SUMS
	dir="$$(CARGO_PROFILE_RELEASE_STRIP=symbols scripts/static-build.sh --release krkn-telemetry-collector krkn-telemetry-api)"; \
	rm -rf dist && mkdir dist && \
	for bin in krkn-telemetry krkn-telemetry-api; do cp "$$dir/$$bin" "dist/$$bin-$(VERSION)-$(STATIC_TARGET)"; done && \
	cd dist && sha256sum krkn-telemetry-* > SHA256SUMS && cat SHA256SUMS && ls -l

deploy: ## build the Lambda and deploy infra/template.yaml with SAM (asks on the first run; README "Deploy to AWS")
	sam="$$(dirname "$$(VENV_DIR=$$PWD/.tools/sam-venv scripts/python-venv.sh scripts/requirements-sam.txt | tail -n1)")/sam"; \
	lambda_bin="$$(dirname "$$(scripts/python-venv.sh scripts/requirements-lambda.txt | tail -n1)")"; \
	cd infra && PATH="$$lambda_bin:$$PATH" SAM_CLI_TELEMETRY=0 "$$sam" build && \
	if [ -f samconfig.toml ]; then PATH="$$lambda_bin:$$PATH" "$$sam" deploy; \
	else PATH="$$lambda_bin:$$PATH" "$$sam" deploy --guided; fi

deploy-check: ## `sam build` for real (arm64 via cargo-lambda and zig) and the size of what it built; no AWS account needed
	sam="$$(dirname "$$(VENV_DIR=$$PWD/.tools/sam-venv scripts/python-venv.sh scripts/requirements-sam.txt | tail -n1)")/sam"; \
	lambda_bin="$$(dirname "$$(scripts/python-venv.sh scripts/requirements-lambda.txt | tail -n1)")"; \
	cd infra && PATH="$$lambda_bin:$$PATH" SAM_CLI_TELEMETRY=0 "$$sam" build && \
	ls -l .aws-sam/build/TelemetryFunction/bootstrap && file .aws-sam/build/TelemetryFunction/bootstrap

FUZZ_SECONDS ?= 600
FUZZ_ARGS ?=
FUZZ_TARGETS := document parameters_base64

fuzz: ## each cargo-fuzz target for FUZZ_SECONDS (default 600), one after the other (FUZZING.md; not part of `make test`)
	set -e; for target in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/corpus/$$target; cp fuzz/seeds/$$target/* fuzz/corpus/$$target/; \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$target -- \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $(FUZZ_ARGS); \
	done

build: ## debug build of every binary
	$(CARGO) build --locked --workspace

release: ## optimised binaries
	$(CARGO) build --locked --workspace --release

bench: bench-model bench-api bench-collector bench-logs bench-backup bench-queries bench-lambda ## every benchmark (slow; not part of `make test`)

bench-model: ## model parse+validate+serialize against krkn-lib's own model
	scripts/bench-model.sh

bench-api: ## standalone server load (1 and 32 clients), start time, RSS, Lambda zip size
	scripts/bench-api.sh

bench-collector: ## metadata collection from a synthetic 5,000-node cluster: time, bytes, peak RSS
	scripts/bench-collector.sh

bench-logs: ## log filtering of a generated 1 GiB must-gather against krkn-lib and ripgrep
	scripts/bench-logs.sh

bench-lambda: ## the Lambda under the Runtime API on moto: cold init, warm invocations (latency, CPU), the `sam build` zip
	scripts/bench-lambda.sh

bench-queries: ## runs pages and the scenario export over 10,000 filed runs (100,000 scenarios): p99, rows/s, RSS
	scripts/bench-queries.sh

bench-hostile: ## the attacks of issue #13 (password flood, alias bomb, stalled bodies, unfinished headers): answers and peak RSS
	$(CARGO) build --locked -p krkn-telemetry-api --bin krkn-telemetry-api
	python3 scripts/bench-hostile.py $(TARGET_DIR)/debug/krkn-telemetry-api "$$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

bench-backup: ## Prometheus backup of a generated 2 GiB folder into moto against tar | curl; peak RSS
	scripts/bench-backup.sh
