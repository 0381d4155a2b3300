"""Netlists for macro placement: our JSON format, circuit_training's protobuf text format, and checks.

Units are microns; x grows right, y grows up; (0, 0) is the canvas' lower-left corner; positions are centres.

Our format (`*.json`, schema "edgeperf.netlist/1"):

    {"format": "edgeperf.netlist/1", "name": "toy",
     "canvas": {"width": 200, "height": 100, "columns": 20, "rows": 10,
                "routes_per_micron": [11.285, 12.605],          # routing tracks per micron: horizontal, vertical
                "macro_routing_allocation": [7.143, 8.339]},    # tracks per micron a macro blocks: h, v
     "macros":   [{"name": "M0", "width": 30, "height": 40, "x": 50, "y": 50, "fixed": false}],  # x, y optional
     "clusters": [{"name": "C0", "width": 7.5, "height": 7.5, "x": 100, "y": 50}],  # standard-cell clusters
     "ports":    [{"name": "P0", "x": 0, "y": 25}],
     "nets":     [{"weight": 1.0, "pins": [["M0", 15, -5], ["C0"], ["P0"]]}]}

A net's first pin is its driver; a pin on a macro carries its offset from the macro's centre, a pin on a cluster
or a port sits at its centre. A cluster's x, y are its initial location (a global placer's, as circuit_training's
initial.plc gives); clusters without one start at the canvas centre.

circuit_training's format (`*.pb.txt`, a tensorflow GraphDef in protobuf text): nodes of type MACRO (hard macro),
macro (standard-cell cluster, "soft macro"), MACRO_PIN / macro_pin (their pins, attrs macro_name, x_offset,
y_offset), PORT and STDCELL (an unclustered standard cell, placed like a cluster of one); a pin's, port's or
cell's `input:` lines name the sinks it drives (one net; attr `weight`, default 1).
The canvas and grid are not in the GraphDef: they are read from the header comments of the file or of an
`initial.plc` beside it (`# Width : W Height : H`, `# Columns : C Rows : R`, `# Routes per micron, hor : H ver :
V`, `# Routes used by macros, hor : H ver : V`; `# FP bbox: {0 0} {W H}` also gives the size).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeperf.errors import BadInput
from edgeperf.results.io import parse_json, read_text

FORMAT = "edgeperf.netlist/1"
# circuit_training's Ariane settings: routing tracks per micron, and the share a macro blocks.
ROUTES_PER_MICRON = (11.285, 12.605)
MACRO_ROUTING_ALLOCATION = (7.143, 8.339)
EPS = 1e-9  # microns: rectangles touching along an edge do not overlap


@dataclass
class Netlist:
    """A netlist in arrays. Nodes are numbered macros first, then clusters, then ports."""

    name: str
    width: float
    height: float
    columns: int
    rows: int
    macro_names: list[str]
    macro_size: np.ndarray  # (M, 2) width, height
    macro_xy: np.ndarray  # (M, 2) initial centres (nan: unplaced)
    macro_fixed: np.ndarray  # (M,) bool
    cluster_names: list[str]
    cluster_size: np.ndarray  # (C, 2)
    cluster_xy: np.ndarray  # (C, 2) initial centres
    port_names: list[str]
    port_xy: np.ndarray  # (P, 2)
    net_weight: np.ndarray  # (N,)
    net_start: np.ndarray  # (N + 1,) pins of net n are pin_*[net_start[n]:net_start[n + 1]], driver first
    pin_node: np.ndarray  # (K,) node index
    pin_offset: np.ndarray  # (K, 2) from the node's centre
    routes_per_micron: tuple[float, float] = ROUTES_PER_MICRON
    macro_routing_allocation: tuple[float, float] = MACRO_ROUTING_ALLOCATION
    source: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def n_macros(self) -> int:
        return len(self.macro_names)

    @property
    def n_clusters(self) -> int:
        return len(self.cluster_names)

    @property
    def n_nodes(self) -> int:
        return self.n_macros + self.n_clusters + len(self.port_names)

    @property
    def pin_net(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.net_weight)), np.diff(self.net_start))

    @property
    def cell(self) -> tuple[float, float]:
        return self.width / self.columns, self.height / self.rows

    def node_xy(self, macro_xy: np.ndarray, cluster_xy: np.ndarray | None = None) -> np.ndarray:
        """(n_nodes, 2) centres for a macro placement (clusters at `cluster_xy`, default their initial ones)."""
        return np.concatenate([macro_xy, self.cluster_xy if cluster_xy is None else cluster_xy, self.port_xy])

    def placement_order(self) -> np.ndarray:
        """The movable macros, largest area first (ties: taller, then netlist order), as circuit_training."""
        movable = np.flatnonzero(~self.macro_fixed)
        w, h = self.macro_size[movable].T
        return movable[np.lexsort((movable, -h, -(w * h)))]

    def to_json(self) -> dict:
        def pin(k):
            node, (dx, dy) = int(self.pin_node[k]), self.pin_offset[k]
            name = self.node_name(node)
            return [name, float(dx), float(dy)] if node < self.n_macros else [name]

        return {
            "format": FORMAT,
            "name": self.name,
            "canvas": {
                "width": self.width,
                "height": self.height,
                "columns": self.columns,
                "rows": self.rows,
                "routes_per_micron": list(self.routes_per_micron),
                "macro_routing_allocation": list(self.macro_routing_allocation),
            },
            "macros": [
                {
                    "name": n,
                    "width": float(s[0]),
                    "height": float(s[1]),
                    **({"x": float(p[0]), "y": float(p[1])} if np.isfinite(p).all() else {}),
                    "fixed": bool(f),
                }
                for n, s, p, f in zip(self.macro_names, self.macro_size, self.macro_xy, self.macro_fixed, strict=True)
            ],
            "clusters": [
                {"name": n, "width": float(s[0]), "height": float(s[1]), "x": float(p[0]), "y": float(p[1])}
                for n, s, p in zip(self.cluster_names, self.cluster_size, self.cluster_xy, strict=True)
            ],
            "ports": [
                {"name": n, "x": float(p[0]), "y": float(p[1])}
                for n, p in zip(self.port_names, self.port_xy, strict=True)
            ],
            "nets": [
                {"weight": float(w), "pins": [pin(k) for k in range(self.net_start[i], self.net_start[i + 1])]}
                for i, w in enumerate(self.net_weight)
            ],
        }

    def node_name(self, node: int) -> str:
        m, c = self.n_macros, self.n_clusters
        if node < m:
            return self.macro_names[node]
        return self.cluster_names[node - m] if node < m + c else self.port_names[node - m - c]


# -- reading --------------------------------------------------------------------------------------------------


MAX_BYTES = 256 * 2**20  # circuit_training's Ariane is ~2 MB of protobuf text; the parser is Python


def load(path: str | Path) -> Netlist:
    """A netlist file: ours (.json) or circuit_training's (.pb.txt / .pbtxt); checked (see `check`)."""
    path = Path(path)
    formats = "give a .json (edgeperf's format) or a .pb.txt (circuit_training's)"
    if not path.name.endswith((".pb.txt", ".pbtxt", ".json")):
        if not path.exists():
            raise BadInput(f"netlist {path}: no such file; {formats}")
        raise BadInput(f"netlist {path}: unknown suffix; {formats}")
    # results.io reads it: a regular file, bounded in size (a FIFO or /dev/zero is named, not read)
    text = read_text(path, "netlist", max_bytes=MAX_BYTES, errors="replace", hint=formats)
    netlist = from_pbtxt(text, path) if path.name.endswith((".pb.txt", ".pbtxt")) else from_json(text, path)
    check(netlist)
    return netlist


