import pytest

from edgeperf.errors import BadInput, DependencyMissing, EdgeperfError, HardwareMissing, VerdictFailed, require


def test_exit_codes_follow_the_design():
    assert VerdictFailed("x").exit_code == 1
    assert BadInput("x").exit_code == 2
    assert DependencyMissing("pkg", "sim").exit_code == 3
    assert HardwareMissing("x").exit_code == 3
    assert all(issubclass(e, EdgeperfError) for e in (VerdictFailed, BadInput, DependencyMissing, HardwareMissing))


def test_require_names_the_extra_to_install():
    with pytest.raises(DependencyMissing) as info:
        require("edgeperf_no_such_module", "sim", "to run the quadruped", package="pybullet")
    msg = str(info.value)
    assert 'pip install "edgeperf[sim]"' in msg
    assert "pybullet is not installed (needed to run the quadruped)" in msg


def test_require_returns_an_installed_module():
    import json

    assert require("json", None) is json
