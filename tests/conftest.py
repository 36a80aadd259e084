"""Real infrastructure for the integration and end-to-end layers, started once per session.

Uses `AGORA_TEST_DATABASE_URL` / `AGORA_TEST_NATS_URL` when set, else starts the embedded
PostgreSQL and NATS JetStream (the same packages `agora up` runs) on free ports.

Every service checks tokens (docs/adr/0007): the session's test JWKS and service key are written
to files named by `AGORA_AUTH_JWKS_FILE` / `AGORA_SERVICE_KEY_FILE` before any service starts.
Mint tokens with `mint_token` (or `security_support`'s functions); `admin_authorization` is the
`authorization` value of a caller holding every permission.

`local_model` is the embedded local model (llama.cpp serving SmolLM2-135M-Instruct, as `agora up`
runs it), started at most once per session, or `AGORA_TEST_LLM_BASE_URL` / `AGORA_TEST_LLM_MODEL`.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from anvil_support import Anvil, running_anvil
from llm_model_support import LocalModel, running_local_model
from security_support import RenewedToken, SecurityFiles, admin_authorization
from security_support import mint_token as mint_test_token

from agora.platform.embedded.infra import RunningInfra, embedded_infra
from agora.platform.net import free_ports
from agora.platform.settings import to_asyncpg_url


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningInfra]:
    database_url = os.environ.get("AGORA_TEST_DATABASE_URL")
    nats_url = os.environ.get("AGORA_TEST_NATS_URL")
    if database_url and nats_url:
        yield RunningInfra(database_url=database_url, nats_url=nats_url)
        return
    data_dir = Path(tmp_path_factory.mktemp("infra"))
    with embedded_infra(data_dir, *free_ports(2)) as running:
        yield RunningInfra(
            database_url=database_url or running.database_url,
            nats_url=nats_url or running.nats_url,
        )


@pytest.fixture(scope="session")
def database_url(infra: RunningInfra) -> str:
    """An asyncpg SQLAlchemy URL to a database of this test session's own."""
    base = to_asyncpg_url(infra.database_url)
    head, _, _ = base.rpartition("/")
    return f"{head}/agora_test_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def nats_url(infra: RunningInfra) -> str:
    return infra.nats_url


@pytest.fixture(scope="session", autouse=True)
def security_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecurityFiles]:
    """The test JWKS and service key, in the environment every service reads its settings from."""
    files = SecurityFiles.write(Path(tmp_path_factory.mktemp("security")))
    previous = {name: os.environ.get(name) for name in files.environment()}
    os.environ.update(files.environment())
    yield files
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def mint_token() -> Callable[..., str]:
    """`mint_token(subject, roles=[...], permissions=[...], **claims)`: a valid access token."""
    return mint_test_token


@pytest.fixture(scope="session")
def admin_bearer() -> RenewedToken:
    """`Bearer <token>` of an admin (every permission), renewed as it ages."""
    return admin_authorization()


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.fixture
def anvil(tmp_path: Path) -> Iterator[Anvil]:
    """A fresh development EVM node (anvil) of its own, on a free port."""
    with running_anvil(tmp_path) as node:
        yield node


@pytest.fixture(scope="session")
def local_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalModel]:
    """A running OpenAI-compatible model server: the embedded SmolLM2-135M-Instruct, started
    once for the session on a free port, unless `AGORA_TEST_LLM_BASE_URL` names another server
    (with `AGORA_TEST_LLM_MODEL`). `local_model.environment()` points the support service at it."""
    base_url = os.environ.get("AGORA_TEST_LLM_BASE_URL")
    if base_url:
        yield LocalModel(base_url.rstrip("/"), os.environ.get("AGORA_TEST_LLM_MODEL", ""))
        return
    with running_local_model(Path(tmp_path_factory.mktemp("llm"))) as model:
        yield model
