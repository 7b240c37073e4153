"""Wires the stages: source → one pass per layer (detectors fed as it streams) → stacking → findings.

No Textual import here: the headless scanner and the UI both call `scan`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

from explorer.detectors.base import DetectorSet, HistoryItem, LayerDelta, ScanOptions, failure_match
from explorer.core.findings import Finding, Match, dedupe_and_sort
from explorer.detectors import deepchecks
from explorer.scan.cache import LayerCache, check_blobs, detector_names, pack, settings_key, unpack
from explorer.core.imagesummary import ImageSummary, LayerSummary
from explorer.core.limits import DEFAULT, Limits
from explorer.core.model import FileEntry, LayerStats, Problem
from explorer.detectors.redact import redact_text
from explorer.core.textsafe import safe

if TYPE_CHECKING:
    from explorer.layerfs import ImageAnalysis
    from explorer.sources import ImageSource

ProgressFn = Callable[[int, int, int], None]
"""progress(layer index, bytes of this blob read so far, blob size): `layerfs.analysis.ProgressFn`.

The reading and stacking modules (explorer.scan.layerjobs, explorer.layerfs: tar, decompressors, process
pools) are imported when a scan reads or stacks, not by a warm scan that takes a whole result."""


@dataclass
class ScanResult:
    analysis: ImageAnalysis | None
    """The stacked image; None when the caller did not need it (`scan(need_analysis=False)`) and the
    whole result came from the cache."""
    findings: list[Finding]
    detectors: DetectorSet
    errors: list[str] = field(default_factory=list)
    """Detector failures (a detector that raised on one file); the scan went on."""
    cached_layers: list[int] = field(default_factory=list)
    """Layers whose results came from the layer cache (their blobs were only hashed, not read)."""
    summary: ImageSummary | None = None
    """What the reports show of the image (from `analysis` when not given)."""
    remembered: bool = False
    """True when the whole result came from the cache (nothing decoded, nothing stacked)."""

    def __post_init__(self) -> None:
        if self.summary is None and self.analysis is not None:
            self.summary = self.analysis.summary()


def _problem_findings(analysis: ImageAnalysis) -> Iterable[Finding]:
    for problem in analysis.problems:
        rule = problem.kind.rule
        if rule is None:
            continue
        layer = analysis.layers[problem.layer] if problem.layer is not None and problem.layer < len(analysis.layers) else None
        yield Finding(rule_id=rule.id, category=rule.category, severity=rule.severity, title=rule.title,
                      source="config", layer=problem.layer, path=None, line=None, in_final_image=True,
                      evidence=safe(problem.message)[:300], created_by=layer.ref.created_by if layer else "",
                      layer_digest=layer.stats.digest if layer else "")


def _redacted(finding: Finding) -> Finding:
    """History lines, and the evidence of non-secret rules, can quote a secret: mask it there too."""
    evidence = finding.evidence if finding.category == "secret" else redact_text(finding.evidence)
    return dataclasses.replace(finding, created_by=redact_text(finding.created_by), evidence=evidence)


def analyze_image(source: ImageSource, progress: ProgressFn | None = None, *, cache: LayerCache | None = None,
                  jobs: int | None = 1, limits: Limits = DEFAULT) -> ImageAnalysis:
    """`layerfs.analyze` with the layer cache and worker processes: the layers, no detectors."""
    from explorer.layerfs.analysis import stack
    from explorer.scan.layerjobs import read_layers

    with _no_cyclic_gc():
        outcomes = read_layers(source, [], settings=settings_key([], limits=limits), progress=progress,
                               cache=cache, jobs=jobs, limits=limits)
        return stack(source, [o.walk for o in outcomes])


@contextlib.contextmanager
def _no_cyclic_gc():
    """Reading and stacking a big image makes a few hundred thousand acyclic objects (entries, tree
    nodes); the cyclic collector would walk them again and again for nothing (15 % of a warm scan)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def scan(source: ImageSource, detectors: DetectorSet, options: ScanOptions = ScanOptions(),
         progress: ProgressFn | None = None, *, cache: LayerCache | None = None, jobs: int | None = 1,
         limits: Limits = DEFAULT, need_analysis: bool = True) -> ScanResult:
    """Read every layer once, feeding the file detectors as it streams, then run the others.

    `cache`: reuse (and store) per-layer results, and the whole result of an image whose every layer
    could be stored; `jobs`: worker processes for the layers (1: all in this process; None: as many
    as cores when there is enough to read); `need_analysis=False`: the caller needs only the findings
    and `ScanResult.summary`, so a whole result the cache holds for this image is taken as it is
    (once every layer blob is checked as for a layer row), with no decoding and no stacking."""
    with _no_cyclic_gc():
        key = _image_key(source, detectors, options, limits) if cache is not None else None
        if key is not None and not need_analysis:
            result = _remembered(source, detectors, cache, key, progress)
            if result is not None:
                return result
        result, outcomes = _scan(source, detectors, options, progress, cache, jobs, limits)
        if key is not None and not result.errors and all(o.cacheable(r) for o, r in zip(outcomes, source.layers)):
            cache.store_image(key, _encode_result(result))
        return result


