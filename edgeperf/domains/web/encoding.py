"""The page as a network sees it: a fixed-size encoding of the DOM and the task, and the action space.

`read_page` turns MiniWoB++'s DOM tree (core.getDOMInfo) into a `Page`: the candidate elements in document
order (leaves and form controls; layout containers are left out), each with its text, value, placeholder,
id, classes, geometry, focus/tampered/checked state and its label (the text of its label, the sibling text
of a checkbox, or the nearest text to its left on its row, else just above it), plus the utterance and its
fields (miniwob's field extractor: ("username", "karrie"), ...).

`encode(page)` gives named float32 arrays (the ENCODING table says what each column is):

    elements      (N_ELEMENTS, ELEMENT_FEATURES)   one row per candidate element, zero rows past the page's
    element_mask  (N_ELEMENTS,)                    1 for a real element
    utterance     (UTTERANCE_BUCKETS,)             the utterance's tokens, hashed (multi-hot)
    field_mask    (N_FIELDS,)                      1 for each utterance field present (the first N_FIELDS)

and `flatten` concatenates them in that order into the env's observation (OBS_SIZE values); `unflatten`
splits one back. Tokens are lowercased runs of [a-z0-9]; a token's bucket is crc32(token) mod the bucket count
(stable across processes and machines, unlike Python's hash).

Action: a score per (element, action type), N_ELEMENTS x N_ACTION_TYPES values flattened element-major; the
env executes the argmax. Action type 0 clicks the element (miniwob CLICK_ELEMENT); type 1 + j focuses it and
types utterance field j's value (FOCUS_ELEMENT_AND_TYPE_FIELD), so typed text always comes from the
utterance. The argmax on a padded element, or on a field the utterance lacks, is a wasted step (nothing
happens); the network masks both with -1e4 (finite: a NaN/inf check must still mean a broken policy). An action
whose scores are all equal (all zeros: the action held while a late one is on its way, see validation/latency.py)
expresses no preference and does nothing.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

import numpy as np

N_ELEMENTS = 32
N_FIELDS = 4
N_ACTION_TYPES = 1 + N_FIELDS
TEXT_BUCKETS = 32
ATTR_BUCKETS = 16
UTTERANCE_BUCKETS = 64
TAGS = (
    "t", "div", "span", "p", "label", "button", "a", "li", "th", "td", "h1", "h2", "h3",
    "input_text", "input_password", "input_checkbox", "input_radio", "input_number", "textarea", "select",
)  # fmt: skip
TYPEABLE = {"input_text", "input_password", "input_number", "input_email", "input_search", "input_tel", "textarea"}
# Geometry is in task-area units: MiniWoB++ tasks draw in a 160 x 210 px area (the utterance on top).
TASK_W, TASK_H = 160.0, 210.0

# Column blocks of one element row, in order: (name, width).
ENCODING = (
    ("tag", len(TAGS) + 1),  # one-hot; the last column is "another tag"
    ("text_tokens", TEXT_BUCKETS),  # text and value, hashed
    ("attr_tokens", ATTR_BUCKETS),  # placeholder, id and classes, hashed
    ("geometry", 4),  # left / 160, top / 210, width / 160, height / 210 (clipped to [-1, 5])
    ("state", 6),  # focused, tampered, checked, has a value, typeable, label is set
    ("utterance_overlap", 2),  # share of the text's tokens in the utterance; any text token in it
    # per field j < N_FIELDS: text == value_j; value == value_j; label names key_j; text shares a token with value_j
    ("field_match", 4 * N_FIELDS),
    ("any_field", 2),  # text or label equals some field's value; text or label shares a token with one
)
ELEMENT_FEATURES = sum(w for _, w in ENCODING)
ARRAYS = (
    ("elements", (N_ELEMENTS, ELEMENT_FEATURES)),
    ("element_mask", (N_ELEMENTS,)),
    ("utterance", (UTTERANCE_BUCKETS,)),
    ("field_mask", (N_FIELDS,)),
)
OBS_SIZE = sum(int(np.prod(s)) for _, s in ARRAYS)
ACTION_SIZE = N_ELEMENTS * N_ACTION_TYPES
MASKED = -1e4


def column(name: str) -> int:
    """The first column of a block of ENCODING."""
    start = 0
    for n, w in ENCODING:
        if n == name:
            return start
        start += w
    raise KeyError(name)


_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str | None) -> list[str]:
    return _TOKEN.findall((text or "").lower())


def norm(text) -> str:
    return " ".join(tokens(str(text))) if text is not None else ""


def bucket(token: str, n: int) -> int:
    return zlib.crc32(token.encode()) % n


@dataclass
class Element:
    ref: int
    tag: str
    text: str = ""
    value: str = ""
    placeholder: str = ""
    id: str = ""
    classes: str = ""
    left: float = 0.0
    top: float = 0.0
    width: float = 0.0
    height: float = 0.0
    focused: bool = False
    tampered: bool = False
    checked: bool = False
    label: str = ""
    parent: int = 0


@dataclass
class Page:
    utterance: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)
    elements: list[Element] = field(default_factory=list)  # all candidates, in document order (may exceed N)


def read_page(root, utterance: str, fields, placeholders: dict | None = None) -> Page:
    """A Page from miniwob's DOMElement tree (see the module docstring for what is kept)."""
    placeholders = placeholders or {}
    out: list[Element] = []
    siblings: dict[int, list] = {}
    for el in root.subtree_elements:
        if el.parent is None:
            continue  # the body
        tag = el.tag
        if not (el.is_leaf or tag.startswith("input") or tag in ("textarea", "select")):
            continue
        value = el.value
        checked = isinstance(value, bool) and value
        e = Element(
            ref=el.ref,
            tag=tag,
            text=el.text or "",
            value="" if isinstance(value, bool) or value is None else str(value),
            placeholder=str(placeholders.get(str(el.ref), "")),
            id=el.id or "",
            classes=el.classes if isinstance(el.classes, str) else "",
            left=float(el.left),
            top=float(el.top),
            width=float(el.width),
            height=float(el.height),
            focused=bool(el.focused),
            tampered=bool(el.tampered),
            checked=checked,
            parent=el.parent.ref,
        )
        out.append(e)
        siblings.setdefault(e.parent, []).append(e)
    texts = [e for e in out if e.text.strip()]
    for e in out:
        if e.text.strip():
            continue
        e.label = _label(e, siblings.get(e.parent, []), texts)
    return Page(utterance=utterance, fields=[(str(k), str(v)) for k, v in fields], elements=out)


