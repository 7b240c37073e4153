"""Adversarial inputs for a regex, built from the regex itself (its parse tree), and a cost probe.

For a pattern, `attacks` gives texts that make a backtracking engine work hard if the pattern lets it:
long runs of each repetition's own alphabet after the text that leads to it, that lead-in repeated
(many starts, each running into the same long run), near-matches (an example match without its last
byte) chained with separators, and real matches chained. `cost` times a function on a text and its
4x-longer sibling: a linear scan's ratio is about 4, a quadratic one's 16, an exponential one never
ends (an alarm stops it).
"""

from __future__ import annotations

import gc
import re
import signal
import statistics
import time
from re import _constants as C, _parser as P
from typing import Callable, Iterator

from explorer.detectors.regex_parts import in_class

_CANDIDATES = b"aA0_-.=+/:; \t\n\"'@$%#!~,<>{}()[]|&\\`?*^x9Zz" + bytes(range(256))


def _alphabet(node, flags: int) -> list[bytes]:
    """Up to three bytes one step of this node can match (its 'alphabet')."""
    op, av = node
    if op is C.LITERAL:
        return [bytes([av])]
    if op is C.NOT_LITERAL:
        return [bytes([b]) for b in _CANDIDATES[:40] if b != av][:3]
    if op is C.ANY:
        return [b"a", b" ", b"-"]
    if op is C.IN:
        return [bytes([b]) for b in _CANDIDATES if in_class(b, av, flags)][:3]
    return []


class _Walk:
    """One example match of a pattern (each branch `choice`, each repeat at its minimum, at least
    once), noting the lead-in and alphabet at every repetition."""

    def __init__(self, choice: int, flags: int) -> None:
        self.choice, self.flags = choice, flags
        self.out = bytearray()
        self.groups: dict[int, bytes] = {}
        self.pumps: list[tuple[bytes, list[bytes], bytes]] = []   # (lead-in, alphabet, one step's example)

    def seq(self, items) -> None:
        for node in items:
            self.node(node)

    def node(self, node) -> None:
        op, av = node
        if op in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN):
            self.out += _alphabet(node, self.flags)[0]
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            lo, hi, sub = av
            lead = bytes(self.out)
            start = len(self.out)
            self.seq(sub)
            step = bytes(self.out[start:])
            alphabet = _alphabet(sub[0], self.flags) if len(sub) == 1 else [step] if step else []
            self.pumps.append((lead, alphabet, step))
            for _ in range(max(lo, 1 if hi else 0) - 1):
                self.out += step
            if hi == 0:
                del self.out[start:]
        elif op is C.SUBPATTERN:
            group, add, _del, sub = av
            saved, self.flags = self.flags, self.flags | add
            start = len(self.out)
            self.seq(sub)
            self.flags = saved
            if group:
                self.groups[group] = bytes(self.out[start:])
        elif op is C.ATOMIC_GROUP:
            self.seq(av)
        elif op is C.BRANCH:
            alts = av[1]
            self.seq(alts[min(self.choice, len(alts) - 1)])
        elif op is C.GROUPREF:
            self.out += self.groups.get(av, b"")
        elif op is C.GROUPREF_EXISTS:
            self.seq(av[1])
        # AT, ASSERT, ASSERT_NOT: zero width, nothing to write


