"""Import rules of docs/architecture.md, checked on the source (beside the route-guard test).

- The kernel (engage.platform, engage.http, engage.realtime, engage.config) imports no domain.
- Domain services import neither Litestar nor arq: only doors do (http, pages, ws modules, and auth's
  middleware).
- Domains meet only through each other's public package (`commerce.orders`), its declared events
  (`commerce.orders.events`) or its tables (`commerce.orders.models`); a door never imports another area's
  door. A kernel door (the socket endpoint) may take the assembly's typed `Services`.
- Commerce imports no engagement domain (chat, flash sales, push, ...) and no bots.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT

KERNEL = ("engage.platform", "engage.http", "engage.realtime", "engage.config")
# the assembly knows every area; workers are doors (jobs and sinks) of several domains
ASSEMBLY = (
    "engage.app",
    "engage.cli",
    "engage.wiring",
    "engage.services",
    "engage.demo",
    "engage.schema",
    "engage.migrations",
    "engage.system",
    "bots.wiring",
    "bots.cli",
    "bots.evaluation",
    "workers",
)
DOMAINS = (
    "commerce.catalog",
    "commerce.inventory",
    "commerce.cart",
    "commerce.checkout",
    "commerce.orders",
    "commerce.payments",
    "commerce.pricing",
    "commerce.returns",
    "commerce.shopper_panel",
    "engage.auth",
    "engage.audit",
    "engage.chat",
    "engage.flash_sales",
    "engage.announcements",
    "engage.push",
    "engage.alerts",
    "engage.loyalty",
    "engage.leaderboards",
    "engage.analytics",
    "engage.customers",
    "bots.search",
    "bots.support",
    "bots.embeddings",
)
ENGAGEMENT = (*(d for d in DOMAINS if d.startswith("engage.") and d != "engage.auth"), "bots")
DOOR_MODULES = {"http", "pages", "ws", "routes"}
AUTH_DOORS = {"engage.auth.middleware", "engage.audit.middleware"}
PUBLIC_MODULES = {"events", "models"}
TRANSPORT = ("litestar", "arq")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # what it imports, fully qualified as far as the source says


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> list[Import]:
    found = []
    for top in ("engage", "commerce", "bots", "workers"):
        for path in (ROOT / top).rglob("*.py"):
            module = _module_name(path)
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    found += [Import(module, alias.name) for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found += [Import(module, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _under(name: str, prefixes: tuple[str, ...] | set[str]) -> str | None:
    return next((p for p in prefixes if name == p or name.startswith(p + ".")), None)


def _is_door(module: str) -> bool:
    """A door module (`engage.chat.ws`) or a module of a door package (`engage.chat.http.console`)."""
    area = _under(module, DOMAINS)
    inside = module[len(area) + 1 :].split(".") if area and module != area else [module.rsplit(".", 1)[-1]]
    return any(part in DOOR_MODULES for part in inside) or module in AUTH_DOORS


IMPORTS = _imports()


def test_the_kernel_imports_no_domain() -> None:
    wrong = [
        i
        for i in IMPORTS
        if _under(i.module, KERNEL)
        and (_under(i.target, DOMAINS) or _under(i.target, ASSEMBLY))
        and not (_is_door(i.module) and _under(i.target, ("engage.services",)))
    ]
    assert not wrong, "\n".join(f"{i.module} imports {i.target}" for i in wrong)


def test_domain_services_import_neither_litestar_nor_arq() -> None:
    wrong = [
        i
        for i in IMPORTS
        if _under(i.module, DOMAINS) and not _is_door(i.module) and _under(i.target, TRANSPORT)
    ]
    assert not wrong, "\n".join(f"{i.module} imports {i.target}" for i in wrong)


def _public(target: str, domain: str) -> bool:
    """`domain` itself (its __init__), a name from it, its declared events or its tables."""
    rest = target[len(domain) :].lstrip(".")
    head = rest.split(".", 1)[0]
    package = ROOT.joinpath(*domain.split("."))
    if not rest or head in PUBLIC_MODULES or not package.is_dir():
        return True
    # `from commerce.orders import recent_orders`: a name of the package, not a submodule
    return package.is_dir() and not (package / f"{head}.py").exists() and not (package / head).is_dir()


def test_domains_meet_only_through_public_packages() -> None:
    wrong = []
    for i in IMPORTS:
        mine, theirs = _under(i.module, DOMAINS), _under(i.target, DOMAINS)
        if mine is None or theirs is None or mine == theirs:
            continue
        if not _public(i.target, theirs):
            wrong.append(i)
    assert not wrong, "\n".join(f"{i.module} imports {i.target}" for i in wrong)


def test_a_door_never_imports_another_areas_door() -> None:
    wrong = [
        i
        for i in IMPORTS
        if _is_door(i.module)
        and (target_area := _under(i.target, DOMAINS)) is not None
        and target_area != _under(i.module, DOMAINS)
        and i.target.split(".")[len(target_area.split(".")) :][:1] in [[door] for door in DOOR_MODULES]
    ]
    assert not wrong, "\n".join(f"{i.module} imports {i.target}" for i in wrong)


def test_commerce_imports_no_engagement_domain() -> None:
    wrong = [i for i in IMPORTS if i.module.startswith("commerce.") and _under(i.target, ENGAGEMENT)]
    assert not wrong, "\n".join(f"{i.module} imports {i.target}" for i in wrong)


def test_every_area_with_doors_hands_its_routes_to_the_app() -> None:
    from engage.app import AREAS

    assembled = {area.__name__.rsplit(".", 1)[0] for area in AREAS}
    with_doors = {
        _module_name(path.parent / "__init__.py")
        for top in ("engage", "commerce", "bots")
        for name in ("http.py", "pages.py")
        for path in (ROOT / top).rglob(name)
        if _under(_module_name(path.parent / "__init__.py"), DOMAINS)
    }
    assert with_doors <= assembled, (
        f"areas whose doors the app never mounts: {sorted(with_doors - assembled)}"
    )


def test_every_package_imports_first_without_a_cycle() -> None:
    """Whichever package a process imports first (a CLI command, a worker, a script), it imports: an
    import cycle between domains shows only for some entry points."""
    import subprocess
    import sys

    packages = sorted(
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("engage", "commerce", "bots", "workers")
        for init in (ROOT / top).rglob("__init__.py")
        if "migrations" not in init.parts
    )
    check = (
        "import importlib, sys\n"
        "ours = ('engage', 'commerce', 'bots', 'workers')\n"
        "failed = []\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m.split('.')[0] in ours]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError as exc:\n"
        "        failed.append(f'{name}: {exc}')\n"
        "print('\\n'.join(failed))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", check, *packages], cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    assert run.returncode == 0 and not run.stdout.strip(), run.stdout + run.stderr
