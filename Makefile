# blesim — a userspace virtual Bluetooth Low Energy world.
#
#   make run    in-process demo: a built-in central discovers, connects to and
#               reads a virtual oximeter; prints what happened on the air
#   make test   unit tests, fuzz seeds, and the real-stack tests (Linux kernel +
#               BlueZ in a QEMU VM); installs what it needs
#   make bench  the medium/scheduler benchmark

GO        ?= go
BIN       := bin/blesim
VMDIR     ?= .vm
# tshark dissects the air pcaps and headless chromium renders report.html in
# the unit tests (scenarios/trace, scenarios/report); the rest is the VM.
APT_PKGS  := qemu-system-x86 linux-image-amd64 busybox-static cpio kmod bluez bluez-meshd dbus tshark chromium

export CGO_ENABLED := 0

.PHONY: all build run test unit vmtest bench deps godeps sysdeps fuzz clean

all: build

# Go modules through the module proxy.
godeps:
	$(GO) mod download

# Debian packages for the VM harness (kernel, BlueZ, QEMU) and the output
# checks (tshark, chromium), when root.
sysdeps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
	  else \
	    echo "missing Debian packages:$$missing (run as root, or: sudo apt-get install$$missing)"; exit 1; \
	  fi; \
	fi

deps: godeps sysdeps

build: godeps
	$(GO) build -trimpath -o $(BIN) ./cmd/blesim

run: build
	./$(BIN) demo

unit: godeps
	$(GO) vet ./...
	$(GO) test -count=1 ./...

vmtest: build sysdeps
	$(GO) build -trimpath -o bin/btexpect ./scenarios/harness/btexpect
	$(GO) build -trimpath -o bin/meshsend ./scenarios/harness/meshsend
	scenarios/harness/vmtest.sh $(BIN)

# make test installs tshark and chromium first (sysdeps) and makes the tests
# that use them fail, not skip, when they are missing.
test: export BLESIM_REQUIRE_TOOLS := 1
test: sysdeps unit vmtest

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 1x ./linklayer/...
	./$(BIN) bench

clean:
	rm -rf bin $(VMDIR)
