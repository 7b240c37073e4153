"""Property-based tests: path normalisation, whiteouts, and the merged tree against a reference model on dicts."""

from __future__ import annotations

import posixpath
import tarfile
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from explorer.layerfs import Tree, analyze, apply_layer
from explorer.layerfs.walker import normalise, walk_layer
from explorer.core.model import EntryKind, FileEntry, LayerRef
from explorer.sources import open_image

import sys
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hostile"))
from hostile_images import config_doc, docker_archive, member, tar_bytes  # noqa: E402

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SEGMENTS = st.sampled_from(["a", "b", "c", ".", "..", "", ".wh.a", ".wh..", ".wh...", ".wh.", ".wh..wh..opq",
                            "x\x1b[1m", "\udcff", "..."])
NAMES = st.one_of(st.builds(lambda lead, parts: lead + "/".join(parts), st.sampled_from(["", "/", "./", "../", "//"]),
                            st.lists(SEGMENTS, max_size=6)),
                  st.text(max_size=40))


# -- path normalisation ----------------------------------------------------------------------------

@SETTINGS
@given(NAMES)
def test_normalised_paths_are_absolute_clean_idempotent_and_never_climb(name):
    path, unsafe = normalise(name)
    assert path.startswith("/") and not path.startswith("//")
    parts = path.split("/")[1:]
    assert path == "/" or all(p not in ("", ".", "..") for p in parts)
    assert normalise(path)[0] == path
    assert posixpath.normpath(path) == path
    if not name.startswith("/") and ".." not in name.split("/"):
        assert not unsafe


# -- whiteouts in a layer tar ----------------------------------------------------------------------

@SETTINGS
@given(st.lists(NAMES.filter(lambda n: "\x00" not in n), min_size=1, max_size=8))
def test_walker_entries_are_normalised_and_never_the_root_or_above(names):
    blob = tar_bytes([member(n, data=b"x") for n in names])
    with tempfile.TemporaryFile() as fh:
        fh.write(blob)
        fh.seek(0)
        result = walk_layer(fh, LayerRef(0, "l", None, "", len(blob), None))
    for entry in result.entries:
        assert normalise(entry.path)[0] == entry.path
        if entry.kind == EntryKind.WHITEOUT:
            assert entry.path != "/"
        if entry.path == "/":
            assert entry.kind in (EntryKind.DIR, EntryKind.OPAQUE)


# -- the merged tree against a model ---------------------------------------------------------------

PATHS = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3).map(lambda p: "/" + "/".join(p))
KINDS = st.sampled_from([EntryKind.FILE, EntryKind.FILE, EntryKind.DIR, EntryKind.DIR, EntryKind.SYMLINK,
                         EntryKind.WHITEOUT, EntryKind.OPAQUE])
LAYER = st.lists(st.tuples(PATHS, KINDS, st.integers(0, 50)), max_size=7)
IMAGE = st.lists(LAYER, min_size=1, max_size=4)


def entries_of(layers) -> list[list[FileEntry]]:
    return [[FileEntry(path=p, kind=k, layer=i, member=j, size=s if k == EntryKind.FILE else 0,
                       linkname="x" if k == EntryKind.SYMLINK else None, digest=str(s) if k == EntryKind.FILE else None)
             for j, (p, k, s) in enumerate(layer)] for i, layer in enumerate(layers)]


def _drop(model: dict, path: str, itself: bool) -> None:
    for key in [k for k in model if k.startswith(path.rstrip("/") + "/") or (itself and k == path)]:
        del model[key]


def model_apply(model: dict[str, FileEntry], entries: list[FileEntry]) -> None:
    """Overlay rules, the obvious way: whiteouts of this layer hit lower layers only, then members in order."""
    for e in entries:
        if e.kind in (EntryKind.WHITEOUT, EntryKind.OPAQUE):
            _drop(model, e.path, itself=e.kind == EntryKind.WHITEOUT)
            # Docker's MkdirAll of the marker's parent: missing folders made, unless a non-folder is on the way
            parts = (e.path if e.kind == EntryKind.OPAQUE else posixpath.dirname(e.path)).split("/")[1:]
            chain = ["/" + "/".join(parts[:n]) for n in range(1, len(parts) + 1) if parts[0]]
            for parent in chain:
                if parent not in model:
                    model[parent] = FileEntry(path=parent, kind=EntryKind.DIR, layer=e.layer, member=-1)
                elif model[parent].kind != EntryKind.DIR:
                    for made in chain[:chain.index(parent)]:
                        if model[made].member == -1 and model[made].layer == e.layer:
                            del model[made]
                    break
    for e in entries:
        if e.is_whiteout:
            continue
        parts = e.path.split("/")[1:-1]
        for n in range(1, len(parts) + 1):
            parent = "/" + "/".join(parts[:n])
            if parent not in model or model[parent].kind != EntryKind.DIR:
                _drop(model, parent, itself=True)
                model[parent] = FileEntry(path=parent, kind=EntryKind.DIR, layer=e.layer, member=-1)
        prev = model.get(e.path)
        if not (prev is not None and prev.kind == EntryKind.DIR and e.kind == EntryKind.DIR):
            _drop(model, e.path, itself=True)
        model[e.path] = e


