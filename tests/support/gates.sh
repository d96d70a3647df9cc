#!/usr/bin/env bash
# Quality gates of the flinkops.cookbook collection, runnable offline (no Galaxy, no Docker).
#
#   tests/support/gates.sh sanity   ansible-test sanity (python 3.11, isolated --venv) on a copy of the tree
#   tests/support/gates.sh units    ansible-test units (python 3.11, isolated --venv) on a copy of the tree
#   tests/support/gates.sh lint     ansible-lint --offline --profile production
#   tests/support/gates.sh build    ansible-galaxy collection build, tarball content/size
#   tests/support/gates.sh docs     antsibull-docs lint-collection-docs --plugin-docs (every plugin and role)
#   tests/support/gates.sh site     the docsite built offline with antsibull-docs and Sphinx (warnings are
#                                   errors), no error page, every recipe page; the generated pages up to date
#   tests/support/gates.sh changelog  antsibull-changelog lint, changelog.yaml lint, CHANGELOG.md generated from it
#   tests/support/gates.sh fragment a change under plugins/, roles/ or playbooks/ since the merge base
#                                   with GATES_BASE_REF (default main) carries a changelogs/fragments/ file
#   tests/support/gates.sh ee       ansible-builder create of meta/execution-environment.yml, the rendered
#                                   context checked, and the installed tarball's dependencies introspected
#   tests/support/gates.sh all      all of the above (units: in `make test` the only run of the unit tests,
#                                   under ansible-test's layout and requirements, about 4 min; it caught
#                                   imports that only the full venv had); exit status != 0 if any failed
#
# Environment:
#   GATES_VENV      venv holding ansible / ansible-lint (default: <repo>/.venv)
#   GATES_PYTHON    python version for ansible-test (default: 3.11)
#   GATES_KEEP=1    keep the temporary sanity/build directories (paths are printed)
#   GATES_SANITY_ARGS  extra arguments for ansible-test sanity (e.g. "--test pep8")
#   GATES_BASE_REF  the branch the fragment check compares with (default: main, else origin/main)
#
# Offline notes (see /work/shared/TOOLING.md):
#   * ansible-test bootstraps pip in each of its venvs with a get-pip script downloaded from
#     ci-files.testing.ansible.com, which is not reachable. `ensure_get_pip` writes a stand-in at
#     ~/.ansible/test/cache/get_pip_<pip version>.py built on ensurepip; the pinned pip wheel is
#     fetched from PyPI once into ~/.ansible/test/cache/get_pip_wheels, so warm runs are offline.
#   * failing sanity results are copied to tests/output/gates-sanity (git-ignored).
#   * ansible-test needs the collection at <root>/ansible_collections/<ns>/<name>; the tree is
#     copied with tar (git tracked + untracked-not-ignored files) into a temp dir with that layout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${GATES_VENV:-$ROOT/.venv}"
PYVER="${GATES_PYTHON:-3.11}"
export PATH="$VENV/bin:$PATH"
PY="$VENV/bin/python"

log() { printf '\n=== %s\n' "$*" >&2; }
die() { printf 'gates.sh: %s\n' "$*" >&2; exit 2; }

[ -x "$PY" ] || die "no python in $VENV (set GATES_VENV)"

read -r NS NAME VERSION < <("$PY" - "$ROOT/galaxy.yml" <<'EOF'
import sys, yaml
g = yaml.safe_load(open(sys.argv[1]))
print(g["namespace"], g["name"], g["version"])
EOF
)

TMPDIRS=()
cleanup() {
  local d
  for d in "${TMPDIRS[@]+"${TMPDIRS[@]}"}"; do
    if [ "${GATES_KEEP:-0}" = 1 ]; then
      echo "gates.sh: kept $d" >&2
    else
      rm -rf -- "$d"
    fi
  done
}
trap cleanup EXIT

mktmp() {
  local d
  d="$(mktemp -d "${TMPDIR:-/tmp}/flinkops-gates.XXXXXX")"
  TMPDIRS+=("$d")
  printf '%s\n' "$d"
}

