.PHONY: demo test test-fast stop
demo:        ## a real local Flink; deploy the job, upgrade it with a savepoint via ansible-playbook
	tests/support/demo.sh
test:        ## install and run the whole suite (units, real-Flink integration, sanity, lint, build)
	tests/support/run_tests.sh
test-fast:   ## only the tests that need no real cluster
	FAST=1 tests/support/run_tests.sh
stop:        ## stop the local Flink of the demo
	.venv/bin/python tests/support/flink_local.py stop --workdir .local/flink
