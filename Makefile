# chronygo — run "make" or "make help" for the list of targets.

GO         ?= go
BIN        := bin
DESTDIR    ?=
# Pure Go build: without cgo the runtime can change credentials and
# capabilities on every thread when the daemon drops root.
export CGO_ENABLED := 0
TEST_TIMEOUT ?= 15m
SEEDS      ?= 10
MODULE     := github.com/chronygo/chronygo
# Network-namespace suites heavy enough to disturb each other's timing on
# two cores: run one at a time, after the rest (test/e2e needs a -timeout of
# at least 9 minutes, or it skips).
SERIAL_TESTS := test/faults test/e2e
FUZZTIME     ?= 100000x
LONG_FUZZTIME ?= 2m
RUN_DIR    ?= /tmp/chronygo-run
RUN_PORT   ?= 11123
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS    := -X github.com/chronygo/chronygo/internal/daemon.Version=$(VERSION)

.DEFAULT_GOAL := help
.PHONY: help build test run lint install install-replace-chronyd \
	uninstall-replace-chronyd bench e2e sim fuzz soak readme

help: ## List the targets
	@echo "chronygo make targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-zA-Z0-9_-]*:.*## / {printf "  %-27s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build bin/chronygo and bin/chronygoc (pure Go, version from git describe)
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/chronygo ./cmd/chronygo
	@if ls cmd/chronygoc/*.go >/dev/null 2>&1; then \
		echo "$(GO) build -o $(BIN)/chronygoc ./cmd/chronygoc"; \
		$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/chronygoc ./cmd/chronygoc; \
	else \
		echo "cmd/chronygoc has no code yet: bin/chronygoc not built"; \
	fi

test: ## Install test dependencies, run all tests, then each fuzz target for FUZZTIME (100000 runs)
	scripts/install-test-deps.sh
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $$($(GO) list ./... | grep -v -x -F $(addprefix -e $(MODULE)/,$(SERIAL_TESTS)))
	$(GO) test -count=1 -p 1 -timeout $(TEST_TIMEOUT) $(addprefix ./,$(SERIAL_TESTS))
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

run: build ## Run the daemon in the foreground on the demo config (examples/demo.conf.in), clock untouched
	@rm -rf $(RUN_DIR) && mkdir -m 0700 $(RUN_DIR)
	@sed -e 's#@RUN_DIR@#$(RUN_DIR)#g' -e 's#@PORT@#$(RUN_PORT)#g' -e "s#@USER@#$$(id -un)#g" \
		examples/demo.conf.in > $(RUN_DIR)/chrony.conf
	@echo "chronygo serves NTP on 127.0.0.1 and ::1 port $(RUN_PORT); in another terminal try:"
	@echo "  chronyc -h $(RUN_DIR)/chronyd.sock tracking"
	@echo "  chronyd -Q -t 5 'server 127.0.0.1 port $(RUN_PORT) iburst'   (measures once, clock untouched)"
	@echo "Stop with Ctrl-C."
	$(BIN)/chronygo -d -x -U -f $(RUN_DIR)/chrony.conf

lint: ## gofmt (must list nothing), go vet, staticcheck (installed if missing)
	@out="$$(find . -name '*.go' -not -path './.git/*' -not -path './.cache/*' -not -path '*/testdata/*' -print0 | xargs -0 -r gofmt -l)"; \
	if [ -n "$$out" ]; then echo "gofmt -l lists:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@gobin="$$($(GO) env GOBIN)"; [ -n "$$gobin" ] || gobin="$$($(GO) env GOPATH)/bin"; \
	sc="$$(command -v staticcheck || true)"; [ -n "$$sc" ] || sc="$$gobin/staticcheck"; \
	if [ ! -x "$$sc" ]; then GOFLAGS= $(GO) install honnef.co/go/tools/cmd/staticcheck@latest; fi; \
	echo "$$sc ./..."; "$$sc" ./...

install: build ## Install to $(DESTDIR)/usr/sbin/chronygo and $(DESTDIR)/usr/bin/chronygoc
	install -D -m 0755 $(BIN)/chronygo $(DESTDIR)/usr/sbin/chronygo
	@if [ -f $(BIN)/chronygoc ]; then \
		echo "install -D -m 0755 $(BIN)/chronygoc $(DESTDIR)/usr/bin/chronygoc"; \
		install -D -m 0755 $(BIN)/chronygoc $(DESTDIR)/usr/bin/chronygoc; \
	fi

install-replace-chronyd: install ## Opt-in: put chronygo in place of /usr/sbin/chronyd (original kept as chronyd.orig)
	scripts/replace-chronyd.sh install

uninstall-replace-chronyd: ## Put the original /usr/sbin/chronyd back
	scripts/replace-chronyd.sh uninstall

readme: ## Regenerate README.md's directive table from internal/daemon
	$(GO) run ./scripts/directives -readme README.md

bench: build ## Side-by-side benchmark with chronyd 4.3 (root, ~6 min): prints the table, writes bench/results.json
	$(GO) run ./cmd/ntpload bench -chronygo $(BIN)/chronygo -out bench/results.json

e2e: ## The deployment end to end in network namespaces, verbose (root, 5-8 min; also part of make test)
	$(GO) test -count=1 -timeout 12m -v ./test/e2e/

sim: ## Accuracy scenarios on virtual time: chrony's pass limits (go test), then the table for SEEDS seeds with chronyd 4.8's figures and ratios
	$(GO) test -count=1 -timeout 10m ./internal/sim/...
	$(GO) run ./cmd/chronygo-sim -n $(SEEDS)

fuzz: ## Run each fuzz target for LONG_FUZZTIME (2m)
	FUZZTIME=$(LONG_FUZZTIME) scripts/fuzz.sh

soak: ## 10-minute soak: 10 000 clients, 20 sources; fails if fds, threads or memory keep growing (root, chronyd)
	scripts/soak.sh
