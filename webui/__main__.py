"""``python -m webui [--port N] [--db PATH]``: the same as ``caselog serve``."""

from webui.cli import serve

serve(prog_name="python -m webui")