def from_json(text: str, path: Path | str = "<netlist>") -> Netlist:
    where = f"netlist {path}"
    doc = parse_json(text, where)  # nesting bounded before parsing: 100,000 levels deep is one line, not a recursion
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BadInput(f'{where}: "format" must be "{FORMAT}"')

    def line_of(fragment: str) -> str:
        at = text.find(fragment)
        return f"line {text.count(chr(10), 0, at) + 1}: " if at >= 0 else ""

    def num(obj, key, what, default=None):
        v = obj.get(key, default) if isinstance(obj, dict) else None
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
            name = obj.get("name", "") if isinstance(obj, dict) else ""
            raise BadInput(
                f"{where}: {line_of(json.dumps(name)) if name else ''}{what} needs a finite number '{key}', got {v!r}"
            )
        return float(v)

    canvas = doc.get("canvas")
    if not isinstance(canvas, dict):
        raise BadInput(f'{where}: needs a "canvas" object (width, height, columns, rows)')
    width, height = num(canvas, "width", "canvas"), num(canvas, "height", "canvas")
    columns, rows = num(canvas, "columns", "canvas"), num(canvas, "rows", "canvas")
    rpm = canvas.get("routes_per_micron", list(ROUTES_PER_MICRON))
    alloc = canvas.get("macro_routing_allocation", list(MACRO_ROUTING_ALLOCATION))
    for key, pair in (("routes_per_micron", rpm), ("macro_routing_allocation", alloc)):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, int | float) for v in pair)):
            raise BadInput(f"{where}: canvas.{key} must be [horizontal, vertical], got {pair!r}")

    def items(key):
        v = doc.get(key, [])
        if not isinstance(v, list) or not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in v):
            raise BadInput(f'{where}: "{key}" must be a list of objects with a "name"')
        return v

    macros, clusters, ports = items("macros"), items("clusters"), items("ports")
    nets = doc.get("nets", [])
    if not isinstance(nets, list):
        raise BadInput(f'{where}: "nets" must be a list')
    builder = _Builder(where)
    for m in macros:
        has_xy = "x" in m or "y" in m
        xy = (num(m, "x", f"macro {m['name']}"), num(m, "y", f"macro {m['name']}")) if has_xy else (np.nan, np.nan)
        builder.macro(
            m["name"],
            num(m, "width", f"macro {m['name']}"),
            num(m, "height", f"macro {m['name']}"),
            xy,
            bool(m.get("fixed", False)),
        )
    for c in clusters:
        xy = (num(c, "x", f"cluster {c['name']}", width / 2), num(c, "y", f"cluster {c['name']}", height / 2))
        builder.cluster(
            c["name"], num(c, "width", f"cluster {c['name']}"), num(c, "height", f"cluster {c['name']}"), xy
        )
    for p in ports:
        builder.port(p["name"], (num(p, "x", f"port {p['name']}"), num(p, "y", f"port {p['name']}")))
    for i, net in enumerate(nets):
        pins = net.get("pins") if isinstance(net, dict) else None
        if not isinstance(pins, list) or not all(isinstance(p, list) and p and isinstance(p[0], str) for p in pins):
            raise BadInput(f'{where}: net {i} needs "pins": a list of [node name] or [macro name, dx, dy]')
        weight = num(net, "weight", f"net {i}", 1.0)
        builder.net([(p[0], *p[1:3]) for p in pins], weight, f"net {i}")
    return builder.build(
        doc.get("name") or Path(str(path)).stem, width, columns, height, rows, tuple(rpm), tuple(alloc), str(path)
    )


