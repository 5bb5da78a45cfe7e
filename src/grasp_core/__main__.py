"""``python -m grasp_core`` runs the CLI."""

import sys

from grasp_core.cli import main

sys.exit(main())
