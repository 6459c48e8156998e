"""The library of Seller Central case topics a new case is prepared from: what each is
about (its category as the case log shows it), what Amazon needs to decide it, the
evidence to gather, and the template of the case's description.

Topics are TOML files, like the checklists: the built-in ones in
``companion/newcase/data/topics/``, the person's own in ``CASELOG_HOME/topics/*.toml``.
A user file with a new ``id`` adds a topic; with a built-in ``id`` it replaces that
topic, or, with ``extend = true``, changes only the fields it gives (evidence items by
their ``id``; ``needs``, ``keywords`` and ``categories`` are added to). The format::

    id = "fba_inbound_shortage"       # letters, digits, - or _
    title = "Inbound shipment received with units missing"
    category = "FBA Inventory and Reimbursement"   # the case log's category
    categories = ["fba", "reimbursement"]   # stored case categories on the same topic
                                            # (case-insensitive parts; default: category)
    keywords = ["inbound", "shipment id"]   # words in a case's subject or first message
                                            # that make it the same topic
    subject = "Inbound shipment {{ ph('shipment ID') }} received short"   # Jinja
    needs = ["The shipment ID and ...", ...]   # what Amazon needs to decide it
    source = "Seller Central Help: ..."        # where Amazon says so (shown as is)
    template = '''...'''                       # the description, Jinja in the sandbox
    [[evidence]]
    id = "pod"
    text = "Carrier's proof of delivery"
    help = "optional hint"

A file that cannot be used is skipped with a message naming it and the problem (the
page shows it); the other topics stay usable, so a typo never takes the page down.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import jinja2

from companion.folders import home
from companion.replies import tomlfiles
from companion.replies.sandbox import environment

BUILTIN_DIR = Path(__file__).parent / "data" / "topics"
ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LISTS = ("needs", "keywords", "categories")
TEXTS = ("title", "category", "subject", "source", "template")
REQUIRED = ("title", "category", "template")


class TopicError(ValueError):
    """A topic file that cannot be used, or an unknown topic; the message names the file
    (or the id) and the problem."""


def user_dir() -> Path:
    return home() / "topics"


def _strings(path: Path, data: dict, key: str) -> list[str] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TopicError(f"{path.name}: {key} must be a list of strings")
    return [v.strip() for v in value if v.strip()]


def _evidence(path: Path, data: dict) -> list[dict] | None:
    items = data.get("evidence")
    if items is None:
        return None
    if not isinstance(items, list):
        raise TopicError(f"{path.name}: [[evidence]] must be a list of tables")
    out = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) \
                or not item["text"].strip():
            raise TopicError(f"{path.name}: evidence item {n} needs a text")
        iid = str(item.get("id") or f"item{n}")
        if not ID.match(iid):
            raise TopicError(f"{path.name}: evidence item {n}: id must be letters, "
                             "digits, - or _")
        out.append({"id": iid, "text": item["text"].strip(),
                     "help": str(item.get("help") or "").strip()})
    return out


def _check_template(path: Path, field: str, source: str) -> None:
    """A template that does not even parse is the file's problem, said at load time
    rather than when someone prepares a case from it."""
    try:
        environment().parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TopicError(f"{path.name}: {field}, line {exc.lineno}: {exc.message}") from exc


def read_file(path: Path) -> dict:
    """One topic file as a partial topic (only the fields it gives, plus ``id``,
    ``extend`` and ``file``). Raises TopicError naming the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TopicError(f"{path.name}: cannot read topic file: {exc}") from exc
    tid = data.get("id", path.stem)
    if not isinstance(tid, str) or not ID.match(tid):
        raise TopicError(f"{path.name}: id must be letters, digits, - or _")
    out: dict = {"id": tid, "extend": bool(data.get("extend")), "file": str(path)}
    for key in TEXTS:
        if key in data:
            if not isinstance(data[key], str):
                raise TopicError(f"{path.name}: {key} must be a string")
            out[key] = data[key].strip() if key != "template" else data[key]
    for key in LISTS:
        found = _strings(path, data, key)
        if found is not None:
            out[key] = found
    found = _evidence(path, data)
    if found is not None:
        out["evidence"] = found
    for field in ("template", "subject"):
        if field in out:
            _check_template(path, field, out[field])
    return out