class _Builder:
    def __init__(self, where: str):
        self.where = where
        self.kind: dict[str, tuple[str, int]] = {}
        self.macros: list = []
        self.clusters: list = []
        self.ports: list = []
        self.nets: list = []

    def _add(self, name, kind, bucket, row):
        if name in self.kind:
            raise BadInput(f"{self.where}: node '{name}' is defined twice")
        self.kind[name] = (kind, len(bucket))
        bucket.append(row)

    def macro(self, name, w, h, xy, fixed):
        self._add(name, "macro", self.macros, (name, w, h, *xy, fixed))

    def cluster(self, name, w, h, xy):
        self._add(name, "cluster", self.clusters, (name, w, h, *xy))

    def port(self, name, xy):
        self._add(name, "port", self.ports, (name, *xy))

    def net(self, pins, weight, what):
        self.nets.append((pins, weight, what))

    def build(self, name, width, columns, height, rows, rpm, alloc, source) -> Netlist:
        if not (width > 0 and height > 0):
            raise BadInput(f"{self.where}: the canvas must have a positive width and height, got {width} x {height}")
        if columns != int(columns) or rows != int(rows) or columns < 1 or rows < 1:
            raise BadInput(f"{self.where}: the grid needs whole columns and rows >= 1, got {columns} x {rows}")
        m, c = len(self.macros), len(self.clusters)
        offset = {"macro": 0, "cluster": m, "port": m + c}
        starts, nodes, offsets, weights = [0], [], [], []
        for pins, weight, what in self.nets:
            if len(pins) < 2:
                raise BadInput(
                    f"{self.where}: {what} is dangling: it has {len(pins)} pin(s), a net needs a driver and a sink"
                )
            for pin in pins:
                if pin[0] not in self.kind:
                    raise BadInput(
                        f"{self.where}: {what} is dangling: it names node '{pin[0]}', which the netlist does not define"
                    )
                kind, idx = self.kind[pin[0]]
                nodes.append(offset[kind] + idx)
                d = [float(v) for v in pin[1:3]] if kind == "macro" else []
                offsets.append([*d, 0.0, 0.0][:2])
            starts.append(len(nodes))
            weights.append(weight)

        def arr(rows_, cols):
            return np.array([r[cols] for r in rows_], dtype=np.float64).reshape(len(rows_), cols.stop - cols.start)

        return Netlist(
            name=name,
            width=float(width),
            height=float(height),
            columns=int(columns),
            rows=int(rows),
            macro_names=[r[0] for r in self.macros],
            macro_size=arr(self.macros, slice(1, 3)),
            macro_xy=arr(self.macros, slice(3, 5)),
            macro_fixed=np.array([r[5] for r in self.macros], dtype=bool),
            cluster_names=[r[0] for r in self.clusters],
            cluster_size=arr(self.clusters, slice(1, 3)),
            cluster_xy=arr(self.clusters, slice(3, 5)),
            port_names=[r[0] for r in self.ports],
            port_xy=arr(self.ports, slice(1, 3)),
            net_weight=np.array(weights, dtype=np.float64),
            net_start=np.array(starts, dtype=np.int64),
            pin_node=np.array(nodes, dtype=np.int64),
            pin_offset=np.array(offsets, dtype=np.float64).reshape(-1, 2),
            routes_per_micron=tuple(float(v) for v in rpm),
            macro_routing_allocation=tuple(float(v) for v in alloc),
            source=source,
        )