def _shape(tree_or_model) -> dict[str, tuple]:
    items = tree_or_model.entries.items() if isinstance(tree_or_model, Tree) else tree_or_model.items()
    return {p: (e.kind, e.layer, e.member) for p, e in items if p != "/"}


def _check_index(tree: Tree) -> None:
    for path in tree.entries:
        if path != "/":
            parent = posixpath.dirname(path)
            assert tree.entries[parent].kind == EntryKind.DIR and path in tree.children[parent]
    for parent, children in tree.children.items():
        assert parent in tree.entries and all(c in tree.entries for c in children)


@SETTINGS
@given(IMAGE)
def test_stacking_matches_the_model_and_whiteouts_touch_only_their_subtree(layers):
    tree, model = Tree(), {}
    for entries in entries_of(layers):
        before = dict(tree.entries)
        changes = apply_layer(tree, entries)
        model_apply(model, entries)
        assert _shape(tree) == _shape(model)
        _check_index(tree)
        # a whiteout-only layer removes exactly its paths' subtrees
        if entries and all(e.kind == EntryKind.WHITEOUT for e in entries):
            gone = {p for p in before if any(p == e.path or p.startswith(e.path + "/") for e in entries)}
            assert set(before) - set(tree.entries) == gone
        # this layer's own members survive its own whiteouts, whatever their order in the tar, unless a
        # later member of the layer sits above or below them
        own = [e for e in entries if not e.is_whiteout]
        for entry in own:
            related = [o for o in own if o.member > entry.member and (
                o.path == entry.path or o.path.startswith(entry.path + "/") or entry.path.startswith(o.path + "/"))]
            if not related:
                assert tree.get(entry.path) is entry
        assert all(e.kind != EntryKind.WHITEOUT for e, _ in changes.modified)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(IMAGE)
def test_analysis_numbers_agree_with_the_model(layers):
    tars = []
    for entries in entries_of(layers):
        members = []
        for e in entries:
            name = e.path.lstrip("/")
            if e.kind == EntryKind.WHITEOUT:
                members.append(member(posixpath.join(posixpath.dirname(name), ".wh." + posixpath.basename(name))))
            elif e.kind == EntryKind.OPAQUE:
                members.append(member(name + "/.wh..wh..opq"))
            elif e.kind == EntryKind.DIR:
                members.append(member(name, tarfile.DIRTYPE))
            elif e.kind == EntryKind.SYMLINK:
                members.append(member(name, tarfile.SYMTYPE, linkname="x"))
            else:
                members.append(member(name, data=b"x" * e.size))
        tars.append(tar_bytes(members))
    with tempfile.TemporaryDirectory() as folder:
        image = docker_archive(Path(folder) / "image.tar", tars, config=config_doc(tars))
        with open_image(image) as source:
            analysis = analyze(source)
    assert {p.kind for p in analysis.problems} <= {"path-through-link", "corrupt"}  # corrupt: a path named twice
    model: dict[str, FileEntry] = {}
    for i, report in enumerate(analysis.layers):
        model_apply(model, report.entries)
        assert _shape(analysis.tree_at(i)) == _shape(model)
    files = [e for e in model.values() if e.kind == EntryKind.FILE]
    assert analysis.final_size == sum(e.size for e in files)
    assert analysis.total_size == sum(e.size for r in analysis.layers for e in r.entries if e.kind == EntryKind.FILE)
    assert 0 <= analysis.wasted_bytes <= analysis.total_size
    assert 0 <= analysis.efficiency <= 1
    for report in analysis.layers:
        for entry in report.entries:
            assert analysis.in_final(entry) == (model.get(entry.path) is entry)
    if analysis.wasted_bytes == 0 and all(not e.is_whiteout for r in analysis.layers for e in r.entries) and \
            len({e.path for r in analysis.layers for e in r.entries}) == sum(len(r.entries) for r in analysis.layers):
        assert analysis.efficiency == 1
