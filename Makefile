# ferry's developer targets. `make help` lists them.
GO ?= go

.PHONY: help install test race lint bench fuzz quickstart

help: ## list targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

install: ## build ferry and install it into $GOBIN (default: $(go env GOPATH)/bin)
	@echo "==> building and installing ferry (go install ./cmd/ferry; the first build downloads the modules and takes a minute or two)"
	$(GO) install ./cmd/ferry
	@echo "==> installed $$($(GO) env GOBIN | grep . || echo $$($(GO) env GOPATH)/bin)/ferry"

test: ## the README's test command
	$(GO) test ./...

race: ## all tests under the race detector, then a GOMAXPROCS=1 pass
	$(GO) test -race -count=1 ./...
	GOMAXPROCS=1 $(GO) test -count=1 ./...

lint: ## gofmt, go vet, and golangci-lint when installed
	@test -z "$$(gofmt -l .)" || (gofmt -l . && false)
	$(GO) vet ./...
	@if command -v golangci-lint >/dev/null; then golangci-lint run; else echo "golangci-lint not installed: skipped"; fi

bench: ## hot-path benchmarks and the side-by-side transfer table
	$(GO) test -run '^$$' -bench . -benchmem -cpu 1,2 ./mega/megacrypto/
	$(GO) test -run '^$$' -bench . -benchmem ./mega/
	./bench/transfer.sh

fuzz: ## each fuzz target for 10 seconds
	@for pkg in ./mega/megacrypto/ ./mega/ ./megaserver/ ./internal/config/ ./internal/remote/ ./internal/backend/encoding/ ./internal/backend/mega/; do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep ^Fuzz); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 10s $$pkg || exit 1; \
	  done; \
	done

quickstart: ## the README's main job: a round trip on the embedded server (ARGS="--backend mediafire" for MediaFire)
	@echo "==> compiling ferry, then running ferry quickstart (the first build downloads the modules and takes a minute or two)"
	$(GO) run ./cmd/ferry quickstart $(ARGS)
