"""The web env in real headless Chromium: seeded pages, one reused browser, the expert, a browser that dies."""

from __future__ import annotations

import numpy as np
import pytest

from edgeperf.domains import base
from edgeperf.domains.web import browser, encoding, expert

pytestmark = pytest.mark.usefixtures("chromium")

TASKS = ("click-button", "click-checkboxes", "enter-text", "login-user", "click-tab", "multi-orderings")


def _page(env):
    return env.page.utterance, [(e.tag, e.text, e.label, e.value, e.checked) for e in env.page.elements]


def test_same_seed_same_page_on_one_reused_browser():
    d = base.make("web/click-checkboxes")
    env = d.env(5)
    obs5, _ = env.reset(seed=5)
    first = _page(env)
    session = browser.acquire("click-checkboxes").unwrapped.instance.driver.session_id
    env.close()
    other = d.env(6)
    other.reset(seed=6)
    assert _page(other) != first  # another seed, another page
    other.close()
    again = d.env(5)
    obs5b, _ = again.reset(seed=np.int64(5))  # numpy ints too (miniwob writes repr(seed) into JavaScript)
    assert _page(again) == first and np.array_equal(obs5, obs5b)
    assert obs5.shape == (encoding.OBS_SIZE,) and obs5.dtype == np.float32
    # every env of the task drove the same browser: one per worker, reused across episodes
    assert browser.acquire("click-checkboxes").unwrapped.instance.driver.session_id == session
    assert list(browser._BROWSERS) == ["click-checkboxes"]
    again.close()


@pytest.mark.parametrize("task", TASKS)
def test_expert_solves_the_task(task):
    d, ex = base.make(f"web/{task}"), expert(f"web/{task}")
    for seed in (0, 1):
        env = d.env(seed)
        env.reset(seed=seed)
        while True:
            _, reward, term, trunc, info = env.step(ex(env))
            if term or trunc:
                break
        assert info["success"], (seed, env.page.utterance, info)
        assert reward == 1.0 and info["metrics"]["wasted_actions"] == 0
        t = env.decision_timings  # one page read per observation, one execution per action
        steps = int(info["metrics"]["steps"])
        assert len(t["execute_us"]) == steps and len(t["dom_read_us"]) == steps + 1
        assert all(v > 0 for v in t["dom_read_us"] + t["encode_us"] + t["execute_us"])
        env.close()


def test_padding_and_absent_fields_are_wasted_steps():
    env = base.make("web/click-button").env(0)
    env.reset(seed=0)
    n = len(env.page.elements)
    _, _, term, trunc, _ = env.step(encoding.one_hot(encoding.N_ELEMENTS - 1, 0))  # past the page's elements
    assert not (term or trunc) and env.wasted == 1 and n < encoding.N_ELEMENTS
    _, _, term, trunc, _ = env.step(encoding.one_hot(0, 1 + 3))  # click-button's utterance has one field, not 4
    assert not (term or trunc) and env.wasted == 2
    for _ in range(encoding.N_ELEMENTS):
        _, reward, term, trunc, info = env.step(encoding.one_hot(encoding.N_ELEMENTS - 1, 0))
        if term or trunc:
            break
    assert trunc and not info["success"] and "within 10 actions" in info["failure_reason"] and reward == -1.0
    env.close()


def test_a_browser_that_dies_mid_episode_fails_that_episode_and_the_next_gets_a_fresh_one():
    d, ex = base.make("web/enter-text"), expert("web/enter-text")
    env = d.env(3)
    env.reset(seed=3)
    driver = browser.acquire("enter-text").unwrapped.instance.driver
    old, chromium = driver.session_id, list(browser._PROCESSES["enter-text"])
    assert chromium and all("chrom" in p.name() for p in chromium)
    driver.service.process.kill()  # ChromeDriver gone, as after a crash or an OOM kill
    driver.service.process.wait()
    _, reward, term, _, info = env.step(ex(env))
    assert term and not info["success"] and reward == -1.0
    assert "the browser died mid-episode" in info["failure_reason"]
    # the Chromium the dead driver had started is not left running (orphaned, it would hold memory for good)
    assert not any(p.is_running() and p.status() != "zombie" for p in chromium)
    env.close()
    env = d.env(3)
    env.reset(seed=3)
    assert browser.acquire("enter-text").unwrapped.instance.driver.session_id != old
    while True:
        _, _, term, trunc, info = env.step(ex(env))
        if term or trunc:
            break
    assert info["success"]
    env.close()


def test_an_action_without_preference_does_nothing():
    # all-equal scores (zeros: what the loop holds while a late action is on its way) must not click element 0
    env = base.make("web/click-button").env(0)
    env.reset(seed=0)
    before = env.page
    _, _, term, trunc, _ = env.step(np.zeros(encoding.ACTION_SIZE, np.float32))
    assert not (term or trunc) and env.wasted == 1
    assert [(e.tag, e.text, e.tampered) for e in env.page.elements] == [
        (e.tag, e.text, e.tampered) for e in before.elements
    ]
    env.close()


def test_a_browser_that_died_between_episodes_is_replaced_at_reset():
    env = base.make("web/click-tab").env(1)
    env.reset(seed=1)
    env.close()
    driver = browser.acquire("click-tab").unwrapped.instance.driver
    driver.service.process.kill()
    driver.service.process.wait()
    env = base.make("web/click-tab").env(1)
    env.reset(seed=1)  # the dead browser is noticed here, discarded, and a fresh one serves the episode
    assert browser.acquire("click-tab").unwrapped.instance.driver is not driver
    _, _, term, _, info = env.step(expert("web/click-tab")(env))
    assert term and info["success"]
    env.close()
