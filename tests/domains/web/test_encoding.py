"""The page encoding on hand-made pages (no browser): each block of a row says what the docs say it says."""

from __future__ import annotations

import numpy as np

from edgeperf.domains.web import encoding as enc
from edgeperf.domains.web.encoding import Element, Page


def _login_page() -> Page:
    els = [
        Element(ref=6, tag="label", text="Username", top=62, height=11, left=2, width=48, parent=5),
        Element(ref=7, tag="input_text", id="username", top=78, height=21, left=7, width=128, parent=5),
        Element(ref=9, tag="label", text="Password", top=114, height=11, left=2, width=47, parent=8),
        Element(ref=10, tag="input_password", value="AU", top=130, height=21, left=7, width=108, parent=8,
                focused=True),
        Element(ref=11, tag="button", text="Login", top=166, height=31, left=2, width=86, parent=4),
    ]  # fmt: skip
    page = Page('Enter the username "karrie" and the password "AU" ...', [("username", "karrie"), ("password", "AU")])
    page.elements = els
    # labels as read_page sets them: the sibling text inside the same <p>
    els[1].label, els[3].label = "Username", "Password"
    return page


def test_rows_say_tag_state_and_field_matches():
    a = enc.encode(_login_page())
    rows, mask = a["elements"], a["element_mask"]
    assert rows.shape == (enc.N_ELEMENTS, enc.ELEMENT_FEATURES) and mask.tolist()[:6] == [1, 1, 1, 1, 1, 0]
    tag = enc.column("tag")
    assert rows[1, tag + enc.TAGS.index("input_text")] == 1 and rows[1, tag : tag + len(enc.TAGS) + 1].sum() == 1
    assert rows[4, tag + enc.TAGS.index("button")] == 1
    fm = enc.column("field_match")
    # the username box's label names field 0, the password box's names field 1 and its value is field 1's
    assert rows[1, fm + 2] == 1 and rows[1, fm + 4 + 2] == 0
    assert rows[3, fm + 4 + 2] == 1 and rows[3, fm + 4 + 1] == 1 and rows[3, fm + 1] == 0
    st = enc.column("state")
    assert rows[3, st] == 1 and rows[1, st] == 0  # focused
    assert rows[3, st + 3] == 1 and rows[1, st + 3] == 0  # has a value
    assert rows[1, st + 4] == 1 and rows[4, st + 4] == 0  # typeable
    geo = enc.column("geometry")
    assert np.allclose(rows[4, geo : geo + 2], [2 / 160, 166 / 210])
    assert a["field_mask"].tolist() == [1, 1, 0, 0]
    assert a["utterance"].sum() == len(set(enc.tokens(_login_page().utterance)))
    assert not rows[5:].any()  # padding rows are zero


def test_flatten_unflatten_round_trip_and_layout():
    a = enc.encode(_login_page())
    flat = enc.flatten(a)
    assert flat.shape == (enc.OBS_SIZE,) and flat.dtype == np.float32
    back = enc.unflatten(np.stack([flat, flat]))
    for name, shape in enc.ARRAYS:
        assert back[name].shape == (2, *shape)
        assert np.array_equal(back[name][1], a[name])


def test_hashing_is_stable_across_processes():
    # crc32, not Python's salted str hash: a token lands in the same bucket in every worker and on every machine
    from tests.conftest import run_python

    code = (
        "from edgeperf.domains.web.encoding import bucket; print([bucket(t, 32) for t in ('login', 'submit', 'tab')])"
    )
    here = str([enc.bucket(t, 32) for t in ("login", "submit", "tab")])
    for salt in ("1", "2"):
        r = run_python(code, env={"PYTHONHASHSEED": salt})
        assert r.stdout.strip() == here, r.stderr


def test_decode_and_one_hot_agree():
    for i, kind in [(0, 0), (3, 2), (enc.N_ELEMENTS - 1, enc.N_ACTION_TYPES - 1)]:
        assert enc.decode(enc.one_hot(i, kind)) == (i, kind)


class _Dom:
    """The few attributes of miniwob's DOMElement that read_page uses."""

    def __init__(self, ref, tag, text=None, left=0, top=0, width=10, height=10, value=None, children=(), **kw):
        self.ref, self.tag, self.text, self.value = ref, tag, text, value
        self.left, self.top, self.width, self.height = left, top, width, height
        self.id, self.classes = kw.get("id", ""), kw.get("classes", "")
        self.focused = self.tampered = False
        self.children, self.parent = list(children), None
        for c in self.children:
            c.parent = self
        self.is_leaf = not self.children

    @property
    def subtree_elements(self):
        out = [self]
        for c in self.children:
            out += c.subtree_elements
        return out


def test_read_page_labels_checkboxes_by_sibling_and_form_fields_by_row():
    box = _Dom(6, "input_checkbox", value=True, left=6, top=55)
    word = _Dom(-1, "t", text="HF2", left=29, top=59)
    genre = _Dom(8, "th", text="Genre", left=8, top=83, width=40, height=23)
    field = _Dom(10, "input_text", value="", left=52, top=84, width=98, height=21)
    year = _Dom(12, "th", text="Year", left=8, top=108, width=40, height=23)
    row = _Dom(7, "tr", children=[genre, _Dom(9, "td", children=[field])])
    root = _Dom(1, "body", children=[_Dom(5, "label", children=[box, word]), row, year])
    page = enc.read_page(root, "u", [("genre", "action")], {"10": "type a genre"})
    by_ref = {e.ref: e for e in page.elements}
    assert 1 not in by_ref and 5 not in by_ref and 7 not in by_ref  # the body and layout containers are left out
    assert by_ref[6].label == "HF2" and by_ref[6].checked and by_ref[6].value == ""
    assert by_ref[10].label == "Genre"  # on its row, to its left (not "Year", the row below)
    assert by_ref[10].placeholder == "type a genre"
