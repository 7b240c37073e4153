"""`explorer layers docker-root:DIR` / `containerd-root:DIR` (no REF): the images and containers a seized
node's data root holds."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from explorer.core.textsafe import dump_json, safe


def list_root(run) -> int | None:
    """Print the data root's catalogue (table or JSON) and return 0; None when IMAGE is not a bare
    `docker-root:DIR` or `containerd-root:DIR` (the caller goes on with its own work)."""
    image = run.image.image or ""
    transport = image.partition(":")[0]
    if image.startswith("docker-root:"):
        from explorer.sources.docker_root import docker_root_catalogue as load
        hint = "REPO:TAG, :IMAGE-ID or :container:NAME"
    elif image.startswith("containerd-root:"):
        from explorer.sources.containerd_root import containerd_root_catalogue as load
        hint = "NAME or :container:ID"
    else:
        return None
    doc = load(image.partition(":")[2], run.image.audit_log)
    if doc is None:
        return None
    docker = doc["driver"] != "containerd"
    if run.format == "json":
        dump_json(doc)
        return 0
    console = Console(highlight=False, soft_wrap=False, color_system="auto" if sys.stdout.isatty() else None)
    images = Table(title=Text(f"images in {safe(doc['root'])} ({doc['driver']})"))
    for col in ("id", "tags", "layers", "created"):
        images.add_column(col, overflow="fold")
    for row in doc["images"]:
        layers = "-" if row["layers"] is None else str(row["layers"])
        images.add_row(row["id"][7:19], Text(safe(", ".join(row["tags"]) or "<none>")), layers,
                       Text(safe(row["created"][:19])))
    console.print(images)
    containers = Table(title=Text("containers"))
    for col in ("id", "name", "image", "state", "created"):
        containers.add_column(col, overflow="fold")
    for row in doc["containers"]:
        image = ", ".join(row["image_tags"]) or row["image"][7:19]
        state = row["state"] + (f" ({row['exit_code']})" if row["state"] == "stopped" and row["exit_code"] is not None
                                else "")
        cid = row["id"][:12] if docker else row["id"]
        containers.add_row(Text(safe(cid)), Text(safe(row["name"])), Text(safe(image)), state,
                           Text(safe(row["created"][:19])))
    console.print(containers)
    console.print(Text(f"open one with {transport}:{safe(doc['root'])}:{hint}"))
    return 0
