"""Generate Python code for every proto under proto/ into src/agora/_proto (`make proto`).

Generated modules keep their proto paths (`agora/catalog/v1/catalog.proto`) but live under the
`agora._proto` package, so imports are rewritten to `agora._proto.agora…`.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO = ROOT / "proto"
OUT = ROOT / "src" / "agora" / "_proto"
IMPORT = re.compile(r"^(from|import) agora\.", re.MULTILINE)


def site_packages_include() -> str:
    """googleapis-common-protos ships its .proto files in site-packages (`google/api/*.proto`)."""
    import google.api.http_pb2 as http

    return str(Path(http.__file__).resolve().parents[2])


def main() -> int:
    shutil.rmtree(OUT / "agora", ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    protos = sorted(str(p.relative_to(PROTO)) for p in PROTO.rglob("*.proto"))
    args = [
        "protoc",
        f"-I{PROTO}",
        f"-I{site_packages_include()}",
        f"-I{Path(grpc_tools.__file__).parent / '_proto'}",
        f"--python_out={OUT}",
        f"--pyi_out={OUT}",
        f"--grpc_python_out={OUT}",
        *protos,
    ]
    if protoc.main(args) != 0:
        return 1
    for path in (OUT / "agora").rglob("*.py*"):
        text = IMPORT.sub(lambda m: f"{m.group(1)} agora._proto.agora.", path.read_text())
        path.write_text(text)
    for directory in [OUT, *(p for p in (OUT / "agora").rglob("*") if p.is_dir()), OUT / "agora"]:
        (directory / "__init__.py").touch()
    # A descriptor set of everything, for the gateway's transcoder and reflection-free tools.
    if (
        protoc.main(
            [
                *args[:4],
                f"--descriptor_set_out={OUT / 'descriptors.binpb'}",
                "--include_imports",
                "--include_source_info",
                *protos,
            ]
        )
        != 0
    ):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
