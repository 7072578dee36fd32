"""Using a finished run: score new light curves (`predict`, `python -m utils.serve`) and the candidate report a
person reads before asking for a spectrum (`candidates`)."""
