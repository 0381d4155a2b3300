"""The web navigation domain (A2Perf's second domain): MiniWoB++ tasks in headless Chromium.

Tasks (domain ids): web/click-button, web/click-checkboxes, web/enter-text, web/login-user, web/click-tab and
web/multi-orderings (a movie-search form: three labelled text fields in a random order, then Submit; the
multi-step form). Each is the MiniWoB++ task of that name (the `miniwob` package, Farama), seeded per
episode: same seed, same page.

The observation is the fixed-size encoding of the page documented in encoding.py (N_ELEMENTS elements x
ELEMENT_FEATURES features, the utterance's hashed tokens, masks: OBS_SIZE float32 values, as named arrays
`encoding.unflatten` splits back); the action is a score per (element, action type): click, or focus and type
one of the utterance's fields. env.py says how an episode runs and ends; expert.py is the scripted DOM expert;
policy.py the bundled network (scripts/train_web.py reproduces it).

Needs the `web` extra (miniwob, selenium) and Debian's chromium + chromium-driver (browser.py finds and checks
them; DependencyMissing, exit 3, says what to install).
"""

from __future__ import annotations

from edgeperf.domains.base import Domain
from edgeperf.errors import BadInput

TASK_DESCRIPTIONS = {
    "click-button": "MiniWoB++ click-button: click the button the utterance names",
    "click-checkboxes": "MiniWoB++ click-checkboxes: tick exactly the named checkboxes, then Submit",
    "enter-text": "MiniWoB++ enter-text: type the given text into the field, then Submit",
    "login-user": "MiniWoB++ login-user: type username and password, then Login",
    "click-tab": "MiniWoB++ click-tab: click the named tab",
    "multi-orderings": "MiniWoB++ multi-orderings: fill a 3-field search form (fields in random order), then Submit",
}
SUCCESS_RULE = "MiniWoB++'s own check of the task (raw reward 1) within its 10 s limit and 10 actions"
# Returns are the raw reward, -1 or 1 per episode: a mean paired difference under 0.2 is under a 10-point
# difference in success rate.
EQUIVALENCE_MARGIN = 0.2
# One decision per human reaction time: the pace of a person using the page (see HUMAN_REACTION_MS).
CONTROL_HZ = 4.0
# Human simple visual reaction time, adults: about 250 ms, the common round figure. Woods et al. 2015 ("Factors
# influencing the latency of simple reaction time", Front. Hum. Neurosci. 9:131, doi:10.3389/fnhum.2015.00131)
# measured a mean of 231 ms (213 ms corrected for hardware delays) over 1469 adults aged 18-65, rising 0.55 ms
# per year of age; a choice among several targets, as on a web page, takes a person longer still. The
# comparison uses 250 ms.
HUMAN_REACTION_MS = 250.0
HUMAN_REACTION_SOURCE = (
    "human simple visual reaction time ~250 ms (adults; Woods et al. 2015, Front. Hum. Neurosci. 9:131: "
    "mean 231 ms over 1469 adults aged 18-65, 213 ms corrected for hardware delays)"
)


def _task(domain_id: str) -> str:
    task = domain_id.split("/", 1)[1] if domain_id.startswith("web/") else domain_id
    if task not in TASK_DESCRIPTIONS:
        import difflib

        close = difflib.get_close_matches(task, list(TASK_DESCRIPTIONS), n=1)
        hint = f"; did you mean 'web/{close[0]}'?" if close else ""
        raise BadInput(
            f"unknown web task '{domain_id}'{hint} Known: " + ", ".join(f"web/{t}" for t in TASK_DESCRIPTIONS)
        )
    return task


def make_env(task: str, seed: int | None = None, **options):
    """A WebEnv for `task` (options: max_steps)."""
    from edgeperf.domains.web.env import WebEnv

    return WebEnv(_task(task), seed=seed, **options)


def domain(domain_id: str) -> Domain:
    task = _task(domain_id)

    def make(seed: int, **options):
        env = make_env(task, seed=seed, **options)
        env.action_space.seed(seed)
        return env

    return Domain(
        id=f"web/{task}",
        description=TASK_DESCRIPTIONS[task],
        make_env=make,
        control_hz=CONTROL_HZ,
        equivalence_margin=EQUIVALENCE_MARGIN,
        reference=f"reference:web/{task}",
        success_rule=SUCCESS_RULE,
        human_reaction_ms=HUMAN_REACTION_MS,
        human_reaction_source=HUMAN_REACTION_SOURCE,
    )


def load_reference(domain_id: str):
    """The bundled network for a web task (torch, eval mode): flat observation -> action scores."""
    from edgeperf.domains.web.policy import load_reference as _load

    _task(domain_id)
    return _load()


def expert(domain_id: str):
    """The scripted DOM expert for a task: expert(env) -> action (it reads env.page, the DOM the env read)."""
    from edgeperf.domains.web.expert import DomExpert

    return DomExpert(_task(domain_id))
