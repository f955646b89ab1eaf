"""The ``[network]`` section of an experiment description: edges given inline
(``network.edges``), a lattice (``network.lattice`` with ``network.fixed``) or an edge-list CSV
file (``network.file``); the outputs (``network.output``, ``network.outputs``,
``network.differential``); and node names checked with suggestions. Engine of
`clln_theory.experiments.config` (which documents the schema); every error a `ConfigError`
naming the key (and, for the edge file, the file, row and column)."""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CLLNError, ConfigError
from ..model import PAPER_S, PAPER_V_T, Differential, Edge, Network
from ..model.network import MAX_LATTICE_SIDE
from ._toml_table import Table, as_list, data_path, key_number, show

__all__ = ["NetworkSection", "check_dangling", "node_error", "parse_network"]

#: Largest edge-list file read, bytes: a network of 10**5 edges is ~5 MB of CSV, so anything
#: larger is a wrong file, refused before it is read (the same bound as the TOML itself).
_MAX_EDGE_FILE_BYTES = 16 * 2**20
#: The columns an edge-list file may have (``a`` and ``b`` required), named in its header row.
EDGE_COLUMNS = ("a", "b", "name", "learning", "K", "R", "S", "V_T")
#: How many node names an error lists when no close match is found (a lattice has thousands).
_LISTED_NODES = 12


@dataclass(frozen=True, slots=True)
class NetworkSection:
    """What ``[network]`` describes: the network, its outputs and supplies, and where each
    edge was written (``network.edges[3]``, ``network.file 'g.csv' row 5``, ``network.lattice``)
    for the errors found later (a dangling edge)."""

    network: Network
    targets: tuple[str | Differential, ...]
    supplies: dict[str, float]
    edge_keys: tuple[str, ...]


def node_error(
    key: str, node: object, nodes: Iterable[str], what: str = "no edge touches", subject: str = ""
) -> ConfigError:
    """The `ConfigError` of a node name the network does not have, with the nearest names;
    ``subject`` replaces ``Key 'KEY'`` at the start of the sentence (an edge file's row)."""
    names = list(nodes)
    near = difflib.get_close_matches(str(node), names, n=3)
    if near:
        hint = "did you mean " + " or ".join(repr(n) for n in near) + "?"
    else:
        more = ", ..." if len(names) > _LISTED_NODES else ""
        hint = f"the nodes are {str(names[:_LISTED_NODES])[:-1]}{more}]."
    subject = subject or f"Key '{key}'"
    return ConfigError(f"{subject} names node {show(node)}, which {what}; {hint}")


def parse_network(t: Table, folder: Path | None) -> NetworkSection:
    """The network of ``[network]``: lattice edges first, then the file's, then the inline
    ones; the nodes of the lattice in row-major order, then the others as they appear."""
    S = t.number("S", PAPER_S, positive=True)
    V_T = t.number("V_T", PAPER_V_T)
    edges: list[Edge] = []
    keys: list[str] = []
    nodes: dict[str, None] = {}  # insertion-ordered set: linear in the number of edges
    if t.has("lattice"):
        lattice_nodes, lattice = _lattice(t, S, V_T)
        nodes.update(dict.fromkeys(lattice_nodes))
        edges += lattice
        keys += [f"Key '{t.key('lattice')}'"] * len(lattice)
    elif t.has("fixed"):
        raise ConfigError(
            f"Key '{t.key('fixed')}' names lattice edges to fix, but there is no "
            f"'{t.key('lattice')}'; give the conductance of a listed edge with K or R instead."
        )
    if t.has("file"):
        file_edges, file_keys = _edge_file(t, folder, S, V_T)
        edges += file_edges
        keys += file_keys
    if t.has("edges"):
        for i, raw in enumerate(as_list(t.get("edges"), t.key("edges"))):
            edges.append(_inline_edge(raw, f"{t.key('edges')}[{i}]", S, V_T))
            keys.append(f"{t.key('edges')}[{i}]")
    if not edges:
        raise ConfigError(
            f"Missing required key '{t.key('edges')}' (or '{t.key('lattice')}' or "
            f"'{t.key('file')}'): the network needs edges."
        )
    for edge in edges:
        nodes.setdefault(edge.a)
        nodes.setdefault(edge.b)
    try:
        net = Network(tuple(nodes), tuple(edges))
    except CLLNError as exc:
        where = "edges" if t.has("edges") else "lattice" if t.has("lattice") else "file"
        raise ConfigError(
            f"Key '{t.key(where)}' does not describe a valid network: {exc}"
        ) from None
    supplies: dict[str, float] = {}
    sup = t.get("supplies", {})
    if not isinstance(sup, dict):
        raise ConfigError(f"Key '{t.key('supplies')}' must be a table node = volts.")
    for node, v in sup.items():
        if node not in net.node_index:
            raise node_error(f"{t.key('supplies')}.{node}", node, net.nodes)
        supplies[str(node)] = key_number(v, f"{t.key('supplies')}.{node}")
    return NetworkSection(net, _targets(t, net), supplies, tuple(keys))


