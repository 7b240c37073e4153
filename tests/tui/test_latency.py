"""What keeps key presses prompt on big images: when garbage is collected, how big folders are revealed."""

from __future__ import annotations

import gc
import threading

from explorer.engine import DetectorSet
from explorer.tui import gcpolicy
from explorer.tui.app import ExplorerApp
from explorer.tui.gcpolicy import NEVER, IdleCollector, collections_paused

SIZE = (160, 48)


async def test_full_collections_wait_for_a_pause_in_the_input_and_the_thresholds_come_back(
        demo_source, wait_for_scan):
    before = gc.get_threshold()
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        assert gc.get_threshold()[2] == NEVER  # never started by an allocation (a key's handler)
        app.collector.idle = 3600.0
        for _ in range(25):
            gc.collect(1)  # gen 1 collections pending a full one
        await pilot.press("down")
        await pilot.pause(0.6)  # two ticks of the timer: still pressing keys (as far as it knows)
        assert gc.get_count()[2] > 0 and not app.collector.durations
        app.collector.idle = 0.1
        await pilot.pause(0.6)
        assert app.collector.durations  # idle: the full collection ran
    assert gc.get_threshold() == before


def test_a_full_collection_runs_anyway_after_too_many_young_ones():
    collector = IdleCollector(idle=3600.0, limit=3)
    collector.start()
    try:
        collector.input()
        gc.collect()
        assert collector.tick() is None
        for _ in range(3):
            gc.collect(1)
        assert collector.tick() is not None and gc.get_count()[2] == 0
    finally:
        collector.stop()


def test_overlapping_pauses_resume_collection_when_the_last_one_ends():
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with collections_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():
        first_in.wait(5)
        with collections_paused():
            second_in.set()
            first_out.wait(5)
            seen["enabled while the second still builds"] = gc.isenabled()
            seen["paused"] = gcpolicy.paused()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"enabled while the second still builds": False, "paused": True}
    assert gc.isenabled() and not gcpolicy.paused()