def _complete(path_name: str, part: dict) -> dict:
    """A whole topic from a file that stands alone (every required field given)."""
    missing = [k for k in REQUIRED if not part.get(k)]
    if missing:
        raise TopicError(f"{path_name}: a topic needs {', '.join(missing)} "
                         "(or extend = true to change a built-in one)")
    topic = {"subject": "", "source": "", "needs": [], "keywords": [], "evidence": [],
             **part}
    topic["categories"] = [c.lower() for c in part.get("categories") or [part["category"]]]
    topic["keywords"] = [k.lower() for k in topic["keywords"]]
    return topic


def _extended(path_name: str, base: dict | None, part: dict) -> dict:
    if base is None:
        raise TopicError(f"{path_name}: extend = true, but no topic has the id "
                         f"{part['id']!r} to extend")
    topic = {**base, **{k: v for k, v in part.items() if k in TEXTS}, "file": part["file"]}
    for key in LISTS:
        extra = part.get(key) or []
        if key != "needs":
            extra = [v.lower() for v in extra]
        topic[key] = list(dict.fromkeys(base[key] + extra))
    items = {i["id"]: i for i in base["evidence"]}
    items.update({i["id"]: i for i in part.get("evidence") or []})
    topic["evidence"] = list(items.values())
    return topic


def load_library(user: Path | None = None, errors: list[str] | None = None) -> dict[str, dict]:
    """Built-in topics overlaid with the user's, keyed by id. A broken user file raises
    TopicError, or, when ``errors`` is given, is skipped and reported there."""
    lib: dict[str, dict] = {}
    for path in sorted(BUILTIN_DIR.glob("*.toml")):
        topic = _complete(path.name, read_file(path))
        lib[topic["id"]] = {**topic, "builtin": True}
    seen: dict[str, str] = {}
    for path in sorted(user.glob("*.toml")) if user is not None and user.is_dir() else []:
        try:
            part = read_file(path)
            if part["id"] in seen:
                raise TopicError(f"{path.name}: the topic id {part['id']!r} is already "
                                 f"defined in {seen[part['id']]}")
            topic = (_extended(path.name, lib.get(part["id"]), part) if part["extend"]
                     else _complete(path.name, part))
        except TopicError as exc:
            if errors is None:
                raise
            errors.append(str(exc))
            continue
        seen[part["id"]] = path.name
        lib[topic["id"]] = {**topic, "builtin": False}
    return lib


_WATCHED = tomlfiles.Watched(BUILTIN_DIR, user_dir, load_library)


def library_state() -> tuple[tuple | None, dict[str, dict], list[str]]:
    """(version, library, problems), read again only when a file changed
    (``tomlfiles.Watched``)."""
    return _WATCHED.state()


def library(errors: list[str] | None = None) -> dict[str, dict]:
    """Every usable topic; the problems of broken user files go to ``errors``."""
    _, lib, problems = library_state()
    if errors is not None:
        errors.extend(problems)
    return lib


def get(topic_id: str) -> dict:
    topic = library().get(topic_id or "")
    if topic is None:
        raise TopicError(f"no topic {topic_id!r}; choose one from the list")
    return topic


def grouped(lib: dict[str, dict]) -> list[dict]:
    """Topics under their category, categories and topics by name, for the chooser."""
    groups: dict[str, list] = {}
    for topic in lib.values():
        groups.setdefault(topic["category"], []).append(topic)
    return [{"category": cat, "topics": sorted(ts, key=lambda t: t["title"].lower())}
            for cat, ts in sorted(groups.items(), key=lambda kv: kv[0].lower())]


def same_category(topic: dict, category: str | None) -> bool:
    """A stored case's category is on this topic (one of the topic's categories is a
    case-insensitive part of it)."""
    cat = (category or "").lower()
    return bool(cat) and any(c and c in cat for c in topic["categories"])


def keyword_in(topic: dict, text: str | None) -> str | None:
    """The first of the topic's keywords the text holds at a word start (``reimburse``
    finds "reimbursement"), or None."""
    low = (text or "").lower()
    for kw in topic["keywords"]:
        if re.search(r"(?<![0-9a-z])" + re.escape(kw), low):
            return kw
    return None
