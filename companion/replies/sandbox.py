"""Rendering draft templates, which are untrusted: a Jinja sandbox with bounds on time
and output, a child process with a memory cap for a person's own templates, and a memo
so that the same template with the same inputs is rendered once.

Built-in templates (``companion/replies/data/templates``) are the project's own and
render in-process. A person's template (``CASELOG_HOME/templates``) or template text
being tried out renders in a child process: the sandbox stops attribute tricks and the
tracer stops endless loops, but a single call such as ``'%999999999d' % 1`` allocates
gigabytes before any check can run, so the child runs under an address-space cap where
the platform has one (Linux; elsewhere the child's time limit ends it).

A page shows a draft on every view, and a slow template would cost its full time (and a
child's memory) on each: results, errors included, are remembered per (template files,
template, inputs) and reused until one of them changes, and at most one child renders
at a time in this process; views that need the same result wait for it instead of
starting their own, and views beyond ``MAX_WAITING`` are told to try again.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from companion.folders import home

try:  # POSIX only: Windows has no resource module, so the child there has the time limit only
    import resource
except ImportError:
    resource = None  # type: ignore[assignment]

BUILTIN_TEMPLATES = Path(__file__).parent / "data" / "templates"
RENDER_SECONDS = 2.0
MAX_OUTPUT = 100_000
CHILD_MEMORY = 768 * 1024 * 1024
CHILD_SECONDS = RENDER_SECONDS + 8.0  # the child's own start-up, then the render budget
MAX_WAITING = 16                      # views queued behind the one child at most
QUEUE_SECONDS = 4 * CHILD_SECONDS     # how long a view waits for its turn
MEMO_SIZE = 256


class DraftError(ValueError):
    """A refused draft action (placeholders left, wrong state); the message says why."""


class DraftTemplateError(DraftError):
    """A template that cannot be rendered safely; names the template and the problem."""


class _Sandbox(SandboxedEnvironment):
    """The stock sandbox (no private attributes, bounded ``range``) plus bounds on
    ``*`` and ``**`` so one expression cannot allocate gigabytes."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            raise SecurityError("exponent too large")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) \
                        and len(seq) * n > MAX_OUTPUT:
                    raise SecurityError("repetition too large")
        return super().call_binop(context, operator, left, right)


def template_dirs() -> list[Path]:
    return [home() / "templates", BUILTIN_TEMPLATES]


def environment(dirs: list[str] | None = None) -> _Sandbox:
    return _Sandbox(
        loader=jinja2.FileSystemLoader(dirs or [str(p) for p in template_dirs()]),
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True,
    )


def ph(text: str) -> str:
    """``ph("text")`` in a template writes the placeholder ``[text]``."""
    return "[" + str(text).replace("[", "(").replace("]", ")") + "]"


def is_users(name: str) -> bool:
    """True when the person's template folder holds this template (it overrides ours)."""
    return (home() / "templates" / name).is_file()


# --- rendering under the bounds ---------------------------------------------------------

def _generate(tmpl, ctx: dict, name: str) -> str:
    """Run the template under a wall-clock budget enforced by a trace function (an
    endless loop raises inside the loop) and a cap on output size."""
    deadline = time.monotonic() + RENDER_SECONDS

    def tracer(frame, event, arg):
        if time.monotonic() > deadline:
            raise DraftTemplateError(
                f"template {name}: took longer than {RENDER_SECONDS:g} s (an endless loop?)")
        return tracer

    out: list[str] = []
    size = 0
    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        for chunk in tmpl.generate(**ctx):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise DraftTemplateError(
                    f"template {name}: output longer than {MAX_OUTPUT} characters")
            out.append(chunk)
    finally:
        sys.settrace(old)
    return "".join(out)


def render_here(env: _Sandbox, name: str, ctx: dict, source: str | None = None) -> str:
    """Render in this process; every failure of the template becomes a
    DraftTemplateError that names it."""
    try:
        tmpl = env.from_string(source) if source is not None else env.get_template(name)
        return _generate(tmpl, ctx, name)
    except DraftTemplateError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        raise DraftTemplateError(f"template {name}, line {exc.lineno}: {exc.message}") from exc
    except SecurityError as exc:
        raise DraftTemplateError(f"template {name}: not allowed: {exc}") from exc
    except jinja2.UndefinedError as exc:
        raise DraftTemplateError(f"template {name}: unknown name: {exc.message}") from exc
    except jinja2.TemplateNotFound as exc:
        raise DraftTemplateError(f"template {name}: cannot find template {exc.name!r}") from exc
    except RecursionError as exc:
        raise DraftTemplateError(f"template {name}: recursion too deep") from exc
    except MemoryError as exc:
        raise DraftTemplateError(f"template {name}: used too much memory") from exc
    except Exception as exc:  # any other failure of user-supplied template code
        raise DraftTemplateError(f"template {name}: {type(exc).__name__}: {exc}") from exc


