# Switchyard — every entry point a developer, CI or an operator needs.
SHELL := /bin/bash
PREFIX ?= /usr/local
LIBDIR := $(PREFIX)/lib/switchyard
BINDIR := $(PREFIX)/bin
NODE_BIN := node_modules/.bin
TAP_FLAGS ?= --disable-coverage --allow-empty-coverage
# Unit tests: no root, no containerd, under a minute. The few that need root say so and
# skip outside CI (test/helpers/root.ts). End-to-end tests: root and a private containerd.
UNIT_TESTS ?= $$(find dist/test -name '*.test.js' -not -path 'dist/test/e2e/*' | sort)
E2E_TESTS ?= $$(find dist/test/e2e -name '*.test.js' | sort)
# End-to-end tests run on containerd 2.1.9 (our primary); these files (lifecycle, events,
# restart, exec, tty, routing, bootstrap, CRI) run again on each containerd below; the
# Sandbox API files (cri/sandbox*) need containerd 2.x and pin 2.1 themselves.
E2E_EVERY_VERSION ?= $$(ls dist/test/e2e/runc.test.js dist/test/e2e/task-api.test.js dist/test/e2e/routing.test.js dist/test/e2e/bootstrap.test.js dist/test/e2e/cri/*.test.js | grep -v '/cri/sandbox')
OTHER_CONTAINERDS ?= 1.7 1.6

.PHONY: fuzz soak all deps proto build install uninstall lint test test-unit test-e2e demo bench clean node-bundle node-image

all: build

# Debian packages and node_modules; quick when everything is present.
deps:
	@bash scripts/install-deps.sh

src/gen/proto.js: $(shell find proto -name '*.proto') scripts/gen-proto.sh
	@bash scripts/gen-proto.sh

proto: src/gen/proto.js

build: deps proto
	@rm -rf dist && $(NODE_BIN)/tsc -p tsconfig.json
	@node scripts/bundle.mjs

install: build
	@mkdir -p $(LIBDIR) $(BINDIR)
	@rm -rf $(LIBDIR).new && mkdir -p $(LIBDIR).new
	@cp -a package.json package-lock.json bin dist $(LIBDIR).new/
	@cp -a node_modules $(LIBDIR).new/
	@rm -rf $(LIBDIR).old; if [ -d $(LIBDIR) ]; then mv $(LIBDIR) $(LIBDIR).old; fi; mv $(LIBDIR).new $(LIBDIR); rm -rf $(LIBDIR).old
	@ln -sfn $(LIBDIR)/bin/containerd-shim-switchyard-v2.cjs $(BINDIR)/containerd-shim-switchyard-v2
	@ln -sfn $(LIBDIR)/bin/switchyard.js $(BINDIR)/switchyard
	@echo "installed containerd-shim-switchyard-v2 and switchyard into $(BINDIR)"

# The self-contained node bundle (Node included) for nodes without Node.js: dist/node-bundle.
node-bundle: build
	@node scripts/node-bundle.mjs dist/node-bundle

# The node image (OCI image-layout tarball, no Docker): the bundle, the installer, a shell.
node-image: node-bundle
	@bash scripts/build-node-image.sh dist/node-bundle dist/switchyard-node.tar

uninstall:
	rm -rf $(LIBDIR) $(BINDIR)/containerd-shim-switchyard-v2 $(BINDIR)/switchyard

# Type-check, typescript-eslint (eslint.config.js), no import cycles in src/.
lint: deps proto
	@$(NODE_BIN)/tsc -p tsconfig.json --noEmit
	@$(NODE_BIN)/eslint --max-warnings 0
	@$(NODE_BIN)/madge --circular --extensions ts --ts-config tsconfig.json src

test: node-bundle test-unit test-e2e

test-unit: build
	@$(NODE_BIN)/tap $(TAP_FLAGS) $(UNIT_TESTS)

test-e2e: build
	@echo "== e2e, containerd 2.1"
	@SWITCHYARD_E2E_CONTAINERD=2.1 $(NODE_BIN)/tap $(TAP_FLAGS) $(E2E_TESTS)
	@for v in $(OTHER_CONTAINERDS); do \
	  echo "== e2e on containerd $$v"; \
	  SWITCHYARD_E2E_CONTAINERD=$$v $(NODE_BIN)/tap $(TAP_FLAGS) $(E2E_EVERY_VERSION) || exit 1; \
	done

demo: build
	@bash scripts/demo.sh

bench: build
	@node dist/bench/run.js

# 100,000 seeded inputs against a live daemon (FUZZ_SEED, FUZZ_INPUTS to change them).
fuzz: build
	@node dist/test/fuzz/run.js

# 1,000 create/start/exec/kill/wait/delete cycles; the daemon's fds, RSS, children, mounts.
soak: build
	@node dist/test/soak/run.js

clean:
	rm -rf dist src/gen .tap
