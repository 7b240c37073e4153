"""The one problem-kind enum: what each kind means for the run, and how kinds travel."""

from __future__ import annotations

import pytest

from explorer.core.problems import ProblemKind, problem_rules
from explorer.scan.layerpass import LayerOutcome, decode, encode
from explorer.layerfs.walker import WalkResult
from explorer.core.model import LayerStats, Problem


def test_the_kinds_and_what_they_mean():
    assert {k.value for k in ProblemKind if k.bad_input} == {
        "truncated", "corrupt", "missing", "digest-mismatch", "diff-id-mismatch", "decompression-bomb",
        "too-many-entries", "names-too-long", "too-large"}
    assert {k.value for k in ProblemKind if not k.cacheable} == {
        "truncated", "missing", "digest-mismatch", "diff-id-mismatch"}
    assert {k.value for k in ProblemKind if k.cuts_short} == {
        "truncated", "corrupt", "missing", "decompression-bomb", "too-many-entries", "too-large", "names-too-long"}
    assert [k.value for k in ProblemKind if k.rule is None] == ["no-tar-split"]
    assert len({r.id for r in problem_rules()}) == len(ProblemKind) - 1
    assert ProblemKind.TRUNCATED.rule.id == "integrity.truncated-layer"
    assert ProblemKind.TRUNCATED.rule.category == "integrity" and ProblemKind.UNSAFE_PATH.rule.category == "suspicious"


def test_a_problem_holds_a_kind_and_a_name_becomes_its_kind():
    problem = Problem(1, "corrupt", "layer 1: x")
    assert problem.kind is ProblemKind.CORRUPT and problem.kind == "corrupt" and f"{problem.kind}" == "corrupt"
    with pytest.raises(ValueError):
        Problem(1, "no-such-kind", "x")


def test_the_layer_encoding_keeps_the_kind():
    walk = WalkResult(LayerStats(3))
    walk.problems = [Problem(3, ProblemKind.TOO_DEEP, "layer 3: deep"), Problem(None, ProblemKind.MISSING, "gone")]
    back = decode(encode(LayerOutcome(walk)), 3).walk.problems
    assert back == walk.problems and [type(p.kind) for p in back] == [ProblemKind, ProblemKind]