def attacks(pattern: re.Pattern, keywords: tuple[bytes, ...] = (), n: int = 16_384,
            choices: int = 6) -> Iterator[tuple[str, bytes]]:
    """(name, text of about n bytes) for each attack on `pattern` (bytes, or str for a str pattern):
    examples built taking the k-th alternative of every choice, for k below `choices`."""
    tree = P.parse(pattern.pattern, pattern.flags)
    seen: set[bytes] = set()

    def fill(unit: bytes, lead: bytes = b"") -> bytes:
        return lead + unit * max(1, (n - len(lead)) // max(1, len(unit)))

    def out(name: str, text: bytes):
        if text and text not in seen:
            seen.add(text)
            yield name, text if isinstance(pattern.pattern, bytes) else text.decode("latin-1")

    branches = max([len(av[1]) for op, av in _nodes(tree.data) if op is C.BRANCH] or [1])
    for choice in range(min(branches, choices)):
        walk = _Walk(choice, pattern.flags)
        walk.seq(tree.data)
        example = bytes(walk.out)
        yield from out(f"b{choice}-near-matches", fill(example[:-1]))
        for sep in (b" ", b"-", b"\n", b"a: "):
            yield from out(f"b{choice}-near-matches-sep{sep!r}", fill(example[:-1] + sep))
            yield from out(f"b{choice}-matches-sep{sep!r}", fill(example + sep))
        for i, (lead, alphabet, step) in enumerate(walk.pumps):
            for a in alphabet[:2]:
                yield from out(f"b{choice}-p{i}-long-run-then-bad", fill(a, lead)[:-1] + b"\x00")
                yield from out(f"b{choice}-p{i}-runs-from-many-starts", fill(lead[-16:] + a * 8))
            for sep in (b"", b"-", b" "):
                yield from out(f"b{choice}-p{i}-lead-in-sep{sep!r}", fill(sep + lead[-24:]))
            if step:
                yield from out(f"b{choice}-p{i}-steps", fill(step + b" ", lead) + b"!")
    for keyword in keywords:
        for sep in (b"", b"-", b" "):
            yield from out(f"keyword-sep{sep!r}-{keyword!r}", fill(sep + keyword))


def _nodes(items):
    for op, av in items:
        yield op, av
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            yield from _nodes(av[2])
        elif op is C.SUBPATTERN:
            yield from _nodes(av[3])
        elif op in (C.ATOMIC_GROUP,):
            yield from _nodes(av)
        elif op is C.BRANCH:
            for alt in av[1]:
                yield from _nodes(alt)
        elif op in (C.ASSERT, C.ASSERT_NOT):
            yield from _nodes(av[1])


def max_width(pattern: re.Pattern) -> int:
    """The most bytes one match can span (sre's own bound; MAXREPEAT-sized when unbounded)."""
    return P.parse(pattern.pattern, pattern.flags).getwidth()[1]


class TooSlow(Exception):
    pass


def _alarm(signum, frame):
    raise TooSlow()


def timed(fn: Callable[[bytes], object], text: bytes, budget: float, rounds: int = 3, reps: int = 1) -> float:
    """Best of `rounds` CPU-times of fn(text) (this thread's, not those of other threads an xdist worker
    may still run), each the mean of `reps` calls; TooSlow past `budget` seconds for one round (a safety
    stop for an exponential pattern: the regex engine checks signals while it runs). The garbage
    collector is off while it times, as in `timeit`: a collection the calls' allocations set off costs
    time in proportion to the whole process's heap, not to the text (in a full-suite worker it made one
    round 10-40x longer, at random, so a linear pattern read 3.2-3.7 where quadratic is 4)."""
    best = float("inf")
    old = signal.signal(signal.SIGALRM, _alarm)
    collecting = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            signal.setitimer(signal.ITIMER_REAL, budget)
            try:
                t0 = time.thread_time()
                for _ in range(reps):
                    fn(text)
                best = min(best, (time.thread_time() - t0) / reps)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, old)
        if collecting:
            gc.enable()
    return best


_FLOOR = 2e-4
"""Times below this are read as this: clock noise on a fast scan must not look like growth."""
_SAMPLE = 0.01
"""With `steady`, a measured round lasts at least this long (a fast call is repeated, up to _REPS_MAX
times, and its mean taken): one round of a sub-millisecond call is at the mercy of a single cache flush or
interrupt on a busy machine (a linear pattern once read 3.19 on a full-suite run, its calls taking
0.26 and 1.04 ms)."""
_REPS_MAX = 200


def cost(fn: Callable, text, reference: Callable, *, rounds: int = 1, budget: float = 10.0,
         steady: bool = False, span: int = 4) -> tuple[float, float]:
    """(growth, relative) of fn on `text`: growth is how much longer fn takes per byte on eight
    copies of the text than on two (1.0 linear, 4.0 quadratic); relative is fn's time on the eight
    copies over `reference`'s (a plain one-pass scan of the same bytes). Two copies, not one: a
    text shorter than a pattern's bounded width is matched whole in one attempt, which is faster
    per byte than any text beyond the bound, and that step must not read as growth. `steady`: each
    round repeats a fast call to last _SAMPLE seconds, and the two sizes are timed in pairs, one right
    after the other, the growth being the median of the pairs' (for a second look at a suspect ratio:
    a one-off pause, an interrupt or the machine's other work, lands in one pair; a super-linear cost
    shows in most pairs). `span`: the large text is `span` times the small one (growth is then per
    `span`: linear 1.0, quadratic `span`)."""
    small, large = text * 2, text * (2 * span)
    if not steady:
        t_small = max(timed(fn, small, budget, rounds), _FLOOR)
        t_large = max(timed(fn, large, budget, rounds), _FLOOR)
        t_reference = max(timed(reference, large, budget, rounds), _FLOOR)
        return t_large / t_small / span, t_large / t_reference
    once = timed(fn, small, budget, 1)
    reps = max(1, min(_REPS_MAX, int(_SAMPLE / max(once, 1e-6))))
    floor = _FLOOR / reps  # clock noise on a round of `reps` calls, per call (the round lasts _SAMPLE)
    growths, t_large, t_reference = [], float("inf"), float("inf")
    for _ in range(rounds):
        pair_small = max(timed(fn, small, budget, 1, reps), floor)
        pair_large = max(timed(fn, large, budget, 1, reps), floor)
        growths.append(pair_large / pair_small / span)
        t_large = min(t_large, pair_large)
        t_reference = min(t_reference, max(timed(reference, large, budget, 1, reps), floor))
    return statistics.median(growths), t_large / t_reference