# The pip version ansible-test pins for the venvs it creates (ansible_test._internal.python_requirements).
pinned_pip_version() {
  if "$PY" - "$PYVER" 2>/dev/null <<'EOF'
import sys, types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version=sys.argv[1]))["pip"])
EOF
  then return 0; fi
  # fallback: the literal default in the source
  local src
  src="$("$PY" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py"
  grep -oP "pip='\K[0-9.]+" "$src" | head -n1 | grep .
}

GET_PIP_MARKER='written by flinkops.cookbook tests/support/gates.sh'

# The get-pip stand-in (python source on stdout).
get_pip_standin() {
  cat <<EOF
# Offline stand-in for https://ci-files.testing.ansible.com/ansible-test/get-pip-<version>.py
# ($GET_PIP_MARKER). ansible-test runs it as
# "python get_pip_X.py --disable-pip-version-check pip==X --no-setuptools --no-wheel"
# in a fresh venv without pip: bootstrap the pip bundled with Python (ensurepip, no network),
# then let that pip install the requested packages, from a local wheelhouse when possible
# (filled from PyPI on first use), so that warm runs need no network at all.
EOF
  cat <<'EOF'
import ensurepip
import os
import subprocess
import sys

# ensurepip.bootstrap() strips every PIP_* variable from os.environ and sets
# PIP_CONFIG_FILE=/dev/null (which would hide the CA bundle from /etc/pip.conf): keep a copy.
env = dict(os.environ)
for var in ("PIP_CONFIG_FILE", "ENSUREPIP_OPTIONS"):
    env.pop(var, None)

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
options = [a for a in args if a.startswith("-")]
packages = [a for a in args if not a.startswith("-")]
wheelhouse = os.path.join(os.path.dirname(os.path.abspath(__file__)), "get_pip_wheels")
pip = [sys.executable, "-m", "pip"]
local = pip + ["install", "--no-index", "--find-links", wheelhouse] + args

ensurepip.bootstrap(upgrade=True)

if not packages:
    sys.exit(0)
if os.path.isdir(wheelhouse):
    with open(os.devnull, "w") as devnull:
        if subprocess.call(local, env=env, stdout=devnull, stderr=devnull) == 0:
            print("Installed %s from %s" % (" ".join(packages), wheelhouse))
            sys.exit(0)
download = pip + ["download", "--no-deps", "-d", wheelhouse] + options + packages
if subprocess.call(download, env=env) == 0 and subprocess.call(local, env=env) == 0:
    sys.exit(0)
sys.exit(subprocess.call(pip + ["install"] + args, env=env))
EOF
}

ensure_get_pip() {
  local ver cache
  ver="$(pinned_pip_version)" || { echo "gates.sh: cannot read the pip version pinned by ansible-test" >&2; return 1; }
  cache="$HOME/.ansible/test/cache/get_pip_${ver//./_}.py"
  mkdir -p "$(dirname "$cache")"
  get_pip_standin >"$cache.new"
  if [ -s "$cache" ] && ! grep -qF "$GET_PIP_MARKER" "$cache"; then
    rm -f "$cache.new"
    echo "get-pip: $cache exists and is not ours: left alone" >&2
  elif [ -s "$cache" ] && cmp -s "$cache" "$cache.new"; then
    rm -f "$cache.new"
    echo "get-pip stand-in: $cache (up to date)" >&2
  else
    mv "$cache.new" "$cache"
    echo "get-pip stand-in: $cache (written)" >&2
  fi
}

