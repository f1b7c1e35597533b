"""``oci run NOTEBOOK``: execute a notebook headless in a fresh kernel and write it back with each
``%%oci`` cell's rounds as real code cells below it.

The kernel is configured through traitlets config on its command line (no hidden cells): the
extension, ``OciMagics.round_markers`` (so each round's outputs can be told apart), ``--rounds`` and
``--replay``. ``weave`` turns the executed notebook into the output one; it is plain nbformat work.
"""