# -- circuit_training's protobuf text format --------------------------------------------------------------------

_TOKEN = re.compile(r'(#[^\n]*)|("(?:[^"\\\n]|\\.)*")|([{}:])|([^\s{}:"#]+)|(\S)')


def _unquote(string: str, where: str, line: int) -> str:
    try:
        return json.loads(string)
    except ValueError:  # protobuf's own escapes (octal, \') are not JSON's, and netlists use none
        raise BadInput(
            f"{where}: line {line}: cannot read the string {string[:60]} (an escape JSON does not know)"
        ) from None


def _parse_pbtxt(text: str, where: str) -> list:
    """Protobuf text -> [(key, value, line)], a value a string/number or a nested list. Errors name the line."""
    newlines = np.flatnonzero(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32) == 10)
    root: list = []
    stack: list = [root]
    key: tuple[str, int] | None = None
    expect_value = False
    line = 1
    for mt in _TOKEN.finditer(text):
        line = int(np.searchsorted(newlines, mt.start())) + 1
        comment, string, punct, word, stray = mt.groups()
        if comment is not None:
            continue
        if stray is not None:
            raise BadInput(f"{where}: line {line}: cannot read {stray!r} (an unterminated string?)")
        if punct == "{":
            if key is None or expect_value:
                raise BadInput(f"{where}: line {line}: '{{' without a field name before it")
            child: list = []
            stack[-1].append((key[0], child, key[1]))
            stack.append(child)
            key = None
        elif punct == "}":
            if key is not None or len(stack) == 1:
                raise BadInput(f"{where}: line {line}: unexpected '}}'")
            stack.pop()
        elif punct == ":":
            if key is None or expect_value:
                raise BadInput(f"{where}: line {line}: unexpected ':'")
            expect_value = True
        elif expect_value:
            stack[-1].append((key[0], _unquote(string, where, line) if string is not None else word, key[1]))
            key, expect_value = None, False
        elif key is None and word is not None and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", word):
            key = (word, line)
        else:
            raise BadInput(f"{where}: line {line}: unexpected {mt.group(0)!r}; expected a field name, ':' or '{{'")
    if len(stack) != 1:
        opened = next(ln for k, v, ln in reversed(stack[0]) if v is stack[1])
        raise BadInput(f"{where}: line {opened}: this '{{' is never closed (a '}}' is missing below it)")
    if key is not None:
        raise BadInput(f"{where}: line {line}: the file ends after a field name")
    return root


