"""Templates and static files of the storefront, the agent console and the marketing console."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
# browser libraries from npm (web/package.json), installed by `make install`, served at /static/lib
LIBRARIES = ROOT / "node_modules"
