"""A merged filesystem tree and the overlay rules that stack one layer on the layers below."""

from __future__ import annotations

from dataclasses import dataclass, field

from explorer.core.model import EntryKind, FileEntry


_DIR, _WHITEOUT, _OPAQUE = EntryKind.DIR, EntryKind.WHITEOUT, EntryKind.OPAQUE


def parent_of(path: str) -> str:
    """The parent folder of an absolute normalised path; "" for the root."""
    if path == "/":
        return ""
    return path.rpartition("/")[0] or "/"


def implied_dir(path: str, layer: int) -> FileEntry:
    """A directory no tar member names, present because something lies below it."""
    return FileEntry(path=path, kind=EntryKind.DIR, layer=layer, mode=0o755, member=-1)


class Tree:
    """Visible entries by path, with a child index so that subtrees can be removed."""

    def __init__(self) -> None:
        self.entries: dict[str, FileEntry] = {"/": implied_dir("/", 0)}
        self.children: dict[str, set[str]] = {"/": set()}

    def get(self, path: str) -> FileEntry | None:
        return self.entries.get(path)

    def list(self, path: str, ordered: bool = True) -> list[FileEntry]:
        """The entries directly in a folder, in name order (in no order: `ordered=False`)."""
        names = self.children.get(path, ())
        return [self.entries[p] for p in (sorted(names) if ordered else names)]

    def walk(self, path: str = "/"):
        """Entries below path (not path itself), depth first in name order."""
        for child in sorted(self.children.get(path, ())):
            yield self.entries[child]
            yield from self.walk(child)

    def remove(self, path: str) -> list[FileEntry]:
        """Remove path and everything below it; return what was removed."""
        entry = self.entries.pop(path, None)
        if entry is None:
            return []
        removed = [entry]
        stack = [path]
        while stack:
            p = stack.pop()
            for child in self.children.pop(p, ()):
                removed.append(self.entries.pop(child))
                stack.append(child)
        parent = parent_of(path)
        if parent in self.children:
            self.children[parent].discard(path)
        return removed

    def clear_children(self, path: str) -> list[FileEntry]:
        """Hide everything below a directory (opaque whiteout); the directory stays."""
        removed = []
        for child in list(self.children.get(path, ())):
            removed.extend(self.remove(child))
        return removed

    def put(self, entry: FileEntry) -> list[FileEntry]:
        """Place an entry; return the copies it displaced (a replaced file, or a replaced subtree)."""
        path = entry.path
        displaced = self._ensure_parent(parent_of(path), entry.layer)
        prev = self.entries.get(path)
        if prev is not None:
            if prev.kind == EntryKind.DIR and entry.kind == EntryKind.DIR:
                self.entries[path] = entry
                return displaced + [prev]
            displaced += self.remove(path)
        self.entries[path] = entry
        if entry.kind == EntryKind.DIR:
            self.children.setdefault(path, set())
        self.children[parent_of(path)].add(path)
        return displaced

    def _ensure_parent(self, path: str, layer: int) -> list[FileEntry]:
        if not path:
            return []
        current = self.entries.get(path)
        if current is not None and current.kind == EntryKind.DIR:
            return []
        displaced = self._ensure_parent(parent_of(path), layer)
        if current is not None:
            displaced += self.remove(path)
        self.entries[path] = implied_dir(path, layer)
        self.children.setdefault(path, set())
        self.children[parent_of(path)].add(path)
        return displaced

    def make_missing_dirs(self, path: str, layer: int) -> None:
        """Folders for `path` and its missing ancestors (as Docker's MkdirAll makes them); nothing when
        something that is not a folder is on the way."""
        missing = []
        while path and path not in self.entries:
            missing.append(path)
            path = parent_of(path)
        if not missing or (path and self.entries[path].kind != EntryKind.DIR):
            return
        for p in reversed(missing):
            self.entries[p] = implied_dir(p, layer)
            self.children[p] = set()
            self.children[parent_of(p)].add(p)

    def blocking_ancestor(self, path: str) -> FileEntry | None:
        """The nearest ancestor of `path` that is there but is not a directory (a symlink, a file)."""
        parent = parent_of(path)
        while parent:
            current = self.entries.get(parent)
            if current is not None:
                return None if current.kind == EntryKind.DIR else current
            parent = parent_of(parent)
        return None

    def copy(self) -> "Tree":
        other = Tree.__new__(Tree)
        other.entries = dict(self.entries)
        other.children = {k: set(v) for k, v in self.children.items()}
        return other


