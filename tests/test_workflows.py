"""The GitHub workflows, read as data: pinned actions, least permissions, deploy gated on the tests,
and a model cache where the course's code actually writes its trained models in CI."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

import bookcheck

WORKFLOWS = bookcheck.ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the bare key `on` as True.
    triggers = workflow.get("on", workflow.get(True))
    return {name: None for name in triggers} if isinstance(triggers, list) else dict(triggers)


def _steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def _runs(job: dict, command: str) -> bool:
    return any(command in step.get("run", "") for step in _steps(job))


def test_there_are_workflows():
    assert {path.name for path in FILES} >= {"book.yml", "test.yml"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_release_named(path):
    uses = re.findall(r"^\s*(?:-\s*)?uses:\s*(\S+)(.*)$", path.read_text(), re.MULTILINE)
    assert uses
    for ref, rest in uses:
        if ref.startswith("./"):  # a workflow of this repository, at this very commit
            continue
        assert PINNED.match(ref), f"{path.name}: {ref} is not pinned to a full commit SHA"
        assert re.match(r"\s*#\s*v\d+(\.\d+)*\b", rest), f"{path.name}: {ref} has no '# vX.Y.Z' comment"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_workflow_sets_its_permissions(path):
    assert isinstance(_load(path).get("permissions"), dict), f"{path.name} has no top-level permissions"


def test_the_test_workflow_only_reads():
    workflow = _load(WORKFLOWS / "test.yml")
    assert workflow["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in workflow["jobs"].values())
    assert "workflow_call" in _triggers(workflow)  # book.yml runs it before deploying
    assert any(_runs(job, "make test") for job in workflow["jobs"].values())


def _deploy_jobs(workflow: dict) -> dict[str, dict]:
    return {name: job for name, job in workflow["jobs"].items()
            if any("actions-gh-pages" in step.get("uses", "") for step in _steps(job))
            or job.get("permissions", {}).get("contents") == "write"}


def _needs(job: dict) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def test_the_book_deploys_only_after_the_tests_passed():
    workflow = _load(WORKFLOWS / "book.yml")
    jobs = workflow["jobs"]
    deploys = _deploy_jobs(workflow)
    assert deploys
    assert "workflow_run" not in _triggers(workflow)
    for name, job in deploys.items():
        test_jobs = [need for need in _needs(job) if jobs[need].get("uses") == "./.github/workflows/test.yml"]
        assert test_jobs, f"{name} does not need the job that runs test.yml"
        # Without an `if`, a job runs only when everything it needs succeeded; these would override that.
        condition = str(job.get("if", ""))
        assert not re.search(r"always\(|failure\(|cancelled\(", condition), f"{name}: if: {condition}"
    # Nothing but the deploy job may write.
    assert workflow["permissions"] == {"contents": "read"}
    for name, job in jobs.items():
        if name not in deploys:
            assert job.get("permissions", {}).get("contents", "read") == "read", name
    for path in FILES:
        if path.name != "book.yml":
            assert not _deploy_jobs(_load(path)), f"{path.name} deploys without the test gate"


def _course_jobs():
    # Every job that runs the course's code (and so trains or loads models): make test / make book.
    for path in FILES:
        workflow = _load(path)
        for name, job in workflow["jobs"].items():
            if _runs(job, "make test") or _runs(job, "make book"):
                yield pytest.param(workflow, job, id=f"{path.name}:{name}")


@pytest.mark.parametrize("workflow,job", list(_course_jobs()))
def test_the_model_cache_is_where_solutions_keeps_trained_models(workflow, job, tmp_path, monkeypatch):
    from solutions import config

    env = {**workflow.get("env", {}), **job.get("env", {})}
    home = tmp_path / "home"  # the runner's home: actions/cache expands ~ there, Python too
    monkeypatch.setenv("HOME", str(home))
    if "XDG_CACHE_HOME" in env:
        monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"].replace("~", str(home), 1))
    else:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    expected = config.cache_dir()

    caches = [step for step in _steps(job) if step.get("uses", "").startswith("actions/cache@")]
    model_caches = [step for step in caches
                    if any(Path(os.path.expanduser(line.strip())) == expected
                           for line in step["with"]["path"].splitlines() if line.strip())]
    assert len(model_caches) == 1, f"no actions/cache step caches {expected}"
    key = model_caches[0]["with"]["key"]
    assert "'solutions/**'" in key and "'requirements.txt'" in key, key
