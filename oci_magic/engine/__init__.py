"""The engine: a run's settings, the prompt, the generate-run-fix loop, its events and records,
and the :class:`~oci_magic.engine.session.Session` that owns one kernel's state. Plain Python:
it imports neither IPython nor llama_cpp."""
