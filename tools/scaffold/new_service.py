"""Generate a new Agora service with the anatomy of docs/service-anatomy.md (`make new-service`).

    python tools/scaffold/new_service.py NAME [--item ITEM] [--root DIR]

writes the proto, the package `agora.NAME` (bootstrap, domain, tables, store, service,
translation, events, settings, migrations) and its unit and integration tests from
tools/scaffold/template/, then registers the service where the platform lists services:
`GRPC_SERVICES` (supervisor, gateway backends, migrations), `DEFAULT_GRPC_PORTS`, and every
import contract of pyproject.toml that names the catalog. Routes and permissions need no
registration: the gateway and the permission registry read them from the proto's options.
Last it regenerates src/agora/_proto and formats the new files, with the Python running it
(the checkout's .venv: grpcio-tools and ruff).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "template"
SUFFIX = ".tmpl"
NAME = re.compile(r"^[a-z][a-z0-9]{1,30}$")
# Names the platform, the package `agora` or the protos (`agora.events.v1`) already use.
RESERVED = frozenset(
    {"platform", "gateway", "seed", "bench", "cli", "kernel", "options", "types", "events"}
)


@dataclass(frozen=True)
class Names:
    """Every spelling of the service and of the record it keeps, as the templates use them."""

    service: str  # widgets: package, schema, stream, permission prefix
    item: str  # widget: the record a new service starts with

    @property
    def tokens(self) -> dict[str, str]:
        return {
            "{{service}}": self.service,
            "{{Service}}": self.service.capitalize(),
            "{{SERVICE}}": self.service.upper(),
            "{{item}}": self.item,
            "{{Item}}": self.item.capitalize(),
            "{{ITEM}}": self.item.upper(),
            "{{items}}": f"{self.item}s",
        }

    def fill(self, text: str) -> str:
        for token, value in self.tokens.items():
            text = text.replace(token, value)
        return text


def default_item(service: str) -> str:
    """The record a service keeps by default: `widgets` keeps a `widget`, `chain` a `chain`."""
    return service[:-1] if service.endswith("s") and len(service) > 3 else service


def check_name(value: str, what: str) -> str:
    if not NAME.fullmatch(value) or value in RESERVED:
        raise SystemExit(
            f"{what} {value!r}: 2-31 lower-case letters and digits, starting with a letter, "
            f"and not one of {', '.join(sorted(RESERVED))}"
        )
    return value


def render(names: Names, root: Path) -> list[Path]:
    """Write every template file under `root`, refusing to overwrite anything."""
    written: list[Path] = []
    targets = [
        (template, root / names.fill(str(template.relative_to(TEMPLATE))).removesuffix(SUFFIX))
        for template in sorted(TEMPLATE.rglob(f"*{SUFFIX}"))
    ]
    existing = [str(target) for _, target in targets if target.exists()]
    if existing:
        raise SystemExit("refusing to overwrite:\n  " + "\n  ".join(existing))
    for template, target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(names.fill(template.read_text()))
        written.append(target)
    return written


def generate_code(paths: list[Path], root: Path) -> None:
    """Generate the protos' Python (`make proto`), then sort imports and format the generated
    service with ruff (import order depends on the service's name, and ruff tells the
    generated `agora._proto` modules apart only once they exist)."""
    python = [str(path) for path in paths if path.suffix == ".py"]
    steps = [
        [str(root / "tools" / "gen_proto.py")],
        ["-m", "ruff", "check", "--fix", "--quiet", *python],
        ["-m", "ruff", "format", "--quiet", *python],
    ]
    for step in steps:
        try:
            subprocess.run([sys.executable, *step], cwd=root, check=True)
        except (OSError, subprocess.CalledProcessError):
            print(f"failed: {' '.join(step[:3])}; run `make proto fmt`", file=sys.stderr)
            return


def _edit(path: Path, pattern: str, replacement: str, what: str) -> None:
    text = path.read_text()
    changed, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE | re.DOTALL)
    if count != 1:
        raise SystemExit(f"{path}: cannot find {what}; register the service there by hand")
    path.write_text(changed)


def default_ports(settings: Path) -> dict[str, int]:
    block = re.search(
        r"^DEFAULT_GRPC_PORTS\b[^=\n]*= \{(.*?)^\}", settings.read_text(), re.M | re.S
    )
    if block is None:
        raise SystemExit(f"{settings}: DEFAULT_GRPC_PORTS not found")
    return {name: int(port) for name, port in re.findall(r'"(\w+)": (\d+)', block.group(1))}


def register(service: str, root: Path) -> int:
    """Add the service to the platform's registries; returns its default gRPC port."""
    platform = root / "src" / "agora" / "platform"
    ports = default_ports(platform / "settings.py")
    if service in ports:  # reserved ahead (chain, support, admin)
        port = ports[service]
    else:
        port = max(ports.values()) + 1
        _edit(
            platform / "settings.py",
            r"^(DEFAULT_GRPC_PORTS\b[^=\n]*= \{.*?)^\}",
            rf'\g<1>    "{service}": {port},\n}}',
            "DEFAULT_GRPC_PORTS",
        )
    _edit(
        platform / "services.py",
        r"^(GRPC_SERVICES\b[^=\n]*= \(.*?)^\)",
        rf'\g<1>    GrpcService("{service}"),\n)',
        "GRPC_SERVICES",
    )
    register_import_contracts(service, root / "pyproject.toml")
    return port


def register_import_contracts(service: str, pyproject: Path) -> None:
    """Wherever an import contract lists the catalog (`agora.catalog`, `agora.catalog.domain`),
    list the new service alike: it is independent, unimported by the platform, its domain pure."""
    text = pyproject.read_text()
    head, marker, contracts = text.partition("[tool.importlinter]")
    if not marker:
        raise SystemExit(f"{pyproject}: no [tool.importlinter] section")
    added = re.sub(
        r'"agora\.catalog(\.domain)?"',
        lambda m: f'{m.group(0)}, "agora.{service}{m.group(1) or ""}"',
        contracts,
    )
    pyproject.write_text(head + marker + added)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="the service's name: package, schema, stream (`widgets`)")
    parser.add_argument("--item", help="the record it keeps (default: NAME without its 's')")
    parser.add_argument(
        "--root", type=Path, default=Path(__file__).resolve().parents[2], help="the checkout"
    )
    args = parser.parse_args(argv)
    service = check_name(args.name, "service name")
    item = check_name(args.item or default_item(service), "item name")
    root: Path = args.root.resolve()
    if (root / "src" / "agora" / service).exists():
        raise SystemExit(f"src/agora/{service} exists already")
    names = Names(service, item)
    written = render(names, root)
    port = register(service, root)
    generate_code(written, root)
    for path in written:
        print(f"created  {path.relative_to(root)}")
    print(f"registered {service} (port {port}) in src/agora/platform/services.py, settings.py")
    print("  and the import contracts of pyproject.toml; regenerated src/agora/_proto")
    print("next: make lint and")
    print(f"  .venv/bin/pytest tests/unit/{service} tests/integration/{service}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