# Copy the collection (git tracked + untracked-but-not-ignored files) to <dest>.
copy_tree() {
  local dest="$1"
  mkdir -p "$dest"
  if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$ROOT" && git ls-files -co --exclude-standard -z \
      | grep -zv -E '^(\.venv|\.collections|\.local|\.cache|tests/output)/' \
      | while IFS= read -r -d '' f; do if [ -f "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi; done \
      | tar --null --no-recursion -T - -cf -) | tar -xf - -C "$dest"
  else
    tar -C "$ROOT" --exclude=./.venv --exclude=./.collections --exclude=./.local --exclude=./.cache \
      --exclude=./tests/output --exclude=__pycache__ --exclude='*.pyc' --exclude=./.git -cf - . \
      | tar -xf - -C "$dest"
  fi
}

gate_sanity() {
  log "sanity: ansible-test sanity --venv --python $PYVER --requirements"
  ensure_get_pip || return 1
  command -v shellcheck >/dev/null ||
    echo "WARNING: shellcheck is not installed, the shellcheck sanity test will be skipped (apt-get install shellcheck)" >&2
  local tmp coll rc=0
  tmp="$(mktmp)"
  coll="$tmp/ansible_collections/$NS/$NAME"
  copy_tree "$coll" || { echo "copy failed" >&2; return 1; }
  echo "copy: $coll ($(find "$coll" -type f | wc -l) files)" >&2
  copy_dependencies "$tmp"
  # --venv: ansible-test runs from its own venv under ~/.ansible/test/venv, so the shared
  # project venv is never modified by --requirements. Each sanity test gets its own cached venv.
  # shellcheck disable=SC2086
  (cd "$coll" && ansible-test sanity --venv --python "$PYVER" --requirements --color no \
    ${GATES_SANITY_ARGS:-}) || rc=$?
  if [ "$rc" -ne 0 ] && [ -d "$coll/tests/output" ]; then
    mkdir -p "$ROOT/tests/output"
    rm -rf "$ROOT/tests/output/gates-sanity"
    cp -a "$coll/tests/output" "$ROOT/tests/output/gates-sanity"
    echo "sanity results copied to tests/output/gates-sanity" >&2
  fi
  return "$rc"
}

# The collections galaxy.yml depends on, from the venv (the ansible package ships them): the FKO
# modules build on kubernetes.core (module_utils, doc fragment), playbooks/configure_awx.yml uses
# awx.awx. ansible-test's import, validate-modules and units, and antsibull-docs (which resolves every
# declared dependency), need them beside the collection, as TOOLING.md says. $1: the root that holds
# ansible_collections/.
copy_dependencies() {
  local dep ns name path
  for dep in kubernetes.core awx.awx; do
    ns="${dep%%.*}"; name="${dep#*.}"
    path="$("$VENV/bin/python" -c "import ansible_collections.$dep as c; print(list(c.__path__)[0])" 2>/dev/null || true)"
    if [ -n "$path" ] && [ -d "$path" ]; then
      rm -rf "$1/ansible_collections/$ns/$name"
      mkdir -p "$1/ansible_collections/$ns"
      cp -a "$path" "$1/ansible_collections/$ns/$name"
    else
      echo "WARNING: $dep not found in $VENV: what uses it cannot be checked" >&2
    fi
  done
}

gate_units() {
  log "units: ansible-test units --venv --python $PYVER --requirements"
  ensure_get_pip || return 1
  # A work tree that stays (outside the checkout: inside it, ansible-test would see only git's
  # files), so that ansible-test's delegation venv with the unit requirements is built once, not
  # on every run; the collection itself is copied afresh.
  local tmp coll venv
  tmp="${XDG_CACHE_HOME:-$HOME/.cache}/flinkops/gates-units-$(printf '%s' "$ROOT" | md5sum | cut -c1-8)"
  coll="$tmp/ansible_collections/$NS/$NAME"
  venv="$coll/tests/output/.tmp/delegation"
  if [ -d "$venv" ]; then rm -rf "$tmp/delegation"; mv "$venv" "$tmp/delegation"; fi
  rm -rf "$coll"
  copy_tree "$coll" || { echo "copy failed" >&2; return 1; }
  if [ -d "$tmp/delegation" ]; then mkdir -p "$(dirname "$venv")"; mv "$tmp/delegation" "$venv"; fi
  copy_dependencies "$tmp"
  # the unit tests read the vendor contracts from ../shared/specs beside the collection, never a copy
  [ -d "$ROOT/../shared" ] && ln -sfn "$(cd "$ROOT/../shared" && pwd)" "$tmp/ansible_collections/$NS/shared"
  # tests/unit/requirements.txt: what the unit tests import; tests/config.yml: controller-only modules
  # shellcheck disable=SC2086
  (cd "$coll" && ansible-test units --venv --python "$PYVER" --requirements --color no ${GATES_UNITS_ARGS:-})
}

