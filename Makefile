# make build | deps | test | demo | bench | clean — `make test` works on a fresh clone.
SHELL := /bin/bash
CONFIG ?= Release
OUT := artifacts/autonomic
TESTS := tests/Autonomic.Core.Tests tests/Autonomic.Architecture.Tests tests/Autonomic.Integration.Tests
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1

.PHONY: all build dashboard deps tools services stop-services test format demo bench clean

all: build

build: dashboard
	dotnet build src/Autonomic.Cli -c $(CONFIG) -o $(OUT) --nologo -v quiet -clp:NoSummary
	@for t in $(TESTS); do dotnet build $$t -c $(CONFIG) --nologo -v quiet -clp:NoSummary || exit 1; done

# The web dashboard (React, built with npm) into $(OUT)/wwwroot; quick when nothing changed.
dashboard:
	@scripts/build-dashboard.sh $(OUT)

deps:
	@scripts/install-deps.sh

# Servers the tests start themselves (s3rver) from tests/tools/package-lock.json; skipped when already installed.
tools:
	@if [ ! -f tests/tools/node_modules/.package-lock.json ] || [ tests/tools/package-lock.json -nt tests/tools/node_modules/.package-lock.json ]; then \
		npm ci --prefix tests/tools --no-audit --no-fund --loglevel=error; fi

# PostgreSQL, Redis and RabbitMQ for the backend tests: installed when missing, started when down.
services: deps
	@for s in scripts/services/*.sh; do bash $$s start || exit 1; done

stop-services:
	@for s in scripts/services/*.sh; do bash $$s stop; done

format:
	dotnet format --verify-no-changes

test: deps tools services build format
	CONFIGURATION=$(CONFIG) scripts/run-tests.sh

demo: deps build
	bin/autonomic up -f examples/demo.yaml --demo

bench: build
	bin/autonomic bench recovery

clean:
	rm -rf artifacts dashboard/dist dashboard/node_modules
	find src tests -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} +
