# ferry's developer targets. `make help` lists them.
GO ?= go

.PHONY: help test race lint bench fuzz quickstart

help: ## list targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

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

quickstart: ## the README's main job: a round trip on the embedded server
	$(GO) run ./cmd/ferry quickstart