# -- whole results in the cache -------------------------------------------------------------------

RESULT_FORMAT = 3
_FINDING_FIELDS = tuple(f.name for f in dataclasses.fields(Finding))
_STATS_FIELDS = tuple(f.name for f in dataclasses.fields(LayerStats))


def _image_key(source: ImageSource, detectors: DetectorSet, options: ScanOptions, limits: Limits) -> str | None:
    """Everything a scan's result depends on: each layer's row key (layer content, rule set, file
    detectors, settings, code), the config (by digest), what the manifest says of each layer, the
    problems met opening the image, the layer and image detectors and the options."""
    settings = settings_key(detectors.file, options.disabled, limits)
    if not source.layers or any(ref.diff_id is None for ref in source.layers):
        return None
    layer_keys = [LayerCache.key(ref.diff_id, ref.digest or "", detectors.rules_sha256, settings)
                  for ref in source.layers]
    refs = [(r.index, r.blob, r.digest, r.media_type, r.compressed_size, r.diff_id, r.created_by)
            for r in source.layers]
    names = detector_names(detectors.layer + detectors.image)
    return LayerCache.image_key(layer_keys, source.kind, source.config.id, repr(refs),
                                repr([(p.layer, p.kind.value, p.message) for p in source.problems]),
                                detectors.rules_sha256, settings, names, ",".join(sorted(options.disabled)),
                                repr(dataclasses.astuple(limits)))


def _encode_result(result: ScanResult) -> bytes:
    summary = result.summary
    doc = (RESULT_FORMAT,
           [(tuple(getattr(layer.stats, f) for f in _STATS_FIELDS), layer.added, layer.modified, layer.deleted)
            for layer in summary.layers],
           [(p.layer, p.kind.value, p.message) for p in summary.problems],
           [tuple(getattr(f, name) for name in _FINDING_FIELDS) for f in result.findings])
    return pack(doc)


def _remembered(source: ImageSource, detectors: DetectorSet, cache: LayerCache, key: str,
                progress: ProgressFn | None) -> ScanResult | None:
    """The whole result stored under `key`, once every layer blob has been checked to be the bytes
    it was for (`layerjobs.check_blobs`); None on any doubt (the scan then runs as usual)."""
    payload = cache.image(key)
    if payload is None:
        return None
    try:
        version, layers, problems, findings = unpack(payload)
        if version != RESULT_FORMAT or len(layers) != len(source.layers):
            return None
        summary = ImageSummary(source, [LayerSummary(ref, LayerStats(*stats), added, modified, deleted)
                                        for ref, (stats, added, modified, deleted) in zip(source.layers, layers)],
                               [Problem(*p) for p in problems])
        found = [Finding(*f) for f in findings]
    except (ValueError, TypeError):
        return None
    from explorer.sources.base import repeated

    copies = repeated(source)  # a blob listed again is the same claim: hashed once
    claims = {layer.index: (layer.ref, layer.stats.digest, layer.stats.compressed_size) for layer in summary.layers
              if layer.index not in copies}
    if not all(check_blobs(source, cache, claims).values()):
        return None
    if progress is not None:
        for layer in summary.layers:
            progress(layer.index, layer.stats.compressed_size, layer.stats.compressed_size)
    return ScanResult(analysis=None, findings=found, detectors=detectors, cached_layers=list(range(len(layers))),
                      summary=summary, remembered=True)


