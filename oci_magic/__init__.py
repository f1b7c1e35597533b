"""oci_magic: ``%%oci``, a local, offline code interpreter for Jupyter.

``%load_ext oci_magic`` registers the magics and nothing else: llama_cpp is imported and the
model loaded on the first ``%%oci``.
"""
__version__ = "0.1.0"


def load_ipython_extension(ipython):
    from .ipython.magics import OciMagics

    magics = OciMagics(ipython)
    ipython.register_magics(magics)
    ipython.configurables.append(magics)  # so `%config OciMagics.rounds = 5` reaches the live instance
    ipython.events.register("pre_run_cell", magics.cell_started)
    ipython.events.register("post_run_cell", magics.cell_finished)


def unload_ipython_extension(ipython):
    magics = ipython.magics_manager.registry.get("OciMagics")
    if magics is not None:
        magics.session.close()
        if magics in ipython.configurables:
            ipython.configurables.remove(magics)
        for event, hook in (("pre_run_cell", magics.cell_started), ("post_run_cell", magics.cell_finished)):
            try:
                ipython.events.unregister(event, hook)
            except ValueError:
                pass
    ipython.magics_manager.registry.pop("OciMagics", None)
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("oci", None)