ensure_collections_link() {
  local link="$ROOT/.collections/ansible_collections/$NS/$NAME"
  if [ ! -e "$link" ]; then
    mkdir -p "$(dirname "$link")"
    ln -sfn ../../.. "$link"
    echo "created $link -> ../../.." >&2
  fi
}

gate_lint() {
  log "lint: ansible-lint --offline --profile production"
  ensure_collections_link || return 1
  # ANSIBLE_HOME inside the tree: lint sees this checkout, not a copy installed in ~/.ansible/collections
  (cd "$ROOT" && ANSIBLE_HOME="$ROOT/.ansible" ansible-lint --offline --profile production --nocolor)
}

gate_build() {
  log "build: ansible-galaxy collection build"
  local out tarball
  out="$(mktmp)"
  (cd "$ROOT" && ansible-galaxy collection build --force --output-path "$out" .) || return 1
  tarball="$out/$NS-$NAME-$VERSION.tar.gz"
  [ -f "$tarball" ] || { echo "build: no tarball at $tarball" >&2; return 1; }
  # anything that must never be shipped
  local leaked
  leaked="$(tar -tzf "$tarball" | grep -E '^(\.venv|\.collections|\.local|\.cache|\.ci|\.ansible|\.git|bench|inventories|molecule|tests/(output|unit|integration|support|java[^/]*)|\.pytest_cache)(/|$)|^(ansible\.cfg|Makefile|\.ansible-lint|\.ansible-lint-ignore|\.gitignore|requirements[^/]*\.(txt|yml)|tests/conftest\.py|changelogs/\.plugin-cache\.yaml)$|__pycache__|\.pyc$' || true)"
  tar -tzvf "$tarball" | awk '{print $3, $6}' | sort -k2 >&2
  echo "tarball: $tarball  $(stat -c %s "$tarball") bytes, $(tar -tzf "$tarball" | wc -l) entries" >&2
  if [ -n "$leaked" ]; then
    echo "build: files that build_ignore should have excluded:" >&2
    printf '%s\n' "$leaked" >&2
    return 1
  fi
}

# A copy of the collection at <tmp>/ansible_collections/<ns>/<name> (what ansible-doc and antsibull
# see once installed); the path is printed.
collection_copy() {
  local tmp coll
  tmp="$(mktmp)"
  coll="$tmp/ansible_collections/$NS/$NAME"
  copy_tree "$coll" >&2 || return 1
  printf '%s\n' "$coll"
}

gate_docs() {
  log "docs: antsibull-docs lint-collection-docs --plugin-docs"
  local coll
  coll="$(collection_copy)" || return 1
  # the fko_* modules use kubernetes.core's doc fragments: it must be beside the collection
  copy_dependencies "$(dirname "$(dirname "$(dirname "$coll")")")"
  # every plugin (modules, filters, callbacks, ...) and role argument spec, found by
  # antsibull-docs itself: plugins added later are linted without a list here. Run from an empty
  # HOME and directory: no ~/.ansible of earlier runs (molecule installs the collection there), no
  # ansible.cfg of the checkout. The venv's own collections are hidden
  # (ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=False): antsibull-docs copies each dependency from the first
  # path `ansible-galaxy collection list` gives, which sorts by path, and copies a path inside a git
  # work tree with `git ls-files`. Where the checkout sorts before TMPDIR, it took the venv's
  # kubernetes.core (under the git-ignored .venv), copied none of its files and found no doc
  # fragments (CI of stop 17; reproduced with TMPDIR=/work/zzz).
  local home
  home="$(mktmp)"
  (cd "$home" && HOME="$home" ANSIBLE_HOME="$home/.ansible" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=False \
    ANSIBLE_COLLECTIONS_PATH="$(dirname "$(dirname "$(dirname "$coll")")")" \
    antsibull-docs lint-collection-docs --plugin-docs "$coll")
}