def _inline_edge(raw: Any, path: str, S: float, V_T: float) -> Edge:
    """One table of ``network.edges``."""
    e = Table(raw, path, {"name", "a", "b", "learning", "K", "R", "S", "V_T"})
    a, b = e.string("a", required=True), e.string("b", required=True)
    name = e.string("name", f"{a}-{b}")
    if e.has("K") and e.has("R"):
        raise ConfigError(f"Key '{e.key('R')}' conflicts with '{e.key('K')}'; give one of them.")
    K = e.number("K", positive=True)
    if e.has("R"):
        K = 1.0 / e.number("R", required=True, positive=True)
    learning = e.get("learning", K is None)
    if not isinstance(learning, bool):
        raise ConfigError(
            f"Key '{e.key('learning')}' must be true or false, but is {show(learning)}."
        )
    if learning and K is not None:
        raise ConfigError(
            f"Key '{e.key('K' if e.has('K') else 'R')}' is set on a learning edge; a learning "
            "edge has S and V_T, a fixed edge has K or R."
        )
    if not learning and K is None:
        raise ConfigError(f"Missing key '{e.key('R')}' (or K) of the fixed edge {name!r}.")
    try:
        if learning:
            return Edge(
                name, a, b, True, S=e.number("S", S, positive=True), V_T=e.number("V_T", V_T)
            )
        return Edge(name, a, b, False, K=K)
    except CLLNError as exc:
        raise ConfigError(f"Key '{e.path}' is not a valid edge: {exc}") from None


# ------------------------------------------------------------------------------ lattice
def _lattice(t: Table, S: float, V_T: float) -> tuple[list[str], list[Edge]]:
    """``network.lattice = { kind, rows, cols }``: nodes ``n0``... row-major, each joined to
    its right and lower neighbour (wrapping around for ``"periodic"``), all learning but the
    edges of ``network.fixed``."""
    lat = t.table("lattice", {"kind", "rows", "cols"}, required=True)
    kind = lat.string("kind", required=True)
    if kind not in ("grid", "periodic"):
        raise ConfigError(f"Key '{lat.key('kind')}' must be 'grid' or 'periodic', but is {kind!r}.")
    low = 3 if kind == "periodic" else 1  # a periodic side of 2 would join two nodes twice
    rows = lat.integer("rows", low=low, high=MAX_LATTICE_SIDE)
    cols = lat.integer("cols", low=low, high=MAX_LATTICE_SIDE)
    if rows * cols < 2:
        raise ConfigError(f"Key '{t.key('lattice')}' must have at least two nodes, but is 1 x 1.")
    names = [f"n{k}" for k in range(rows * cols)]
    edges: list[Edge] = []
    for i in range(rows):
        for j in range(cols):
            a = names[i * cols + j]
            for di, dj in ((0, 1), (1, 0)):
                ii, jj = i + di, j + dj
                if kind == "periodic":
                    ii, jj = ii % rows, jj % cols
                elif ii == rows or jj == cols:
                    continue
                b = names[ii * cols + jj]
                edges.append(Edge(f"{a}-{b}", a, b, True, S=S, V_T=V_T))
    return names, _fixed(t, edges)


