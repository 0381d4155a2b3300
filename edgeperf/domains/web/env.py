"""The web gymnasium env: one MiniWoB++ task in this worker's headless Chromium, seen through the fixed-size
encoding of encoding.py.

reset(seed) starts the task's episode with Math.seedrandom(seed) in the page, so episode k of the reference
and of the deployed policy meet the same page, utterance and fields. Each step executes the argmax of the
action (a click, or a focus-and-type of one utterance field), then reads the page back in one WebDriver round
trip (the episode's state and the DOM with its placeholders, no screenshot) and encodes it.

Per step the env records how long the page read, the encoding and the action's execution took
(`decision_timings`, microseconds, perf_counter_ns): with the policy's inference, timed by the rollout, they
make the decision latency a user of the agent sees.

Outcome (the contract of domains/base.py): the episode ends when MiniWoB++ ends it (its raw reward: 1 solved,
-1 failed or timed out after 10 s) or after MAX_STEPS actions. The return is the raw reward (not the
time-scaled one, which depends on wall time and would make paired episodes differ by the clock); success is a
positive raw reward. A browser that dies mid-episode ends the episode as a failure with the reason; the next
reset starts a fresh browser.
"""

from __future__ import annotations

import time

import numpy as np

from edgeperf.domains.web import browser
from edgeperf.domains.web.encoding import (
    ACTION_SIZE,
    N_ELEMENTS,
    N_FIELDS,
    OBS_SIZE,
    Page,
    encode,
    flatten,
    read_page,
)
from edgeperf.errors import BadInput

gym = browser.require_miniwob()

MAX_STEPS = 10
# One round trip: the episode's state, the DOM, and the placeholders of its elements (core.getDOMInfo leaves
# them out; previousDOMInfo maps the refs it just assigned to the elements).
READ_JS = """
var dom = core.getDOMInfo(), ph = {};
for (var r in core.previousDOMInfo) { var e = core.previousDOMInfo[r]; if (e.placeholder) ph[r] = e.placeholder; }
return {done: WOB_DONE_GLOBAL, raw_reward: WOB_RAW_REWARD_GLOBAL, reason: WOB_REWARD_REASON, dom: dom, ph: ph};
"""
# miniwob's "liu18" action space: element clicks and focus-and-type of utterance fields.
CLICK, TYPE_FIELD = 1, 2


