.PHONY: demo test test-fast test-matrix test-failover stop
demo:        ## a real local Flink; deploy the job, upgrade it with a savepoint via ansible-playbook
	tests/support/demo.sh
test:        ## install and run the whole suite (units, real-Flink integration, sanity, lint, build)
	tests/support/run_tests.sh
test-fast:   ## only the tests that need no real cluster
	FAST=1 tests/support/run_tests.sh
test-matrix: ## the job recipes' core (deploy, savepoint, upgrade, rescale, rollback) on Flink 1.18 .. 2.3
	tests/support/bootstrap.sh
	mkdir -p tests/output
	FLINKOPS_MATRIX_VERSIONS=$${FLINKOPS_MATRIX_VERSIONS:-all} .venv/bin/python -m pytest \
	  tests/integration/test_flink_version_matrix.py -p no:cacheprovider -v; rc=$$?; \
	  .venv/bin/python tests/support/matrix_report.py; exit $$rc
test-failover: ## the leading JobManager of a bare-metal ZooKeeper-HA cluster killed during upgrade, scale, backup
	tests/support/bootstrap.sh
	.venv/bin/python -m pytest tests/integration/test_leader_failover.py -m failover -p no:cacheprovider -v
stop:        ## stop the local Flink of the demo
	.venv/bin/python tests/support/flink_local.py stop --workdir .local/flink
