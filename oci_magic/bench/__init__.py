"""``oci bench``: measure what a user pays and gets. ``loop``: prompt-cache reuse, idle-time
prefill, generation speed, start-up (:mod:`.loop`, one module per part); ``humaneval``: HumanEval through the refinement loop
(:mod:`.humaneval`); ``notebooks``: notebook tasks through the real ``%%oci`` path
(:mod:`.notebooks`). Every bench drives the same engine :class:`~oci_magic.engine.session.Session`
as ``%%oci``. ``python -m oci_magic.bench.wheels`` fetches the real code models they use.
"""
