"""The bundle's one entry point (installer/umws.spec): `umws` is the command line, `umws-gui` the workstation window.

Both executables run this script; the name they were started as decides, so one analysis serves both (on Windows
the GUI one is built without a console window).
"""
import sys
from pathlib import Path


def main() -> int:
    if Path(sys.executable).stem.lower().endswith("-gui"):
        from app.ui.main import run

        return run()
    from app.cli import main as cli

    return cli()


if __name__ == "__main__":
    sys.exit(main())
