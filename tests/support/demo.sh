#!/usr/bin/env bash
# The demo: a real local Flink, the stateful job deployed at 1.0.0, then upgraded to the
# declared 2.0.0 through a savepoint by `ansible-playbook playbooks/upgrade_job.yml -l local`,
# then the same command again (nothing to do). Leaves the cluster running; `make stop` ends it.
set -euo pipefail
cd "$(dirname "$0")/../.."
tests/support/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
export FLINKOPS_LOCAL_DIR="$PWD/.local"

url=$(python tests/support/flink_local.py start --workdir .local/flink | tail -n 1)
python tests/support/flink_local.py build-jobs --outdir .local/jars >/dev/null
echo "==> local Flink at $url (web UI too)"

echo "==> deploy_job.yml -l local: deploy stateful-counter 1.0.0"
ansible-playbook playbooks/deploy_job.yml -l local -e local_job_version=1.0.0
echo "==> upgrade_job.yml -l local: upgrade to the declared 2.0.0 through a savepoint"
ansible-playbook playbooks/upgrade_job.yml -l local
echo "==> upgrade_job.yml -l local again: already at 2.0.0, expect changed=0"
ansible-playbook playbooks/upgrade_job.yml -l local | tail -n 3

python - "$url" <<'PY'
import sys, requests
url = sys.argv[1]
for job in requests.get(url + "/jobs/overview", timeout=10).json()["jobs"]:
    cfg = requests.get(f"{url}/jobs/{job['jid']}/config", timeout=10).json()["execution-config"]
    cps = requests.get(f"{url}/jobs/{job['jid']}/checkpoints", timeout=10).json()
    restored = ((cps.get("latest") or {}).get("restored") or {}).get("external_path")
    print(f"{job['name']:18} {job['jid']} {job['state']:9} version={cfg['user-config'].get('flinkops.version')}"
          f" restored_from={restored}")
PY
echo "==> done. Stop the local cluster with: make stop"
