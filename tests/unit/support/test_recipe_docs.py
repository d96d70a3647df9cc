"""tests/support/recipe_docs.py: the docsite pages it generates from the real playbooks say what the
playbooks do (every recipe has a page; its preconditions and rollback tasks under their exact names;
a rollback only where a rescue has one, "read-only" only where nothing has one; the platforms are
the backend task files present), the committed pages are up to date, and --check names a page that
is not. The Markdown guides convert to rst that docutils reads without a warning."""
from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from docutils import nodes
from docutils.core import publish_doctree
from docutils.parsers.rst import roles

from tests.support import recipe_docs

REPO = pathlib.Path(__file__).resolve().parents[3]
SCRIPT = REPO / "tests" / "support" / "recipe_docs.py"
RECIPES = sorted(p.stem for p in (REPO / "playbooks").glob("*.yml") if p.stem != "configure_awx")
PLATFORMS = sorted(d.name for d in (REPO / "playbooks" / "tasks").iterdir()
                   if d.is_dir() and any((d / (r + ".yml")).is_file() for r in RECIPES))
BARE_METAL_GROUPS = {"zookeeper", "flink_jobmanager", "flink_taskmanager"}


@pytest.fixture(name="pages", scope="module")
def fixture_pages():
    return recipe_docs.generate(str(REPO))


def page_of(pages, recipe):
    return pages["docs/docsite/rst/recipe_%s.rst" % recipe]


