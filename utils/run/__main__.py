"""`python -m utils.run`: run the numbered notebooks into a new run folder (utils.run.pipeline)."""

import sys

from .pipeline import main

sys.exit(main())