# The collection's docsite as antsibull-docs builds it: `sphinx-init` then its build.sh (antsibull-docs
# --fail-on-error, then sphinx-build -W --keep-going, nitpicky), offline: intersphinx is off, and the
# references only the Ansible docsite's inventory would resolve (common_return_values, other
# collections' plugins) are not errors. Fails on an error page (the page antsibull-docs writes for a
# plugin whose docs do not parse: "The documentation for the <type> plugin, <name>, was malformed", or
# "There were some errors parsing the documentation" for a bad RETURN or EXAMPLES), and when a recipe
# page, the bare-metal guide or a page of docs/docsite/extra-docs.yml is missing from the HTML. First
# tests/support/recipe_docs.py --check: the committed pages are what the playbooks generate. The site
# is copied to tests/output/docs-site (git-ignored).
gate_site() {
  log "site: recipe_docs.py --check, antsibull-docs sphinx-init + build.sh (offline), error pages"
  local coll root home site rc=0 page missing=0 errors
  "$PY" "$ROOT/tests/support/recipe_docs.py" --check || rc=1
  coll="$(collection_copy)" || return 1
  root="$(dirname "$(dirname "$(dirname "$coll")")")"
  copy_dependencies "$root"
  # the same isolation as gate_docs (an empty HOME, no ansible.cfg, the venv's collections hidden)
  home="$(mktmp)"
  site="$(mktmp)"  # mktemp -d: owned by us, mode 700, as sphinx-init wants its --dest-dir
  (cd "$home" && HOME="$home" ANSIBLE_HOME="$home/.ansible" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=False \
    ANSIBLE_COLLECTIONS_PATH="$root" \
    antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error --dest-dir "$site" \
      --project "$NS.$NAME" --title "$NS.$NAME" --copyright "$NS.$NAME contributors" "$NS.$NAME") || return 1
  cat >>"$site/conf.py" <<'EOF'

# gates.sh site: offline, intersphinx off; a reference into the Ansible docsite or another
# collection (resolved through intersphinx when online) is not an error, one into this collection is.
intersphinx_mapping = {}
nitpick_ignore_regex = [
    ('ref', r'ansible_collections\.(?!flinkops\.cookbook\.).+'),
    ('ref', r'(?!ansible_collections\.)(?!.*flinkops).+'),
]
EOF
  (cd "$home" && HOME="$home" ANSIBLE_HOME="$home/.ansible" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=False \
    ANSIBLE_COLLECTIONS_PATH="$root" "$site/build.sh") || return 1
  errors="$(grep -rlE 'was malformed|There were some errors parsing the documentation' "$site/rst" "$site/build/html" || true)"
  if [ -n "$errors" ]; then
    echo "site: error pages (plugin docs that do not parse):" >&2
    printf '  %s\n' "$errors" >&2
    rc=1
  fi
  # every page of extra-docs.yml, the bare-metal guide, and a page per recipe playbook
  local pages=(bare_metal_guide) f
  while read -r page; do pages+=("$page"); done < <("$PY" - "$ROOT/docs/docsite/extra-docs.yml" <<'EOF'
import sys, yaml
for section in yaml.safe_load(open(sys.argv[1]))["sections"]:
    for entry in section["toctree"]:
        print(entry if isinstance(entry, str) else entry["ref"])
EOF
  )
  for f in "$ROOT"/playbooks/*.yml; do
    f="${f##*/}"; f="${f%.yml}"
    [ "$f" = configure_awx ] || pages+=("recipe_$f")
  done
  for page in "${pages[@]}"; do
    [ -s "$site/build/html/docsite/$page.html" ] || { echo "site: no page docsite/$page.html" >&2; missing=1; }
  done
  [ "$missing" -eq 0 ] || rc=1
  mkdir -p "$ROOT/tests/output"
  rm -rf "$ROOT/tests/output/docs-site"
  cp -a "$site/build/html" "$ROOT/tests/output/docs-site"
  echo "site: $(find "$site/build/html" -name '*.html' | wc -l) HTML pages ($(find "$site/build/html/docsite" -name '*.html' | wc -l) extra docs) in tests/output/docs-site" >&2
  return "$rc"
}