@dataclass
class LayerChanges:
    """What one layer did to the filesystem below it."""

    added: list[FileEntry] = field(default_factory=list)
    modified: list[tuple[FileEntry, FileEntry]] = field(default_factory=list)
    """(copy below, this layer's copy)."""
    deleted: list[FileEntry] = field(default_factory=list)
    """Top-level entries a whiteout or opaque marker removed (their subtrees went with them)."""
    unchanged: list[FileEntry] = field(default_factory=list)
    """Members that restate what was already there (typically parent directories)."""
    through_links: list[tuple[FileEntry, FileEntry]] = field(default_factory=list)
    """(member, the symlink or file in its way): a member whose path runs through a non-directory.
    Container builders never write such members; the layer is stacked as if that were a folder."""


def apply_layer(tree: Tree, entries: list[FileEntry],
                on_displaced=None, on_whiteout=None) -> LayerChanges:
    """Stack one layer's entries on `tree` (in place) with overlay semantics.

    Whiteouts and opaque markers act on the layers below only, so they are applied before the
    layer's own members, whatever their order in the tar. `on_displaced(old, new_layer_entry)` is
    told about every copy that stops being visible; `on_whiteout(entry, removed)` about every
    whiteout or opaque marker and what it removed.
    """
    changes = LayerChanges()
    for entry in entries:
        kind = entry.kind
        if kind == _WHITEOUT:
            blocker = tree.blocking_ancestor(entry.path)
            if blocker is not None:  # below a file or symlink of the layers below: reported as for any member
                changes.through_links.append((entry, blocker))
            removed = tree.remove(entry.path)
            # Docker makes a member's missing parent folders (MkdirAll, 0755) before it looks at what the
            # member is: a whiteout (or a pax global header) below nothing leaves those folders behind
            tree.make_missing_dirs(parent_of(entry.path), entry.layer)
        elif kind == _OPAQUE:
            removed = tree.clear_children(entry.path)
            tree.make_missing_dirs(entry.path, entry.layer)  # the marker's parent is the folder itself
        else:
            continue
        if on_whiteout is not None:
            on_whiteout(entry, removed)
        if removed:
            if entry.kind == EntryKind.WHITEOUT:
                changes.deleted.append(removed[0])
            else:
                top = [r for r in removed if parent_of(r.path) == entry.path]
                changes.deleted.extend(top)
            if on_displaced is not None:
                for old in removed:
                    on_displaced(old, entry)
    visible, children = tree.entries, tree.children
    for entry in entries:
        kind = entry.kind
        if kind == _WHITEOUT or kind == _OPAQUE:
            continue
        path = entry.path
        parent_path = parent_of(path)
        parent = visible.get(parent_path)
        below_a_dir = parent is not None and parent.kind == _DIR
        if not below_a_dir:
            blocker = tree.blocking_ancestor(path)
            if blocker is not None:
                changes.through_links.append((entry, blocker))
        prev = visible.get(path)
        if prev is None:
            changes.added.append(entry)
            if below_a_dir:  # most members: a new path in a folder that is there; `put` in short
                visible[path] = entry
                if kind == _DIR:
                    children.setdefault(path, set())
                children[parent_path].add(path)
                continue
        elif prev.same_as(entry):
            changes.unchanged.append(entry)
        else:
            changes.modified.append((prev, entry))
        displaced = tree.put(entry)
        if on_displaced is not None:
            for old in displaced:
                on_displaced(old, entry)
    return changes