def _fixed(t: Table, edges: list[Edge]) -> list[Edge]:
    """The lattice with the edges of ``network.fixed = [{ edge, K | R }, ...]`` fixed."""
    if not t.has("fixed"):
        return edges
    index = {e.name: k for k, e in enumerate(edges)}
    seen: set[str] = set()
    for i, raw in enumerate(as_list(t.get("fixed"), t.key("fixed"))):
        f = Table(raw, f"{t.key('fixed')}[{i}]", {"edge", "K", "R"})
        name = f.string("edge", required=True)
        if name not in index:
            near = difflib.get_close_matches(name, list(index), n=3)
            hint = (
                f"did you mean {' or '.join(map(repr, near))}?"
                if near
                else ("lattice edges are named 'n0-n1' (nodes row-major).")
            )
            raise ConfigError(f"Key '{f.key('edge')}' names {name!r}, no lattice edge; {hint}")
        if name in seen:
            raise ConfigError(f"Key '{f.key('edge')}' repeats the edge {name!r}.")
        seen.add(name)
        if f.has("K") == f.has("R"):
            raise ConfigError(
                f"Key '{f.path}' must give the fixed edge's conductance K (S) or resistance R "
                "(Ω), exactly one of them."
            )
        K = f.number("K", positive=True)
        K = 1.0 / f.number("R", required=True, positive=True) if K is None else K
        e = edges[index[name]]
        try:
            edges[index[name]] = Edge(e.name, e.a, e.b, False, K=K)
        except CLLNError as exc:
            raise ConfigError(f"Key '{f.path}' is not a valid fixed edge: {exc}") from None
    return edges


# ------------------------------------------------------------------------------ edge file
def _edge_file(t: Table, folder: Path | None, S: float, V_T: float) -> tuple[list[Edge], list[str]]:
    """``network.file``: an edge-list CSV, relative to the TOML's folder, whose header row names
    its columns (`EDGE_COLUMNS`; ``a`` and ``b`` required)."""
    rel = data_path(t, "file", required=True)
    key = t.key("file")
    if folder is None:
        raise ConfigError(
            f"Key '{key}' is relative to the TOML file's folder, but this description has none; "
            "load it with load_config(path) or pass folder= to parse_config."
        )
    path = folder / rel
    where = f"File '{rel}' (key '{key}')"
    try:
        if path.stat().st_size > _MAX_EDGE_FILE_BYTES:
            raise ConfigError(
                f"{where} has {path.stat().st_size} bytes, more than the limit of "
                f"{_MAX_EDGE_FILE_BYTES} bytes (16 MiB) for an edge list."
            )
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where} is not UTF-8 text (at byte {exc.start}).") from None
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read: {exc.strerror} ({path}).") from None
    rows = [
        (n, [c.strip() for c in row])
        for n, row in enumerate(csv.reader(io.StringIO(text)), start=1)
        if row and any(c.strip() for c in row) and not row[0].lstrip().startswith("#")
    ]
    if not rows:
        raise ConfigError(f"{where} holds no header row and no edge.")
    (_, header), body = rows[0], rows[1:]
    bad = [c for c in header if c not in EDGE_COLUMNS]
    if bad or len(set(header)) != len(header) or not {"a", "b"} <= set(header):
        raise ConfigError(
            f"{where}, row {rows[0][0]}: the header must name distinct columns among "
            f"{list(EDGE_COLUMNS)}, with 'a' and 'b' (and not both 'K' and 'R'), but is {header}."
        )
    if "K" in header and "R" in header:
        raise ConfigError(f"{where}, row {rows[0][0]}: the header names both 'K' and 'R'.")
    if not body:
        raise ConfigError(f"{where} has a header but no edge.")
    edges, keys = [], []
    for n, cells in body:
        if len(cells) != len(header):
            raise ConfigError(
                f"{where}, row {n}: has {len(cells)} columns, but the header names {len(header)}."
            )
        edges.append(_file_edge(dict(zip(header, cells, strict=True)), f"{where}, row {n}", S, V_T))
        keys.append(f"{where}, row {n},")
    return edges, keys