def _attrs(node: list, where: str) -> dict:
    out = {}
    for k, v, line in node:
        if k != "attr":
            continue
        key = next((x for kk, x, _ in v if kk == "key"), None) if isinstance(v, list) else None
        val = next((x for kk, x, _ in v if kk == "value"), None) if isinstance(v, list) else None
        if not isinstance(key, str) or not isinstance(val, list) or not val:
            raise BadInput(
                f"{where}: line {line}: an attr needs a key and a value {{ f: ... }} or {{ placeholder: ... }}"
            )
        kind, raw, vline = val[0]
        if kind in ("f", "i"):
            try:
                out[key] = float(raw)
            except (TypeError, ValueError):
                raise BadInput(f"{where}: line {vline}: attr {key}: {raw!r} is not a number") from None
        else:
            out[key] = raw
        out[f"{key}@line"] = line
    return out


def _header(text: str) -> dict:
    h: dict = {}
    for pattern, keys in (
        (r"#\s*Width\s*:\s*([\d.eE+-]+)\s+Height\s*:\s*([\d.eE+-]+)", ("width", "height")),
        (r"#\s*Columns\s*:\s*(\d+)\s+Rows\s*:\s*(\d+)", ("columns", "rows")),
        (r"#\s*Routes per micron, hor\s*:\s*([\d.eE+-]+)\s+ver\s*:\s*([\d.eE+-]+)", ("rh", "rv")),
        (r"#\s*Routes used by macros, hor\s*:\s*([\d.eE+-]+)\s+ver\s*:\s*([\d.eE+-]+)", ("ah", "av")),
        (
            r"#\s*FP bbox:\s*\{\s*[\d.eE+-]+\s+[\d.eE+-]+\s*\}\s*\{\s*([\d.eE+-]+)\s+([\d.eE+-]+)\s*\}",
            ("width", "height"),
        ),
    ):
        mt = re.search(pattern, text)
        if mt:
            for k, v in zip(keys, mt.groups(), strict=True):
                h.setdefault(k, float(v))
    return h


def from_pbtxt(text: str, path: Path) -> Netlist:
    where = f"netlist {path}"
    nodes = _parse_pbtxt(text, where)
    header = _header(text)
    plc = path.parent / "initial.plc"
    if plc.is_file():
        header = {**_header(read_text(plc, "placement", max_bytes=MAX_BYTES, errors="replace")), **header}
    missing = [k for k in ("width", "height", "columns", "rows") if k not in header]
    if missing:
        raise BadInput(
            f"{where}: the canvas and grid are not given ({', '.join(missing)} missing): add header comments "
            "'# Width : W Height : H' and '# Columns : C Rows : R' to it or to an initial.plc beside it"
        )
    builder = _Builder(where)
    pins: dict[str, tuple[str, float, float]] = {}  # pin name -> (owner node, dx, dy)
    drivers = []  # (driver name, sinks, weight, line)
    for key, node, line in nodes:
        if key != "node" or not isinstance(node, list):
            raise BadInput(f"{where}: line {line}: expected 'node {{', found '{key}'")
        name = next((v for k, v, _ in node if k == "name"), None)
        if not isinstance(name, str):
            raise BadInput(f"{where}: line {line}: a node without a name")
        sinks = [v for k, v, _ in node if k == "input"]
        a = _attrs(node, where)
        kind = a.get("type")
        try:
            if kind == "MACRO":
                xy = (a["x"], a["y"]) if "x" in a and "y" in a else (np.nan, np.nan)
                builder.macro(
                    name, a["width"], a["height"], xy, bool(a.get("fixed", 0) == 1 or a.get("fixed") == "true")
                )
            elif kind == "macro":
                builder.cluster(
                    name, a["width"], a["height"], (a.get("x", header["width"] / 2), a.get("y", header["height"] / 2))
                )
            elif kind in ("MACRO_PIN", "macro_pin"):
                pins[name] = (a["macro_name"], a.get("x_offset", 0.0), a.get("y_offset", 0.0))
            elif str(kind).upper() == "PORT":
                builder.port(name, (a["x"], a["y"]))
            elif str(kind).upper() == "STDCELL":  # an unclustered standard cell: a cluster of one
                builder.cluster(
                    name, a["width"], a["height"], (a.get("x", header["width"] / 2), a.get("y", header["height"] / 2))
                )
            else:
                raise BadInput(
                    f"{where}: line {line}: node {name} has type {kind!r}; "
                    "expected MACRO, macro, MACRO_PIN, macro_pin or PORT"
                )
        except KeyError as exc:
            raise BadInput(f"{where}: line {line}: node {name} ({kind}) lacks the attr {exc.args[0]}") from None
        if sinks:
            drivers.append((name, sinks, float(a.get("weight", 1.0)), line))

    def resolve(pin):
        return (pins[pin][0], pins[pin][1], pins[pin][2]) if pin in pins else (pin,)

    for name, sinks, weight, line in drivers:
        builder.net([resolve(p) for p in [name, *sinks]], weight, f"the net driven by {name} (line {line})")
    return builder.build(
        path.name.split(".")[0],
        header["width"],
        header["columns"],
        header["height"],
        header["rows"],
        (header.get("rh", ROUTES_PER_MICRON[0]), header.get("rv", ROUTES_PER_MICRON[1])),
        (header.get("ah", MACRO_ROUTING_ALLOCATION[0]), header.get("av", MACRO_ROUTING_ALLOCATION[1])),
        str(path),
    )