def _label(e: Element, siblings: list[Element], texts: list[Element]) -> str:
    near = [s for s in siblings if s is not e and s.text.strip()]
    if near:
        return " ".join(s.text for s in near)
    mid = e.top + e.height / 2
    left = [t for t in texts if t.top <= mid <= t.top + t.height and t.left + t.width <= e.left + 1]
    if left:
        return max(left, key=lambda t: t.left + t.width).text
    above = [t for t in texts if t.top + t.height <= e.top + 1 and e.top - (t.top + t.height) < 30]
    if above:
        return min(above, key=lambda t: (e.top - t.top - t.height, abs(t.left - e.left))).text
    return ""


def encode(page: Page) -> dict[str, np.ndarray]:
    """The named arrays of the module docstring for one page."""
    rows = np.zeros((N_ELEMENTS, ELEMENT_FEATURES), np.float32)
    mask = np.zeros(N_ELEMENTS, np.float32)
    utt = np.zeros(UTTERANCE_BUCKETS, np.float32)
    utt_tokens = set(tokens(page.utterance))
    for t in utt_tokens:
        utt[bucket(t, UTTERANCE_BUCKETS)] = 1.0
    fmask = np.zeros(N_FIELDS, np.float32)
    fmask[: min(len(page.fields), N_FIELDS)] = 1.0
    values = [norm(v) for _, v in page.fields]
    value_tokens = [set(tokens(v)) for _, v in page.fields]
    key_tokens = [set(tokens(k)) for k, _ in page.fields]
    c_tag, c_text, c_attr = column("tag"), column("text_tokens"), column("attr_tokens")
    c_geo, c_state, c_utt = column("geometry"), column("state"), column("utterance_overlap")
    c_field, c_any = column("field_match"), column("any_field")
    for i, e in enumerate(page.elements[:N_ELEMENTS]):
        r = rows[i]
        mask[i] = 1.0
        r[c_tag + (TAGS.index(e.tag) if e.tag in TAGS else len(TAGS))] = 1.0
        text_t = tokens(e.text) + tokens(e.value)
        for t in text_t:
            r[c_text + bucket(t, TEXT_BUCKETS)] = 1.0
        for t in tokens(e.placeholder) + tokens(e.id) + tokens(e.classes):
            r[c_attr + bucket(t, ATTR_BUCKETS)] = 1.0
        r[c_geo : c_geo + 4] = np.clip(
            [e.left / TASK_W, e.top / TASK_H, e.width / TASK_W, e.height / TASK_H], -1.0, 5.0
        )
        r[c_state : c_state + 6] = [e.focused, e.tampered, e.checked, bool(e.value), e.tag in TYPEABLE, bool(e.label)]
        own = set(tokens(e.text))
        if own:
            inside = len(own & utt_tokens)
            r[c_utt : c_utt + 2] = [inside / len(own), inside > 0]
        text_n, value_n, label_n = norm(e.text), norm(e.value), norm(e.label)
        label_t = set(tokens(e.label))
        for j in range(min(len(page.fields), N_FIELDS)):
            r[c_field + 4 * j : c_field + 4 * j + 4] = [
                bool(text_n) and text_n == values[j],
                bool(value_n) and value_n == values[j],
                bool(key_tokens[j]) and key_tokens[j] <= label_t,
                bool(own & value_tokens[j]),
            ]
        r[c_any] = any(v and v in (text_n, label_n) for v in values)
        r[c_any + 1] = any((own | label_t) & vt for vt in value_tokens)
    return {"elements": rows, "element_mask": mask, "utterance": utt, "field_mask": fmask}


def flatten(arrays: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([arrays[name].reshape(-1) for name, _ in ARRAYS]).astype(np.float32)


def unflatten(obs: np.ndarray) -> dict[str, np.ndarray]:
    """The named arrays of one flat observation (or a batch: leading dimensions are kept)."""
    obs = np.asarray(obs)
    out, at = {}, 0
    for name, shape in ARRAYS:
        n = int(np.prod(shape))
        out[name] = obs[..., at : at + n].reshape(*obs.shape[:-1], *shape)
        at += n
    return out


def decode(action) -> tuple[int, int]:
    """(element index, action type) of the best-scoring entry of an action."""
    k = int(np.argmax(np.asarray(action, dtype=np.float64).reshape(-1)))
    return divmod(k, N_ACTION_TYPES)


def one_hot(element: int, action_type: int) -> np.ndarray:
    """The action that picks (element, action type): 1 there, 0 elsewhere (the expert's answers)."""
    a = np.zeros(ACTION_SIZE, np.float32)
    a[element * N_ACTION_TYPES + action_type] = 1.0
    return a
