"""`python -m utils.serve`: score new light curves with a finished run folder (utils.serve.predict)."""

import sys

from .predict import main

sys.exit(main())
