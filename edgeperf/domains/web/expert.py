"""The scripted DOM expert: per task, the next action from the page the env just read (env.page: elements with
their text, value, label and state; the utterance's fields). Memoryless: the next action depends only on the
page now, so it can label any page a learner reaches (DAgger).

- click-button: click the <button> whose text is the target.
- click-tab: click the tab link whose text holds the target number.
- enter-text: type the target into the text field until its value is the target, then click Submit.
- login-user: type the username into the field labelled/identified "username", the password into the
  password field, then click Login.
- click-checkboxes: click every checkbox whose ticked state differs from "its label is a target", then Submit.
- multi-orderings: type each field's value into the text field labelled with the field's name, then Submit.
"""

from __future__ import annotations

import numpy as np

from edgeperf.domains.web.encoding import N_ELEMENTS, N_FIELDS, TYPEABLE, norm, one_hot, tokens


class DomExpert:
    def __init__(self, task: str):
        self.task = task

    def __call__(self, env) -> np.ndarray:
        i, kind = self.choose(env.page)
        return one_hot(i, kind)

    def choose(self, page) -> tuple[int, int]:
        """(element index, action type): 0 click, 1 + j type field j."""
        els = page.elements[:N_ELEMENTS]
        fields = page.fields
        value = dict(fields)

        def first(pred) -> int | None:
            return next((k for k, e in enumerate(els) if pred(e)), None)

        def click_text(text: str, tags=None) -> tuple[int, int]:
            k = first(lambda e: norm(e.text) == norm(text) and (tags is None or e.tag in tags))
            return (k if k is not None else 0), 0

        def fill(j: int, pred) -> tuple[int, int] | None:
            k = first(lambda e: e.tag in TYPEABLE and pred(e) and norm(e.value) != norm(fields[j][1]))
            return (k, 1 + j) if k is not None and j < N_FIELDS else None

        def names(e, key: str) -> bool:
            return set(tokens(key)) <= set(tokens(e.label) + tokens(e.id) + tokens(e.placeholder))

        t = self.task
        if t == "click-button":
            return click_text(value["target"], {"button"})
        if t == "click-tab":
            k = first(lambda e: e.tag == "a" and value["target"].lower() in tokens(e.text))
            return (k if k is not None else 0), 0
        if t == "enter-text":
            return fill(0, lambda e: True) or click_text("submit", {"button"})
        if t == "login-user":
            for j, (key, _) in enumerate(fields):
                step = fill(j, lambda e, key=key: names(e, key))
                if step:
                    return step
            return click_text("login", {"button"})
        if t == "click-checkboxes":
            targets = {norm(v) for k, v in fields if k.startswith("target")}
            k = first(lambda e: e.tag == "input_checkbox" and e.checked != (norm(e.label) in targets))
            return (k, 0) if k is not None else click_text("submit", {"button"})
        if t == "multi-orderings":
            for j, (key, _) in enumerate(fields):
                step = fill(j, lambda e, key=key: names(e, key))
                if step:
                    return step
            return click_text("submit")
        raise KeyError(t)