def _file_edge(cells: dict[str, str], where: str, S: float, V_T: float) -> Edge:
    """One row of an edge-list file, as ``column -> text`` (empty: the default)."""

    def num(col: str, default: float | None, *, positive: bool) -> float | None:
        text = cells.get(col, "")
        if not text:
            return default
        try:
            x = float(text)
        except ValueError:
            raise ConfigError(
                f"{where}, column '{col}': must be a number, but is {show(text)}."
            ) from None
        if x != x or x in (float("inf"), float("-inf")) or (positive and x <= 0):
            what = "a positive number" if positive else "a finite number"
            raise ConfigError(f"{where}, column '{col}': must be {what}, but is {show(text)}.")
        return x

    a, b = cells["a"], cells["b"]
    for col in ("a", "b"):
        if not cells[col]:
            raise ConfigError(f"{where}, column '{col}': a node name is required.")
    name = cells.get("name") or f"{a}-{b}"
    K = num("K", None, positive=True)
    R = num("R", None, positive=True)
    K = 1.0 / R if R is not None else K
    flag = cells.get("learning", "").lower()
    if flag not in ("", "true", "false", "1", "0"):
        raise ConfigError(
            f"{where}, column 'learning': must be true or false (or 1, 0), but is "
            f"{show(cells['learning'])}."
        )
    learning = K is None if not flag else flag in ("true", "1")
    if learning and K is not None:
        raise ConfigError(
            f"{where}: a learning edge takes S and V_T, not {'R' if R is not None else 'K'}."
        )
    if not learning and K is None:
        raise ConfigError(f"{where}: the fixed edge {name!r} needs K or R.")
    if not learning and (cells.get("S") or cells.get("V_T")):
        raise ConfigError(f"{where}: the fixed edge {name!r} takes K or R, not S or V_T.")
    try:
        if learning:
            slope, threshold = num("S", S, positive=True), num("V_T", V_T, positive=False)
            return Edge(name, a, b, True, S=slope, V_T=threshold)
        return Edge(name, a, b, False, K=K)
    except CLLNError as exc:
        raise ConfigError(f"{where}: not a valid edge: {exc}") from None


# ------------------------------------------------------------------------------ outputs
def _targets(t: Table, net: Network) -> tuple[str | Differential, ...]:
    """The outputs: exactly one of ``output`` (a node), ``differential`` ([plus, minus]) or
    ``outputs`` (a list of nodes and [plus, minus] pairs)."""
    given = [k for k in ("output", "differential", "outputs") if t.has(k)]
    if len(given) != 1:
        if not given:
            raise ConfigError(
                f"Missing required key '{t.key('output')}' (or '{t.key('differential')}' or "
                f"'{t.key('outputs')}'): the network needs an output."
            )
        raise ConfigError(
            f"Key '{t.key(given[1])}' conflicts with '{t.key(given[0])}'; give one of output, "
            "differential or outputs."
        )
    if given[0] == "output":
        targets: list[str | Differential] = [_node(t.get("output"), t.key("output"), net)]
    elif given[0] == "differential":
        targets = [_pair(t.get("differential"), t.key("differential"), net)]
    else:
        targets = []
        for i, item in enumerate(as_list(t.get("outputs"), t.key("outputs"))):
            key = f"{t.key('outputs')}[{i}]"
            pair = isinstance(item, list)
            targets.append(_pair(item, key, net) if pair else _node(item, key, net))
    out_nodes = [n for x in targets for n in ((x,) if isinstance(x, str) else x)]
    if len(set(out_nodes)) != len(out_nodes):
        raise ConfigError(
            f"Key '{t.key(given[0])}' uses a node twice ({out_nodes}); each output node may be "
            "read by one output only."
        )
    return tuple(targets)


def _node(v: Any, key: str, net: Network) -> str:
    if not isinstance(v, str) or not v:
        raise ConfigError(
            f"Key '{key}' must be a node name (a non-empty string), but is {show(v)}."
        )
    if v not in net.node_index:
        raise node_error(key, v, net.nodes)
    return v


def _pair(v: Any, key: str, net: Network) -> Differential:
    if not isinstance(v, list) or len(v) != 2:
        raise ConfigError(
            f"Key '{key}' must be [plus, minus], two node names of the output V[plus] - "
            f"V[minus], but is {show(v)}."
        )
    plus, minus = _node(v[0], f"{key}[0]", net), _node(v[1], f"{key}[1]", net)
    if plus == minus:
        raise ConfigError(f"Key '{key}' must name two different nodes, but is {show(v)}.")
    return Differential(plus, minus)


def check_dangling(section: NetworkSection, used: set[str]) -> None:
    """Refuse a node that one edge only touches and that no point imposes and no output reads:
    such an edge carries no current (its gate never learns), and the node is most often a
    misspelt name (``"Outptu"``)."""
    net = section.network
    degree = dict.fromkeys(net.nodes, 0)
    for e in net.edges:
        degree[e.a] += 1
        degree[e.b] += 1
    for k, e in enumerate(net.edges):
        for end, node in (("b", e.b), ("a", e.a)):
            if degree[node] == 1 and node not in used:
                key = section.edge_keys[k]
                inline = key.endswith("]")
                raise node_error(
                    f"{key}.{end}",
                    node,
                    [n for n in net.nodes if n != node],
                    "no other edge touches and no point imposes or reads (a dangling edge "
                    "carries no current)",
                    subject="" if inline else f"{key} column '{end}'" if key[-1] == "," else key,
                )
