# Entry points. `make demo` and `make test` each set up everything first.
.PHONY: setup demo test protos bench

setup:
	scripts/setup.sh

demo: setup
	scripts/demo.sh

test: setup
	scripts/check_protos.sh
	.venv/bin/python -m pytest -q

protos:
	scripts/gen_protos.sh

bench: setup
	.venv/bin/python -m bench.run_all