gate_changelog() {
  log "changelog: antsibull-changelog lint, lint-changelog-yaml, CHANGELOG.md up to date"
  local coll rc=0
  (cd "$ROOT" && antsibull-changelog lint) || rc=1
  (cd "$ROOT" && antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml) || rc=1
  coll="$(collection_copy)" || return 1
  (cd "$coll" && ANSIBLE_COLLECTIONS_PATH="$(dirname "$(dirname "$(dirname "$coll")")")" \
    antsibull-changelog generate) || rc=1
  if ! cmp -s "$ROOT/CHANGELOG.md" "$coll/CHANGELOG.md"; then
    echo "changelog: CHANGELOG.md is not what changelogs/changelog.yaml generates (run antsibull-changelog generate):" >&2
    diff -u "$ROOT/CHANGELOG.md" "$coll/CHANGELOG.md" | head -40 >&2 || true
    rc=1
  fi
  return "$rc"
}

# Files changed since the merge base with the base branch: committed, staged, in the work tree,
# and new untracked ones.
changed_since_base() {
  local base="$1" mb
  mb="$(git -C "$ROOT" merge-base HEAD "$base")" || return 1
  { git -C "$ROOT" diff --name-only "$mb" --
    git -C "$ROOT" ls-files -o --exclude-standard; } | sort -u
}

gate_fragment() {
  log "fragment: a change under plugins/, roles/ or playbooks/ carries a changelog fragment"
  if ! git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    echo "fragment: not a git checkout: nothing to compare, passed" >&2; return 0
  fi
  local base="${GATES_BASE_REF:-}" ref changed code fragments
  if [ -z "$base" ]; then
    for ref in main origin/main; do
      if git -C "$ROOT" rev-parse -q --verify "$ref^{commit}" >/dev/null; then base="$ref"; break; fi
    done
  fi
  if [ -z "$base" ]; then
    # a CI checkout of a single commit (no other branch fetched) has nothing to compare with
    echo "fragment: no base branch main or origin/main in this checkout: nothing to compare, passed" >&2
    return 0
  fi
  if ! git -C "$ROOT" rev-parse -q --verify "$base^{commit}" >/dev/null; then
    echo "fragment: GATES_BASE_REF=$base is not a commit in this checkout" >&2
    return 2
  fi
  # on main itself the merge base is HEAD: only uncommitted changes count
  changed="$(changed_since_base "$base")" || { echo "fragment: no merge base with $base" >&2; return 1; }
  code="$(grep -E '^(plugins|roles|playbooks)/' <<<"$changed" || true)"
  fragments="$(grep -E '^changelogs/fragments/[^/]+\.ya?ml$' <<<"$changed" | while read -r f; do
    if [ -f "$ROOT/$f" ]; then echo "$f"; fi; done || true)"
  echo "fragment: since the merge base with $base: $(grep -c . <<<"$code" || true) file(s) under plugins/ roles/ playbooks/; fragments: ${fragments:-none}" >&2
  if [ -n "$code" ] && [ -z "$fragments" ]; then
    echo "fragment: these changes need a changelog fragment in changelogs/fragments/ (sections: changelogs/config.yaml):" >&2
    printf '  %s\n' "$code" >&2
    return 1
  fi
}

