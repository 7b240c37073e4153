"""Secrets are masked in every output: reports, the layer list, history lines, the UI and its viewer."""

from __future__ import annotations

import re

import pytest

from explorer.main import main
from explorer.demo import demo_spec, write_demo
from explorer.detectors.redact import redact_content, redact_text


def demo_secrets() -> list[str]:
    """The raw secrets planted in the demo image (generated at run time from its seed)."""
    spec = demo_spec()
    found = [item.split("=", 1)[1] for item in spec.env if item.startswith("AWS_SECRET")]
    for layer in spec.layers:
        for entry in layer.entries:
            text = entry.data.decode("utf-8", "replace")
            found += re.findall(r"(?:ghp_|xoxb-|AKIA)[A-Za-z0-9-]+", text)
    found += [m for _pos, line in spec.extra_history for m in re.findall(r"npm_[A-Za-z0-9]+", line)]
    assert len(found) >= 5
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return write_demo(str(tmp_path_factory.mktemp("demo")))


@pytest.mark.parametrize("argv", [
    ["layers", "--format", "json"], ["layers"], ["scan", "--format", "json"], ["scan", "--format", "sarif"],
    ["scan"], ["tree", "--layer", "2"],
])
def test_cli_outputs_hold_no_raw_secret(demo, argv, capsys):
    main([argv[0], demo, *argv[1:]])
    out, err = capsys.readouterr()
    for secret in demo_secrets():
        assert secret not in out and secret not in err, (argv, secret[:6])


def test_history_lines_are_redacted_but_keep_their_shape():
    line = "|1 NPM_TOKEN=npm_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5" + " /bin/sh -c npm ci"
    red = redact_text(line)
    assert red.startswith("|1 NPM_TOKEN=npm_aB3d") and red.endswith(" /bin/sh -c npm ci") and "zA5" not in red
    assert redact_text("/bin/sh -c apt-get install -y curl") == "/bin/sh -c apt-get install -y curl"
    assert redact_text("ENV DB_PASSWORD=correcthorsebattery") == "ENV DB_PASSWORD=correc" + "*" * 13


def test_viewer_content_is_redacted():
    token = "ghp_" + "Zq8" * 12
    data = f"# settings\nGITHUB_TOKEN={token}\nDEBUG=1\n".encode()
    red = redact_content(data)
    assert token.encode() not in red and b"GITHUB_TOKEN=ghp_Zq8Z" in red and red.endswith(b"\nDEBUG=1\n")


async def test_ui_shows_no_raw_secret(demo):
    from explorer.sources import open_image
    from explorer.tui.app import ExplorerApp
    from tests.support.pilot import view_copy, wait_until_scanned
    from explorer.tui.widgets.layers import LayerTable

    with open_image(demo) as source:
        app = ExplorerApp(source)
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_until_scanned(pilot)
            table = app.query_one(LayerTable)
            cells = " ".join(c.plain for r in range(table.row_count) for c in table.get_row_at(r))
            shown = await view_copy(pilot, 2, "/srv/app/.env")
            palette = " ".join(c.help for c in app.get_system_commands(app.screen) if c.help)
            for secret in demo_secrets():
                assert secret not in cells and secret not in shown and secret not in palette
            assert "GITHUB_TOKEN=ghp_" in shown
