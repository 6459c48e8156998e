"""caselog core: storage, sync orchestration, timeline, drafts, checklists and the CLI.

companion calls scrapers; it never imports webui or fixtures (their CLI commands are
discovered through the ``caselog.commands`` entry-point group instead).
"""

__version__ = "0.1.0"