gate_ee() {
  log "ee: ansible-builder create of meta/execution-environment.yml"
  local tmp ctx rc=0 dep
  tmp="$(mktmp)"
  # the definition's dependency paths are relative to the collection root (introspection reads
  # them there): build it from a directory laid out the same way
  mkdir -p "$tmp/build/meta"
  cp "$ROOT/meta/execution-environment.yml" "$tmp/build/execution-environment.yml"
  cp "$ROOT"/meta/ee-*.txt "$tmp/build/meta/"
  ctx="$tmp/build/context"
  (cd "$tmp/build" && ansible-builder create -f execution-environment.yml -c "$ctx" --output-filename Containerfile) || return 1
  "$PY" "$ROOT/tests/support/check_ee_context.py" "$ROOT" "$ctx" || rc=1
  # what ansible-builder finds in the collection once it is installed from its tarball
  (cd "$ROOT" && ansible-galaxy collection build --force --output-path "$tmp/dist" . >/dev/null) || return 1
  ansible-galaxy collection install --offline --force -p "$tmp/installed" "$tmp/dist/$NS-$NAME-$VERSION.tar.gz" >/dev/null || return 1
  ansible-builder introspect "$tmp/installed" --write-pip "$tmp/pip.txt" --write-bindep "$tmp/bindep.txt" >&2 || return 1
  while read -r dep; do
    grep -qiE "^$dep\b.*# from collection $NS\.$NAME" "$tmp/pip.txt" ||
      { echo "ee: introspection of the installed collection misses $dep" >&2; rc=1; }
  done < <(grep -vE '^\s*(#|$)' "$ROOT/meta/ee-requirements.txt" | sed -E 's/[<>=!~ ;[].*//')
  while read -r dep; do
    grep -qE "^$dep\b.*# from collection $NS\.$NAME" "$tmp/bindep.txt" ||
      { echo "ee: introspection of the installed collection misses system package $dep" >&2; rc=1; }
  done < <(grep -vE '^\s*(#|$)' "$ROOT/meta/ee-bindep.txt" | awk '{print $1}')
  return "$rc"
}

SUMMARY=()
ALL_GATES="sanity units lint build docs site changelog fragment ee"

FAILED_TAILS=()
GATE_LOGS=""

# Runs one gate, its output shown as it comes and kept in a log: a failed gate's last lines are
# printed again under the summary, where a CI log that keeps only its tail still shows the cause.
run_timed() {
  local name="$1" start rc=0 line log
  start=$(date +%s)
  [ -n "$GATE_LOGS" ] || GATE_LOGS="$(mktmp)"
  log="$GATE_LOGS/$name.log"
  "gate_$name" > >(tee "$log" >&2) 2>&1 || rc=$?
  wait $! 2>/dev/null || true
  line="$(printf '%-7s %s in %ss' "$name" "$([ "$rc" -eq 0 ] && echo PASS || echo "FAIL (rc=$rc)")" "$(( $(date +%s) - start ))")"
  SUMMARY+=("$line")
  echo "$line" >&2
  [ "$rc" -eq 0 ] || FAILED_TAILS+=("--- $name failed; its last 40 lines:" "$(tail -n 40 "$log")")
  return "$rc"
}

main() {
  local cmd="${1:-}" rc=0 g
  case "$cmd" in
    sanity|units|lint|build|docs|site|changelog|fragment|ee) run_timed "$cmd" || rc=$? ;;
    all)
      for g in $ALL_GATES; do run_timed "$g" || rc=1; done
      printf '\n=== summary\n' >&2
      printf '%s\n' "${SUMMARY[@]}" >&2
      [ "${#FAILED_TAILS[@]}" -eq 0 ] || printf '\n%s\n' "${FAILED_TAILS[@]}" >&2
      ;;
    -h|--help|help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; return 0 ;;
    *) echo "usage: $0 {sanity|units|lint|build|docs|site|changelog|fragment|ee|all}" >&2; return 2 ;;
  esac
  return "$rc"
}

main "$@"
