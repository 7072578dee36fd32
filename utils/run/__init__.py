"""A run: the folder it writes (`folder`), the notebooks it executes in order (`pipeline`, `python -m utils.run`),
the model it leaves behind (`model`) and its submission (`submission`)."""
