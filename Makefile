# crmkit — two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
PORT ?= 8866

.PHONY: install demo test test-fast lint bench bench-big bench-orders templates sample chromium clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dashboard,test,dev]"
	@touch $(STAMP)

install: $(STAMP)

# Debian's chromium for the browser tests (Playwright's own download does not work offline),
# and a Chinese font so that the zh dashboards' screenshots show characters, not boxes.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@fc-list :lang=zh 2>/dev/null | grep -q . || { \
	  echo "installing a Chinese font (fonts-wqy-microhei) for the dashboards' screenshots"; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq fonts-wqy-microhei >/dev/null || \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq fonts-wqy-microhei >/dev/null; } || true; }

demo: install
	$(VENV)/bin/crmkit demo --dir crm-demo --serve --port $(PORT)

# every test but the slow ones (-m slow), the browser and the install test (tests/test_install.py) included
test: install chromium
	$(PY) -m pytest -q -p no:cacheprovider

test-fast: install
	$(PY) -m pytest -q -m "not browser and not slow and not install"

lint: install
	$(VENV)/bin/ruff check crmkit tests benchmarks

bench: install
	$(PY) -m benchmarks.run

bench-big: install
	$(PY) -m benchmarks.run --big

bench-orders: install
	$(PY) -m benchmarks.run --order-store 10000000

templates: install
	$(PY) -c "from crmkit.templates import write_templates; write_templates()"

sample: install
	$(VENV)/bin/crmkit sample sample_data --customers 500 --seed 7 --force

clean:
	rm -rf $(VENV) crm-demo artifacts .pytest_cache