def cap_memory() -> bool:
    """Cap this process's address space where the platform offers it (Linux); whether
    it did. Windows has no ``resource`` and macOS refuses ``RLIMIT_AS`` (ValueError), so
    there the child's bounds are the sandbox, the tracer and the parent's time limit."""
    if resource is None or sys.platform == "win32":
        return False
    try:
        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    except (ValueError, OSError):
        return False
    return True


def _child_main() -> None:
    """Entry point of the rendering child: JSON job on stdin, JSON answer on stdout."""
    cap_memory()
    job = json.loads(sys.stdin.read())
    try:
        body = render_here(environment(job["dirs"]), job["name"], {**job["ctx"], "ph": ph},
                           source=job["source"])
        answer = {"body": body}
    except DraftTemplateError as exc:
        answer = {"error": str(exc)}
    except MemoryError:
        answer = {"error": f"template {job['name']}: used too much memory"}
    sys.stdout.write(json.dumps(answer))


def _run_child(name: str, ctx: dict, source: str | None) -> dict:
    """One render in a child process: ``{"body"}`` or ``{"error"}``."""
    job = json.dumps({"dirs": [str(p) for p in template_dirs()], "name": name,
                      "source": source, "ctx": _plain(ctx)})
    try:
        proc = subprocess.run(
            [sys.executable, "-c", f"from {__name__} import _child_main; _child_main()"],
            input=job, capture_output=True, text=True, timeout=CHILD_SECONDS,
            cwd=str(Path(__file__).resolve().parents[2]))
    except subprocess.TimeoutExpired:
        return {"error": f"template {name}: took longer than {RENDER_SECONDS:g} s "
                         "(an endless loop?)"}
    try:
        answer = json.loads(proc.stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not ({"body", "error"} & answer.keys()):
        return {"error": f"template {name}: used too much memory or crashed"}
    return answer


# --- once per inputs ------------------------------------------------------------------

_MEMO: OrderedDict[str, dict] = OrderedDict()
_MEMO_LOCK = threading.Lock()
_CHILD = threading.Lock()      # one isolated render at a time in this process
_QUEUE = threading.Semaphore(MAX_WAITING + 1)


def _plain(ctx: dict) -> dict:
    return {k: v for k, v in ctx.items() if k != "ph"}


def _files_version() -> list:
    """What the templates are made of: the person's files by content (an edit within
    the file system's timestamp granularity still counts), ours by size and time."""
    out = []
    user = home() / "templates"
    if user.is_dir():
        for p in sorted(user.rglob("*")):
            if p.is_file():
                out.append((str(p), hashlib.sha1(p.read_bytes()).hexdigest()))
    for p in sorted(BUILTIN_TEMPLATES.glob("*.j2")):
        st = p.stat()
        out.append((p.name, st.st_size, st.st_mtime_ns))
    return out


def _key(name: str, ctx: dict, source: str | None, isolated: bool) -> str:
    job = {"name": name, "source": source, "ctx": _plain(ctx), "isolated": isolated,
           "files": _files_version()}
    return hashlib.sha256(json.dumps(job, sort_keys=True, default=str).encode()).hexdigest()


def _remembered(key: str) -> dict | None:
    with _MEMO_LOCK:
        hit = _MEMO.get(key)
        if hit is not None:
            _MEMO.move_to_end(key)
        return hit


def _remember(key: str, answer: dict) -> None:
    with _MEMO_LOCK:
        _MEMO[key] = answer
        while len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)


def _isolated(key: str, name: str, ctx: dict, source: str | None) -> dict:
    """The child's answer, rendering only when nobody did while this view waited."""
    if not _QUEUE.acquire(blocking=False):
        return {"busy": f"template {name}: caselog is busy rendering other drafts; "
                        "reload the page in a moment"}
    try:
        if not _CHILD.acquire(timeout=QUEUE_SECONDS):
            return {"busy": f"template {name}: waited too long for other drafts to "
                            "render; reload the page in a moment"}
        try:
            answer = _remembered(key)
            if answer is None:
                answer = _run_child(name, ctx, source)
                _remember(key, answer)
            return answer
        finally:
            _CHILD.release()
    finally:
        _QUEUE.release()


def render(name: str, ctx: dict, source: str | None = None, isolated: bool = False) -> str:
    """The template's text for ``ctx`` (``source``: template text instead of a file),
    rendered once per inputs; ``isolated`` renders in the capped child. Raises
    DraftTemplateError, the same one every time for the same inputs."""
    key = _key(name, ctx, source, isolated)
    answer = _remembered(key)
    if answer is None:
        if isolated:
            answer = _isolated(key, name, ctx, source)
        else:
            try:
                answer = {"body": render_here(environment(), name, ctx, source)}
            except DraftTemplateError as exc:
                answer = {"error": str(exc)}
            _remember(key, answer)
    if "body" in answer:
        return answer["body"]
    raise DraftTemplateError(answer.get("error") or answer["busy"])
