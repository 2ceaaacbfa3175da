import sys

from app.ui.main import run

sys.exit(run())
