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
    assert catalog.match_board("Raspberry Pi 5 Model B Rev 1.0").id == "raspberry-pi-5"
    assert catalog.match_board("Raspberry Pi 4 Model B") is None


def test_ids_are_unique():
    names = [n for d in catalog.CATALOG for n in (d.id, *d.aliases)]
    assert len(names) == len(set(names))


REQUIRED = ("jetson-orin-nano", "jetson-orin-nx", "jetson-agx-orin", "jetson-xavier-nx", "raspberry-pi-5")


def test_catalog_has_the_entries_and_fields_deployment_needs():
    ids = {d.id for d in catalog.CATALOG}
    assert set(REQUIRED) | {"generic-x86_64", "generic-aarch64", "unitree-go2-edu", "anymal-onboard"} <= ids
    for name in REQUIRED:
        d = catalog.by_id(name)
        assert d.cores and d.memory and d.accelerators and d.backends and d.precisions, name
        assert d.core_W and d.core_W_source, name
        assert d.sources, name
        fields = " ".join(f for f, _ in d.sources)
        for f in ("cores", "memory", "core_W"):
            assert f in fields, (name, f)
    for d in catalog.CATALOG:
        for _, src in d.sources:
            assert "http" in src or "arXiv" in src, (d.id, src)  # every figure names a public source
    go2 = catalog.by_id("go2")
    assert dict((w, hz) for w, hz in go2.control_rates)["low-level joint commands"] == 500
    assert catalog.by_id("jetson-orin-nano").rails == ("VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC")


def test_robot_matches_its_onboard_computer():
    assert catalog.matches(catalog.by_id("go2"), catalog.by_id("jetson-orin-nx"))
    assert catalog.matches(catalog.by_id("go2"), ORIN)  # some units carry an Orin Nano
    assert not catalog.matches(catalog.by_id("go2"), HERE)
    assert not catalog.matches(ORIN, HERE)


def test_devices_list(cli):
    r = cli("devices", "--list")
    assert r.code == 0
    assert "raspberry-pi-5" in r.out and "jetson-agx-orin" in r.out and "source (" in r.out
    import json

    doc = json.loads(cli("devices", "--list", "--json").out)
    entries = {d["id"]: d for d in doc["catalog"]}
    assert entries["raspberry-pi-5"]["cores"] == "4" and entries["raspberry-pi-5"]["core_W"] == 1.0
    assert entries["unitree-go2-edu"]["control_rates"][0]["hz"] == 50.0