# -- checks ---------------------------------------------------------------------------------------------------


def check(netlist: Netlist) -> None:
    """What makes a netlist unplaceable, in one line each: sizes, a macro larger than the canvas, fixed macros
    outside the canvas or overlapping one another, no macro to place."""
    where = f"netlist {netlist.source or netlist.name}"
    for what, names, size in (
        ("macro", netlist.macro_names, netlist.macro_size),
        ("cluster", netlist.cluster_names, netlist.cluster_size),
    ):
        bad = np.flatnonzero(~(size > 0).all(axis=1)) if len(size) else []
        if len(bad):
            raise BadInput(f"{where}: {what} {names[bad[0]]} has size {size[bad[0]].tolist()}; sizes must be positive")
    big = np.flatnonzero(
        (netlist.macro_size[:, 0] > netlist.width + EPS) | (netlist.macro_size[:, 1] > netlist.height + EPS)
    )
    if len(big):
        w, h = netlist.macro_size[big[0]]
        raise BadInput(
            f"{where}: macro {netlist.macro_names[big[0]]} ({w:g} x {h:g}) is larger than the canvas "
            f"({netlist.width:g} x {netlist.height:g}); enlarge the canvas or split the macro"
        )
    fixed = np.flatnonzero(netlist.macro_fixed)
    if len(fixed) and not np.isfinite(netlist.macro_xy[fixed]).all():
        i = fixed[~np.isfinite(netlist.macro_xy[fixed]).all(axis=1)][0]
        raise BadInput(f"{where}: fixed macro {netlist.macro_names[i]} has no location (x, y)")
    lo = netlist.macro_xy[fixed] - netlist.macro_size[fixed] / 2
    hi = netlist.macro_xy[fixed] + netlist.macro_size[fixed] / 2
    outside = np.flatnonzero(
        (lo < -EPS).any(axis=1) | (hi > np.array([netlist.width, netlist.height]) + EPS).any(axis=1)
    )
    if len(outside):
        raise BadInput(f"{where}: fixed macro {netlist.macro_names[fixed[outside[0]]]} lies outside the canvas")
    if len(fixed) > 1:
        apart = (lo[:, None, :] >= hi[None, :, :] - EPS) | (hi[:, None, :] <= lo[None, :, :] + EPS)
        overlap = ~apart.any(axis=2)
        np.fill_diagonal(overlap, False)
        if overlap.any():
            i, j = np.argwhere(overlap)[0]
            raise BadInput(
                f"{where}: fixed macros {netlist.macro_names[fixed[i]]} and {netlist.macro_names[fixed[j]]} overlap; "
                "move one, or unfix it so that the placer places it"
            )
    if not (~netlist.macro_fixed).any():
        raise BadInput(f"{where}: no movable macro: there is nothing to place")
