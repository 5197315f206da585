# Pushbridge build entry points. Every target installs what it needs itself:
# nothing is assumed beyond node/npm, make and apt (see README.md).
DENO_VERSION := 2.9.6
SYSTEM_DENO := $(shell command -v deno 2>/dev/null)
ifeq ($(SYSTEM_DENO),)
DENO := $(CURDIR)/.tools/node_modules/.bin/deno
else ifeq ($(shell deno --version 2>/dev/null | head -n1 | cut -d' ' -f2),$(DENO_VERSION))
DENO := $(SYSTEM_DENO)
else
DENO := $(CURDIR)/.tools/node_modules/.bin/deno
endif

# Debian packages the integration tests and the demo start as throwaway processes.
TEST_PACKAGES := dovecot-imapd dovecot-submissiond dovecot-lmtpd dovecot-managesieved dovecot-sieve \
  postfix radicale xandikos slapd ldap-utils libwbxml2-utils libxml2-utils openssl php-cli php-sqlite3 php-sabre-dav \
  chromium-headless-shell

export DENO_NO_UPDATE_CHECK := 1

ARCH ?= amd64

.PHONY: run test demo bench firmware image image-test setup deno test-deps ok fuzz reliability

deno: $(DENO)

$(CURDIR)/.tools/node_modules/.bin/deno:
	npm install --no-save --prefix .tools deno@$(DENO_VERSION) >/dev/null
	@test -x $@ || (echo "error: deno $(DENO_VERSION) could not be installed from npm" >&2; exit 1)

# Installs the Debian servers only when one of them is missing, so repeated runs stay fast.
test-deps:
	@missing=""; for p in $(TEST_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  echo "postfix postfix/main_mailer_type select No configuration" | $$SUDO debconf-set-selections; \
	  $$SUDO apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

setup: deno test-deps
	$(DENO) install --frozen >/dev/null

run: deno
	$(DENO) task start

test: setup
	$(DENO) test --allow-all --parallel --frozen tests/

ok: setup
	$(DENO) task ok

demo: setup
	$(DENO) run --allow-all tools/demo.ts

bench: setup
	$(DENO) task bench

# Only the property tests, FUZZ_RUNS cases per full-share property (tests/fuzz/_runs.ts): about
# 20 x FUZZ_RUNS cases in all, network properties a tenth each. tools/fuzz_summary.ts then prints
# the cases fast-check ran per file and overall and the peak RSS, and fails below FUZZ_MIN_CASES
# or above FUZZ_MAX_RSS_MIB.
FUZZ_RUNS ?= 60000
FUZZ_MIN_CASES ?= 1000000
FUZZ_MAX_RSS_MIB ?= 1536
FUZZ_FILES := tests/fuzz/ tests/mime/property.test.ts tests/wbxml/fuzz.test.ts tests/wbxml/round_trip.test.ts
fuzz: setup
	@log=$$(mktemp); started=$$(date +%s); \
	PUSHBRIDGE_FUZZ_RUNS=$(FUZZ_RUNS) PUSHBRIDGE_FUZZ_LOG=$$log $(DENO) test --allow-all --frozen $(FUZZ_FILES); \
	status=$$?; \
	echo "fuzz: $$(( $$(date +%s) - started )) s wall clock"; \
	$(DENO) run --allow-read=$$log --frozen tools/fuzz_summary.ts $$log --min-cases $(FUZZ_MIN_CASES) --max-rss-mib $(FUZZ_MAX_RSS_MIB) \
	  || status=1; \
	rm -f $$log; exit $$status

# Both architectures: the compiled binary when a denort runtime is provided
# (DENORT_BIN_X86_64 / DENORT_BIN_AARCH64), and always the offline fallback
# bundle (deno bundle + the pinned runtime from npm). See appliance/README.md.
# The full fault and load suite with its table (tools/reliability/RESULTS.md); sizes via RELIABILITY_ARGS,
# e.g. RELIABILITY_ARGS="--pings 10000 --syncers 100 --duration 1800".
reliability: setup
	$(DENO) run --allow-all --frozen tools/reliability/mod.ts $(RELIABILITY_ARGS)

firmware: deno
	DENO="$(DENO)" appliance/build_firmware.sh

# A bootable disk image (ARCH=amd64|arm64); needs root and Debian's mmdebstrap.
image: deno
	DENO="$(DENO)" appliance/build_image.sh $(ARCH)

# Boots the image (ARCH=amd64|arm64) under qemu: setup page, FolderSync from the VM, update and
# rollback (slow: amd64 ~10 min, arm64 longer; software emulation).
image-test: deno
	DENO="$(DENO)" appliance/image_test.sh $(ARCH)
