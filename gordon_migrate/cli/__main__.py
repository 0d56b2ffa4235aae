"""``python -m gordon_migrate.cli``: the console entry point (tests and the Dockerfile use it)."""

from gordon_migrate.cli import entry

if __name__ == "__main__":  # pkgutil.walk_packages imports this module too: run only as -m
    entry()
