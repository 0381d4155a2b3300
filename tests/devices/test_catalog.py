import pytest

from edgeperf.devices import catalog
from edgeperf.errors import BadInput

HERE = catalog.by_id("generic-x86_64")
ORIN = catalog.by_id("jetson-orin-nano")


def test_auto_is_this_machine():
    assert catalog.resolve("auto", HERE) is HERE


def test_family_resolves_to_this_machine_when_it_belongs():
    assert catalog.resolve("jetson", ORIN) is ORIN
    assert catalog.resolve("jetson", HERE).family == "jetson"


def test_aliases():
    assert catalog.resolve("laptop", ORIN).id == "generic-x86_64"
    assert catalog.resolve("orin-nano", HERE) is ORIN


def test_unknown_device_suggests_the_closest():
    with pytest.raises(BadInput, match=r"did you mean 'jetson-agx-orin'"):
        catalog.resolve("jetson-agx-orn", HERE)


def test_board_matching():
    assert catalog.match_board("NVIDIA Jetson AGX Orin Developer Kit").id == "jetson-agx-orin"
    assert catalog.match_board("NVIDIA Orin NX Developer Kit").id == "jetson-orin-nx"
    assert catalog.match_board("Raspberry Pi 5") is None


def test_ids_are_unique():
    names = [n for d in catalog.CATALOG for n in (d.id, *d.aliases)]
    assert len(names) == len(set(names))
