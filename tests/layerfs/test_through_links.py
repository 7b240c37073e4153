"""A member whose path runs through a symlink (or a file) is reported: builders never write one."""

from __future__ import annotations

from explorer.scan.engine import DetectorSet, scan
from explorer.demo.imagewriter import Entry, ImageSpec, Layer
from explorer.sources import open_image


def test_member_below_a_symlink_of_a_lower_layer_is_a_problem_and_a_finding(make_image):
    spec = ImageSpec(layers=[
        Layer([Entry.dir("/usr"), Entry.dir("/usr/bin"), Entry.symlink("/bin", "usr/bin")]),
        Layer([Entry.file("/bin/ls", b"\x7fELF")], created_by="COPY ls /bin/"),
    ])
    with open_image(make_image(spec)) as source:
        result = scan(source, DetectorSet())
    problems = [p for p in result.analysis.problems if p.kind == "path-through-link"]
    assert len(problems) == 1 and "'/bin/ls'" in problems[0].message and "symlink" in problems[0].message
    (finding,) = [f for f in result.findings if f.rule_id == "suspicious.tar-path-through-link"]
    assert (finding.layer, finding.severity, finding.created_by) == (1, "medium", "COPY ls /bin/")


def test_ordinary_layers_raise_nothing(make_image):
    spec = ImageSpec(layers=[
        Layer([Entry.dir("/usr"), Entry.dir("/usr/bin"), Entry.symlink("/bin", "usr/bin")]),
        Layer([Entry.dir("/usr"), Entry.dir("/usr/bin"), Entry.file("/usr/bin/ls", b"\x7fELF"),
               Entry.file("/new/deep/file", b"x")]),
    ])
    with open_image(make_image(spec)) as source:
        result = scan(source, DetectorSet())
    assert result.analysis.problems == []
