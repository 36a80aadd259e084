"""The scaffold generates a service whose own tests pass: copy the tracked project, generate
`widgets` there, and run its unit and integration tests against this session's PostgreSQL and
NATS with this checkout's interpreter (the copy's `src` first on the path)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agora.platform.embedded.infra import RunningInfra
from agora.platform.services import GRPC_SERVICES

ROOT = Path(__file__).resolve().parents[3]
SERVICE = "widgets"


def copy_tracked_files(destination: Path) -> None:
    """The project as git tracks it, plus untracked files not ignored (no .venv, no caches)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project with the `widgets` service generated and its protos compiled."""
    root = tmp_path_factory.mktemp("scaffold")
    copy_tracked_files(root)
    run([sys.executable, "tools/scaffold/new_service.py", SERVICE], cwd=root)
    return root


def test_the_service_is_generated_with_the_standard_anatomy_and_registered(
    generated: Path,
) -> None:
    package = generated / "src" / "agora" / SERVICE
    modules = {path.name for path in package.glob("*.py")}
    assert modules == {
        "__init__.py",
        "bootstrap.py",
        "domain.py",
        "tables.py",
        "store.py",
        "service.py",
        "translation.py",
        "events.py",
        "settings.py",
    }
    assert (package / "migrations" / "versions" / "0001_widgets.py").is_file()
    assert (generated / "src/agora/_proto/agora/widgets/v1/widgets_pb2_grpc.py").is_file()
    assert 'GrpcService("widgets")' in (generated / "src/agora/platform/services.py").read_text()
    assert '"widgets": ' in (generated / "src/agora/platform/settings.py").read_text()
    assert '"agora.widgets.domain"' in (generated / "pyproject.toml").read_text()


# Run in the copy: the gateway's routes and the permission registry, as they read the protos.
ROUTES_AND_PERMISSIONS = """
from agora.gateway.descriptors import default_pool, files_of, read_descriptor_set
from agora.gateway.transcoding import build_routes
from agora.platform.security.permissions import all_declared_permissions
from agora.platform.services import grpc_service

routes = build_routes(files_of(read_descriptor_set(), default_pool()))
print(sorted((r.rule.http_method, r.rpc_path) for r in routes if r.backend == "widgets"))
print(sorted(p for p in all_declared_permissions() if p.startswith("widgets:")))
print(grpc_service("widgets").port())
"""


def test_the_gateway_routes_the_new_rpcs_and_their_permissions_are_registered(
    generated: Path,
) -> None:
    env = {**os.environ, "PYTHONPATH": str(generated / "src")}
    routes, permissions, port = run(
        [sys.executable, "-c", ROUTES_AND_PERMISSIONS], cwd=generated, env=env
    ).splitlines()
    service = "/agora.widgets.v1.WidgetsService"
    assert routes == str([("GET", f"{service}/GetWidget"), ("POST", f"{service}/CreateWidget")])
    assert permissions == str(["widgets:read", "widgets:write"])
    assert int(port) not in {service.port() for service in GRPC_SERVICES}


def test_generating_a_service_that_exists_is_refused(generated: Path) -> None:
    done = subprocess.run(
        [sys.executable, "tools/scaffold/new_service.py", "catalog"],
        cwd=generated,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "exists already" in done.stderr


def test_the_generated_service_passes_the_linters_and_its_import_contracts(
    generated: Path,
) -> None:
    bin_dir = Path(sys.executable).parent
    run([str(bin_dir / "ruff"), "check", "src", "tests", "tools"], cwd=generated)
    run([str(bin_dir / "ruff"), "format", "--check", "src", "tests", "tools"], cwd=generated)
    env = {**os.environ, "PYTHONPATH": str(generated / "src")}
    run([str(bin_dir / "mypy"), f"src/agora/{SERVICE}"], cwd=generated, env=env)
    run([str(bin_dir / "lint-imports")], cwd=generated, env=env)


def test_the_generated_services_tests_pass(generated: Path, infra: RunningInfra) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(generated / "src"),
        "AGORA_TEST_DATABASE_URL": infra.database_url,
        "AGORA_TEST_NATS_URL": infra.nats_url,
    }
    tests = [f"tests/unit/{SERVICE}", f"tests/integration/{SERVICE}"]
    out = run(
        # A basetemp of its own: pytest's default one re-creates /tmp/pytest-of-<user> as 0700,
        # which takes the traversal right from the session's PostgreSQL (another user).
        [
            *(sys.executable, "-m", "pytest", *tests, "-q", "-p", "no:cacheprovider"),
            f"--basetemp={generated.parent / 'nested-pytest'}",
        ],
        cwd=generated,
        env=env,
    )
    assert " passed" in out
    assert "failed" not in out
    assert "skipped" not in out