def _scan(source, detectors, options, progress, cache, jobs, limits) -> tuple[ScanResult, list]:
    from explorer.scan.detectpool import failure as _failure
    from explorer.layerfs.analysis import stack
    from explorer.scan.layerjobs import read_layers

    outcomes = read_layers(source, detectors.file, factory=detectors.factory, rules=detectors.rules_sha256,
                           settings=settings_key(detectors.file, options.disabled, limits), progress=progress,
                           cache=cache, jobs=jobs, limits=limits)
    analysis = stack(source, [o.walk for o in outcomes])
    raw: list[tuple[FileEntry, Match]] = [pair for o in outcomes for pair in o.matches]
    facts = [pair for pair in raw if pair[1].is_fact]  # for explorer.detectors.deepchecks, never findings
    raw = [pair for pair in raw if not pair[1].is_fact] if facts else raw
    errors: list[str] = [e for o in outcomes for e in o.errors]
    findings: list[Finding] = []

    def file_finding(entry: FileEntry, match: Match) -> Finding:
        report = analysis.layers[entry.layer]
        return Finding.from_match(match, source="file", layer=entry.layer, path=entry.path + match.member,
                                  in_final_image=analysis.in_final(entry), created_by=report.ref.created_by,
                                  layer_digest=report.stats.digest, content_sha256=entry.digest or "")

    findings.extend(file_finding(entry, match) for entry, match in raw)
    for report in analysis.layers:
        view = LayerDelta(index=report.index, created_by=report.ref.created_by, added=report.changes.added,
                         modified=report.changes.modified, deleted=report.changes.deleted,
                         entries=report.entries)
        for detector in detectors.layer:
            try:
                findings.extend(file_finding(entry, match) for entry, match in detector.scan_layer(view))
            except Exception as exc:  # noqa: BLE001 - one failing detector must not end the scan
                errors.append(_failure(detector, f"layer {report.index}", exc))
    config = source.config
    for detector in detectors.image:
        try:
            for match in detector.scan_config(config):
                findings.append(Finding.from_match(match, source="config", layer=None, path=None,
                                                   in_final_image=True, created_by=""))
            for position, entry in enumerate(config.history, start=1):
                item = HistoryItem(position=position, created_by=entry.created_by, layer=entry.layer)
                for match in detector.scan_history(item):
                    layer = analysis.layers[entry.layer] if entry.layer is not None and entry.layer < len(analysis.layers) else None
                    digest = layer.stats.digest if layer is not None else ""
                    findings.append(Finding.from_match(match, source="history", layer=entry.layer, path=None,
                                                       in_final_image=True, created_by=entry.created_by,
                                                       layer_digest=digest))
        except Exception as exc:  # noqa: BLE001
            errors.append(_failure(detector, "the config", exc))
            findings.append(Finding.from_match(failure_match(detector.name or type(detector).__name__,
                                                             type(exc).__name__),
                                               source="config", layer=None, path=None, in_final_image=True,
                                               created_by=""))
    findings.extend(_problem_findings(analysis))
    # image-wide checks over the stacked layers (package verification, same content): explorer.detectors.deepchecks
    findings, failed = deepchecks.run(analysis, facts, findings, file_finding, options.disabled, source.config)
    errors.extend(failed)
    if options.disabled:
        findings = [f for f in findings if f.rule_id not in options.disabled]
    findings = [_redacted(f) for f in findings]
    return ScanResult(analysis=analysis, findings=dedupe_and_sort(findings), detectors=detectors, errors=errors,
                      cached_layers=[i for i, o in enumerate(outcomes) if o.cached]), outcomes


def stderr_progress(enabled: bool) -> tuple[ProgressFn | None, Callable[[], None]]:
    """A rich progress bar on stderr (bytes of layer blobs read), when stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        return None, lambda: None
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("layer {task.fields[layer]}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True), transient=True)
    bar.start()
    tasks: dict[int, int] = {}

    def progress(layer: int, done: int, total: int) -> None:
        if layer not in tasks:
            tasks[layer] = bar.add_task("", total=total or None, layer=layer)
        bar.update(tasks[layer], completed=done)

    return progress, bar.stop


__all__ = ["DetectorSet", "ScanResult", "analyze_image", "scan", "stderr_progress", "Problem"]
