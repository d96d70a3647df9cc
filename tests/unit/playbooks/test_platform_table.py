"""The README's platform table is the truth about which backend implements which recipe.

A recipe playbook only dispatches (playbooks/tasks/common/dispatch.yml): its steps on a platform
are playbooks/tasks/<platform>/<recipe>.yml. So, for every recipe that dispatches and every
platform column of the table: the cell says "yes" exactly when that task file exists, and a task
file (helpers start with ``_``) exists only for a recipe the table claims (docs/backends.md).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
PLAYBOOKS = REPO / "playbooks"
TASKS = PLAYBOOKS / "tasks"


def platform_table():
    """{platform: {recipe: claimed}} from the README's "## Platforms" table."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Platforms\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    platforms = [re.search(r"\(`([a-z_]+)`\)", cell).group(1) for cell in header[1:]]
    table = dict((p, {}) for p in platforms)
    for row in rows[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        for recipe in re.findall(r"`([a-z_]+)\.yml`", cells[0]):
            for platform, cell in zip(platforms, cells[1:]):
                table[platform][recipe] = cell.lower().startswith("yes")
    return table


def dispatching_recipes():
    """The playbooks that dispatch, by the recipe name they dispatch as."""
    out = {}
    for path in sorted(PLAYBOOKS.glob("*.yml")):
        text = path.read_text()
        found = re.findall(r"dispatch_recipe:\s*([a-z_]+)", text)
        if found:
            out[path.stem] = found
    return out


TABLE = platform_table()
RECIPES = dispatching_recipes()


def test_the_table_names_the_four_platforms_and_every_dispatching_recipe():
    assert list(TABLE) == ["flink", "cmf", "fko", "confluent_cloud"]
    assert len(RECIPES) >= 11
    for recipe in RECIPES:
        assert recipe in TABLE["flink"], "%s.yml dispatches but has no row in the README's platform table" % recipe


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_a_recipe_dispatches_as_itself(recipe):
    assert RECIPES[recipe] == [recipe], "%s.yml must dispatch as dispatch_recipe: %s" % (recipe, recipe)


@pytest.mark.parametrize("platform", list(TABLE))
def test_a_claimed_recipe_has_its_task_file_and_a_task_file_only_a_claimed_recipe(platform):
    for recipe in RECIPES:
        exists = (TASKS / platform / (recipe + ".yml")).is_file()
        claimed = TABLE[platform][recipe]
        assert claimed == exists, (
            "README claims %s for %s but playbooks/tasks/%s/%s.yml does not exist" % (recipe, platform, platform, recipe)
            if claimed else
            "playbooks/tasks/%s/%s.yml exists but the README does not say 'yes' for %s on %s"
            % (platform, recipe, recipe, platform))
    folder = TASKS / platform
    for path in sorted(folder.glob("*.yml")) if folder.is_dir() else []:
        if path.name.startswith("_"):
            continue  # a helper of the backend's recipes
        assert TABLE[platform].get(path.stem), (
            "playbooks/tasks/%s/%s is not a recipe the README claims for %s (helpers start with _)"
            % (platform, path.name, platform))


def test_the_job_recipes_have_no_not_yet_left_on_cmf():
    for recipe in ("deploy_job", "upgrade_job", "scale_job", "backup_state", "restore_state", "suspend_resume_job",
                   "backfill", "incident_restart_loop", "incident_checkpoint_failures", "health_report"):
        assert TABLE["cmf"][recipe], recipe


def test_recipe_playbooks_only_dispatch():
    """No platform condition and no module_defaults in a recipe playbook: the dispatcher has the one block."""
    for path in sorted(PLAYBOOKS.glob("*.yml")):
        text = path.read_text()
        assert not re.search(r"flink_platform\s*==", text), "%s tests flink_platform" % path.name
        if path.stem in RECIPES:
            plays = yaml.safe_load(text)
            # a play that dispatches has no module_defaults of its own (scale_cluster.yml also has the
            # bare-metal plays, which do not go through the seam and keep theirs)
            dispatching = [play for play in plays if "tasks/common/dispatch.yml" in yaml.safe_dump(play)]
            assert dispatching, "%s dispatches in no play" % path.name
            assert all("module_defaults" not in play for play in dispatching), "%s has its own module_defaults" % path.name
    blocks = [p for p in TASKS.rglob("*.yml") if "module_defaults:" in p.read_text()]
    assert blocks == [TASKS / "common" / "dispatch.yml"]