def sections(text):
    """Title -> body of the page's "----" sections."""
    parts = re.split(r"^(.+)\n-+\n", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def named_tasks(tasks, path, prefix, rescue=False, in_rescue=False):
    """Names starting with prefix, through blocks and the backend's _helper.yml includes (read here
    independently of the generator). rescue=True: only the tasks of a rescue: section."""
    out = []
    for task in tasks or []:
        if "block" in task:
            out += named_tasks(task["block"], path, prefix, rescue, in_rescue)
            out += named_tasks(task.get("rescue"), path, prefix, rescue, True)
            out += named_tasks(task.get("always"), path, prefix, rescue, in_rescue)
            continue
        include = task.get("ansible.builtin.include_tasks") or task.get("ansible.builtin.import_tasks")
        if isinstance(include, str) and os.path.basename(include).startswith("_") and "{{" not in include:
            helper = path.parent / include
            out += named_tasks(yaml.safe_load(helper.read_text()), helper, prefix, rescue, in_rescue)
            continue
        name = task.get("name", "")
        if name.startswith(prefix) and (in_rescue or not rescue):
            out.append(name)
    return out


def backend_file(platform, recipe):
    return REPO / "playbooks" / "tasks" / platform / (recipe + ".yml")


def backend_tasks(platform, recipe, prefix, rescue=False):
    path = backend_file(platform, recipe)
    return named_tasks(yaml.safe_load(path.read_text()), path, prefix, rescue) if path.is_file() else []


def playbook(recipe):
    return yaml.safe_load((REPO / "playbooks" / (recipe + ".yml")).read_text())


def bare_metal(recipe):
    return any(set(re.split(r"[:,!&]+", str(p.get("hosts", "")))) & BARE_METAL_GROUPS
               and not str(p.get("hosts")).startswith("all") for p in playbook(recipe))


def test_every_recipe_playbook_has_a_page_in_the_docsite_index(pages):
    index = yaml.safe_load(pages["docs/docsite/extra-docs.yml"])
    toctree = [entry for section in index["sections"] for entry in section["toctree"]]
    assert len(RECIPES) >= 18
    for recipe in RECIPES:
        assert "docs/docsite/rst/recipe_%s.rst" % recipe in pages
        assert "recipe_" + recipe in toctree
        assert ":ref:`%s.yml <ansible_collections.flinkops.cookbook.docsite.recipe_%s>`" % (recipe, recipe) in \
            pages["docs/docsite/rst/recipes.rst"]
    assert {"awx", "bare_metal_guide", "backends", "recipes"} <= set(toctree)
    for entry in toctree:
        text = pages["docs/docsite/rst/%s.rst" % entry]
        assert ".. _ansible_collections.flinkops.cookbook.docsite.%s:" % entry in text


@pytest.mark.parametrize("recipe", RECIPES)
def test_a_page_names_the_preconditions_and_rollback_tasks_as_the_playbook_does(pages, recipe):
    page = sections(page_of(pages, recipe))
    for name in named_tasks(playbook(recipe)[0].get("tasks"), REPO / "playbooks" / "x.yml", "Preconditions | "):
        assert "``%s``" % name in page["Preconditions"], name
    for platform in PLATFORMS:
        for name in backend_tasks(platform, recipe, "Preconditions | "):
            assert "``%s``" % name in page["Preconditions"], (platform, name)
        for name in backend_tasks(platform, recipe, "Rollback | ", rescue=True):
            assert "``%s``" % name in page["Rollback"], (platform, name)
            assert "``%s``" % name not in page["Procedure"] + page["Validation"]


@pytest.mark.parametrize("recipe", RECIPES)
def test_a_rollback_is_listed_only_where_a_rescue_has_one_and_read_only_only_where_true(pages, recipe):
    rollback = sections(page_of(pages, recipe))["Rollback"]
    comment = "\n".join(recipe_docs.leading_comment(str(REPO / "playbooks" / (recipe + ".yml"))))
    rescues = [n for p in PLATFORMS for n in backend_tasks(p, recipe, "Rollback | ", rescue=True)]
    if rescues:
        assert "When a step fails, the play runs:" in rollback
    if "read-only and changes nothing" in rollback:
        assert "Read-only" in comment and not rescues
    if not rescues and not bare_metal(recipe):
        assert ("read-only and changes nothing" in rollback) == ("Read-only" in comment)
        assert "read-only and changes nothing" in rollback or "No rollback" in rollback


def test_the_rollbacks_of_known_recipes(pages):
    upgrade = sections(page_of(pages, "upgrade_job"))["Rollback"]
    assert "``Rollback | start the previous version from the same restore point, job {{ validate_run.name }}``" in upgrade
    assert "None needed: the recipe is read-only" in sections(page_of(pages, "health_report"))["Rollback"]
    assert "No rollback. A failed run stops" in sections(page_of(pages, "deploy_job"))["Rollback"]
    flink_upgrade = sections(page_of(pages, "upgrade_flink"))["Rollback"]
    assert "Play ``Upgrade | rollback to the previous release``" in flink_upgrade
    assert "``Upgrade | point current back at the previous release and render its configuration``" in flink_upgrade


@pytest.mark.parametrize("recipe", RECIPES)
def test_the_platforms_listed_are_the_backend_files_present(pages, recipe):
    text = sections(page_of(pages, recipe))["Platforms and commands"]
    table = text.split("From a checkout")[0]
    listed = set(re.findall(r"^   \* - .*?\(``([a-z_]+)``\)$", table, flags=re.M))
    assert listed == {p for p in PLATFORMS if backend_file(p, recipe).is_file()}
    assert ("Bare metal with ZooKeeper HA" in table) == bare_metal(recipe)
    for platform in listed:
        assert "``playbooks/tasks/%s/%s.yml``" % (platform, recipe) in table
    hosts = yaml.safe_load((REPO / "inventories" / "hosts.yml").read_text())
    for env in hosts["all"]["children"]:
        gv = REPO / "inventories" / "group_vars" / (env + ".yml")
        platform = (yaml.safe_load(gv.read_text()) or {}).get("flink_platform", "flink") if gv.exists() else "flink"
        command = "ansible-playbook playbooks/%s.yml -l %s" % (recipe, env)
        assert (command in text) == (platform in listed), (env, platform)
    if listed:
        assert "ansible-playbook -i INVENTORY flinkops.cookbook.%s -l ENVIRONMENT" % recipe in text
    if bare_metal(recipe):
        assert "ansible-playbook -i INVENTORY flinkops.cookbook.%s\n" % recipe in text


def test_a_page_gives_the_cookbook_recipe_and_the_play_variables_with_their_comments(pages):
    page = sections(page_of(pages, "backfill"))
    assert 'Recipe 4.1 "Replaying Kafka topics from older offsets", cookbook 003' in " ".join(
        page["Cookbook recipe"].split())
    assert "``backfill_journal``" in page["Variables"]
    assert "a killed run is finished by the next, never run twice" in " ".join(page["Variables"].split())
    # the survey's questions, as the AWX job template asks them
    assert "``backfill_id``" in sections(page_of(pages, "backfill"))["Platforms and commands"]
    assert "names no cookbook recipe" in sections(page_of(pages, "suspend_resume_job"))["Cookbook recipe"]


def run_check(root):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check", "--root", str(root)], capture_output=True,
                          text=True, timeout=120, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_the_committed_pages_are_up_to_date():
    rc, out = run_check(REPO)
    assert rc == 0, out


@pytest.fixture(name="copy")
def fixture_copy(tmp_path):
    root = tmp_path / "collection"
    for rel in ("playbooks", "docs"):
        shutil.copytree(REPO / rel, root / rel)
    (root / "inventories").mkdir(parents=True)
    shutil.copy(REPO / "inventories" / "hosts.yml", root / "inventories" / "hosts.yml")
    shutil.copytree(REPO / "inventories" / "group_vars", root / "inventories" / "group_vars")
    return root


def test_check_fails_naming_the_page_after_a_page_is_altered(copy):
    assert run_check(copy)[0] == 0
    page = copy / "docs" / "docsite" / "rst" / "recipe_backfill.rst"
    page.write_text(page.read_text().replace("Preconditions", "Prerequisites", 1))
    rc, out = run_check(copy)
    assert rc == 1, out
    assert "stale: docs/docsite/rst/recipe_backfill.rst" in out
    assert "recipe_deploy_job.rst" not in out


def test_check_fails_when_a_playbook_changes_and_writing_fixes_it(copy):
    path = copy / "playbooks" / "deploy_job.yml"
    path.write_text(path.read_text().replace("Preconditions | the inventory", "Preconditions | the hosts"))
    rc, out = run_check(copy)
    assert rc == 1 and "stale: docs/docsite/rst/recipe_deploy_job.rst" in out, out
    (copy / "playbooks" / "backup_state.yml").unlink()
    rc, out = run_check(copy)
    assert "stale: docs/docsite/rst/recipe_backup_state.rst (no playbook or guide generates it" in out, out
    assert "stale: docs/docsite/extra-docs.yml" in out
    subprocess.run([sys.executable, str(SCRIPT), "--root", str(copy)], check=True, capture_output=True, timeout=120)
    assert run_check(copy)[0] == 0
    assert not (copy / "docs" / "docsite" / "rst" / "recipe_backup_state.rst").exists()
    assert "``Preconditions | the hosts``" in (copy / "docs" / "docsite" / "rst" / "recipe_deploy_job.rst").read_text()


def test_check_fails_when_a_guide_changes(copy):
    path = copy / "docs" / "bare_metal_flink.md"
    path.write_text(path.read_text() + "\n## One more section\n\nText.\n")
    rc, out = run_check(copy)
    assert rc == 1 and "stale: docs/docsite/rst/bare_metal_guide.rst" in out, out


# --- the Markdown and comment conversion

def rst_problems(text):
    """docutils' warnings and errors for an rst text (Sphinx's roles stand in as literals)."""
    def stand_in(name, rawtext, text, lineno, inliner, options=None, content=None):  # pylint: disable=unused-argument
        return [nodes.literal(rawtext, text)], []
    for role in ("ref", "ansplugin"):
        roles.register_local_role(role, stand_in)
    doc = publish_doctree(text, settings_overrides={"report_level": 5, "halt_level": 5, "warning_stream": False})
    return [m.astext() for m in doc.findall(nodes.system_message) if int(m["level"]) >= 2]


def test_the_problem_finder_finds_problems():
    assert rst_problems("Title\n=====\n\nA ``broken literal.\n")


def test_every_generated_page_reads_without_a_warning(pages):
    for rel, text in pages.items():
        if rel.endswith(".rst"):
            assert rst_problems(text) == [], rel


def convert(md):
    return "\n".join(recipe_docs.render_blocks(recipe_docs.md_blocks(md.splitlines())))


def test_markdown_tables_keep_a_pipe_inside_code_in_its_cell():
    rst = convert("| path | what |\n|---|---|\n| `flinkctl` | `start|stop` and a\\|b |\n")
    assert "   * - ``flinkctl``\n     - ``start|stop`` and a" in rst
    assert rst_problems(rst) == []


def test_markdown_lists_hold_paragraphs_and_tables_and_numbers():
    md = ("1. **Modules**, first\n   line two.\n2. **Record.** Keys:\n\n   | key | what |\n   |---|---|\n"
          "   | `id` | the id |\n\n   After the table.\n3. Last `x`s.\n\nAfter the list.\n")
    rst = convert(md)
    assert "1. **Modules**, first line two." in rst
    assert "   .. list-table::" in rst and "      * - ``id``" in rst
    assert "   After the table." in rst
    assert "3. Last ``x``\\ s." in rst
    assert rst_problems("T\n=\n\n" + rst) == []


def test_markdown_inline_text_is_escaped():
    assert recipe_docs.inline("flink_* and a|b and ref_ and `code`") == "flink\\_\\* and a\\|b and ref\\_ and ``code``"
    assert recipe_docs.inline("see [the docs](https://example.org/x)") == "see `the docs <https://example.org/x>`__"
    rst = convert("# T\n\n```\nplaybooks/<recipe>.yml   text\n```\n\n- a\n  b\n- c\n")
    assert ".. code-block:: text\n\n   playbooks/<recipe>.yml   text" in rst
    assert "- a b\n\n- c" in rst


def test_comments_become_paragraphs_lists_and_literal_blocks():
    lines = ["Recipe text", "on two lines.", "", "  1. one", "     more", "  2. two", "",
             "  Preconditions: a", "  b.", "  Rollback: c.", "",
             "  ansible-playbook playbooks/x.yml -l prod \\", "    -e a=b"]
    blocks = recipe_docs.comment_blocks(lines)
    assert blocks[0] == ("para", "Recipe text on two lines.")
    assert blocks[1] == ("list", True, [(1, [("para", "one more")]), (2, [("para", "two")])])
    assert blocks[2] == ("list", False, [(0, [("para", "**Preconditions:** a b.")]),
                                         (0, [("para", "**Rollback:** c.")])])
    assert blocks[3][0] == "code" and blocks[3][2][1] == "  -e a=b"