class WebEnv(gym.Env):
    metadata = {"render_modes": []}  # noqa: RUF012

    def __init__(self, task: str, seed: int | None = None, max_steps: int = MAX_STEPS):
        self.task = task
        self.max_steps = int(max_steps)
        self.observation_space = gym.spaces.Box(-1.0, 5.0, (OBS_SIZE,), np.float32)
        self.action_space = gym.spaces.Box(-1e4, 1e4, (ACTION_SIZE,), np.float32)
        self._seed_pending = seed
        self.page = Page()
        self.decision_timings: dict[str, list[float]] = {}
        self._ready = False

    # --- the browser ------------------------------------------------------------------------------------------
    def _instance(self):
        return browser.acquire(self.task).unwrapped.instance

    def _read(self, inst):
        """(done, raw reward, reason, Page) of the page now; its read and encoding timed."""
        t0 = time.perf_counter_ns()
        got = inst.driver.execute_script(READ_JS)
        t1 = time.perf_counter_ns()
        if got["done"]:
            page = Page(self.page.utterance, self.page.fields)
        else:
            from miniwob.dom import DOMElement

            page = read_page(DOMElement(got["dom"]), self.page.utterance, self.page.fields, got["ph"])
        obs = flatten(encode(page))
        t2 = time.perf_counter_ns()
        self.decision_timings["dom_read_us"].append((t1 - t0) / 1e3)
        self.decision_timings["encode_us"].append((t2 - t1) / 1e3)
        return bool(got["done"]), float(got["raw_reward"] or 0.0), got["reason"], page, obs

    def _begin(self, seed: int):
        inst = self._instance()
        inst.force_stop()
        inst.begin_task(seed=seed)
        got = inst.driver.execute_script("return core.getUtterance();")
        utterance = got["utterance"] if isinstance(got, dict) else got
        fields = list(got["fields"].items()) if isinstance(got, dict) else inst.field_extractor(utterance)
        inst.cached_fields = fields  # what miniwob's TYPE_FIELD actions type
        self.page = Page(utterance, [(str(k), str(v)) for k, v in fields])
        return inst

    # --- gymnasium API ----------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is None:
            seed = self._seed_pending if self._seed_pending is not None else 0
        self._seed_pending = None
        super().reset(seed=int(seed))
        self.seed_used = int(seed)  # a Python int: miniwob writes repr(seed) into the page's JavaScript
        self.decision_timings = {"dom_read_us": [], "encode_us": [], "execute_us": []}
        try:
            inst = self._begin(self.seed_used)
        except Exception:  # the reused browser died between episodes: one fresh start
            browser.discard(self.task)
            inst = self._begin(self.seed_used)
        self._inst = inst
        _, _, _, self.page, obs = self._read(inst)
        self.steps, self.wasted = 0, 0
        self._ready = True
        return obs, {"utterance": self.page.utterance, "fields": self.page.fields}

    def step(self, action):
        if not self._ready:
            raise BadInput("call reset() before step()")
        a = np.asarray(action, dtype=np.float32).reshape(-1)
        if a.shape != (ACTION_SIZE,):
            raise BadInput(
                f"the web domain takes {ACTION_SIZE} action scores ({N_ELEMENTS} elements x "
                f"{1 + N_FIELDS} action types), got {a.size}"
            )
        if not np.all(np.isfinite(a)):
            return self._finish(np.zeros(OBS_SIZE, np.float32), False, "the policy returned a non-finite action")
        i, kind = divmod(int(np.argmax(a)), 1 + N_FIELDS)
        inst = self._inst
        t0 = time.perf_counter_ns()
        try:
            acts = a.max() > a.min()  # all scores equal (the hold action, zeros): no preference, no action
            real = i < min(len(self.page.elements), N_ELEMENTS) and (kind == 0 or kind - 1 < len(self.page.fields))
            if acts and real:
                from miniwob.selenium_actions import execute_action_on_chromedriver

                act = {"action_type": CLICK if kind == 0 else TYPE_FIELD, "ref": self.page.elements[i].ref}
                act["field"] = max(kind - 1, 0)
                execute_action_on_chromedriver(act, inst.cached_fields, inst_config(), inst.driver)
            else:
                self.wasted += 1  # a padded element, a field the utterance lacks, or no preference: nothing happens
            self.decision_timings["execute_us"].append((time.perf_counter_ns() - t0) / 1e3)
            done, raw, reason, self.page, obs = self._read(inst)
        except Exception as exc:  # the browser died (crash, OOM kill, lost driver): fail this episode only
            browser.discard(self.task)
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return self._finish(
                np.zeros(OBS_SIZE, np.float32),
                False,
                f"the browser died mid-episode ({type(exc).__name__}: {msg[:200]}); the run goes on with a fresh one",
            )
        self.steps += 1
        if done:
            out = self._finish(obs, raw > 0, "" if raw > 0 else f"MiniWoB++: {reason or 'failed'}", raw)
            return out
        if self.steps >= self.max_steps:
            return self._finish(obs, False, f"not solved within {self.max_steps} actions", truncated=True)
        return obs, 0.0, False, False, {}

    def _finish(self, obs, success: bool, reason: str, raw: float = -1.0, truncated: bool = False):
        self._ready = False
        info = {
            "success": bool(success),
            "failure_reason": reason,
            "metrics": {"steps": float(self.steps), "wasted_actions": float(self.wasted), "raw_reward": raw},
        }
        return obs, float(raw), not truncated, truncated, info

    def close(self):
        # The browser stays up for the worker's next episode (browser.release_all quits it at exit).
        self._ready = False


def inst_config():
    from miniwob.action import ActionSpaceConfig

    return _CONFIG.setdefault("liu18", ActionSpaceConfig.get_preset("liu18"))


_CONFIG: dict = {}
