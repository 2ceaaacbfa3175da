"""`python -m app` runs the umws command line."""
import sys

from app.cli import main

sys.exit(main())
