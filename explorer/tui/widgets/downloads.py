"""While the layers are read: one line per layer, what has arrived and what the pass has read of it.

From a registry each layer blob downloads on its own thread (explorer.sources.registry, a few at a
time): its line shows the bytes received as they come, polled from the store; every source shows the
bytes the pass has read (the scan's progress callback), and a layer's line says `read` once it is done,
so the list fills in as the layers arrive."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from explorer.core.textsafe import safe
from explorer.core.units import human
from explorer.sources import ImageSource

POLL = 0.25
"""Seconds between looks at the download counters."""


def download_lines(source: ImageSource, read: dict[int, tuple[int, int]],
                   received: dict[str, tuple[int, int]]) -> list[tuple[str, str]]:
    """(text, style) per layer: `read` maps a layer index to (bytes read, total) from the scan's
    progress, `received` a blob name to (bytes downloaded, size) from a registry's store."""
    count = len(source.layers)
    lines = []
    for ref in source.layers:
        parts = [f"layer {ref.index + 1}/{count}"]
        done, total = read.get(ref.index, (0, ref.compressed_size))
        got = received.get(ref.blob)
        if done >= total and ref.index in read:
            parts.append(f"{human(total)} read")
            style = "green"
        elif got is not None:
            parts.append(f"{human(got[0])} of {human(got[1])} received, {human(done)} read")
            style = "bold"
        elif ref.index in read:
            parts.append(f"{human(done)} of {human(total)} read")
            style = "bold"
        else:
            parts.append(f"{human(ref.compressed_size)} waiting")
            style = "dim"
        if ref.created_by:
            parts.append(safe(ref.created_by)[:60])
        lines.append(("  ".join(parts), style))
    return lines


class LayerDownloads(Static):
    """The loading screen's per-layer list (removed when the scan is done)."""

    DEFAULT_CSS = """
    LayerDownloads { height: auto; max-height: 50%; padding: 0 1; overflow-y: auto; }
    """

    def __init__(self, source: ImageSource, **kwargs) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.read: dict[int, tuple[int, int]] = {}
        self.plain = ""
        """The text shown, without styles (for tests)."""

    def on_mount(self) -> None:
        self.show()
        if hasattr(self.source.store, "received"):
            self.set_interval(POLL, self.show)

    def layer_read(self, layer: int, done: int, total: int) -> None:
        """The scan's progress for one layer (on the UI thread)."""
        self.read[layer] = (done, total)
        self.show()

    def show(self) -> None:
        received = getattr(self.source.store, "received", None)
        lines = download_lines(self.source, self.read, received() if received is not None else {})
        text = Text()
        for i, (line, style) in enumerate(lines):
            text.append(("\n" if i else "") + line, style=style)
        self.plain = text.plain
        self.update(text)
