# nc-provision — developer entry points. `make help` lists them.
#
# The two commands of the README:
#   make run    install and start the local AWS (LocalStack + moto, no Docker), build, then plan
#               and apply stg against it
#   make test   unit + integration tests against a fresh local AWS (what CI runs)

SHELL := /bin/bash
CARGO ?= cargo
ENV ?= stg
BIN := $(or $(CARGO_TARGET_DIR),target)/debug/nc-provision

include localstack/Makefile.inc

.PHONY: help setup build run plan apply test unit lint bench clean-emulators

help:                         ## this list
	@grep -hE '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed -E 's/:.*##/\t/' | sort

setup: emulators-install build  ## install the emulators and build the binary

build:                        ## build the binary (debug profile; see Cargo.toml)
	$(CARGO) build --locked

# Emulator glue: moto (serving CloudTrail) checks that the trail bucket exists in moto's own S3,
# while nc-provision creates it on LocalStack; so its name (account 000000000000, the default
# emulator account) is created in moto's S3 first. Real AWS needs nothing of the kind.
MOTO_URL ?= http://127.0.0.1:$(or $(NC_MOTO_PORT),4567)

run: setup emulators-start    ## plan and apply $(ENV) on the local AWS
	@curl -fsS -o /dev/null -X PUT "$(MOTO_URL)/nc-dp-$(ENV)-trail-000000000000" || true
	@eval "$$(localstack/env.sh)" && \
	  $(BIN) plan --env $(ENV) && \
	  $(BIN) apply --env $(ENV) --auto-approve && \
	  $(BIN) plan --env $(ENV) --detailed-exitcode

plan: build                   ## plan $(ENV) on the local AWS (emulators must be running)
	@eval "$$(localstack/env.sh)" && $(BIN) plan --env $(ENV)

apply: build                  ## apply $(ENV) on the local AWS (emulators must be running)
	@eval "$$(localstack/env.sh)" && $(BIN) apply --env $(ENV) --auto-approve

test:                         ## all tests against a fresh local AWS (the README's test command; CI runs it)
	scripts/test.sh

unit:                         ## unit tests only (no emulator needed)
	$(CARGO) test --locked --lib

lint:                         ## formatting and clippy, warnings are errors
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

bench: emulators-install      ## API calls, wall times, peak memory on the local AWS (BENCH=stg|scale: one part; NC_TEST_ENDPOINT: running emulators)
	scripts/bench.sh $(BENCH)
