"""The IPython front end: the ``%%oci``/``%oci`` magics and the views that listen to a run (the
live status line, the round panel, plain text)."""
