from limits import parse

from plugin.rate_limits import LocalSlidingWindow


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_allows_the_limit_then_refuses_with_a_retry_time():
    clock = Clock()
    window = LocalSlidingWindow(clock=clock)
    item = parse("3/minute")
    assert [window.hit(item, "key", "addr") for _ in range(3)] == [None, None, None]
    retry = window.hit(item, "key", "addr")
    assert retry is not None and 0 < retry <= 60
    assert window.hit(item, "other-key", "addr") is None  # buckets are per key and address


def test_the_previous_window_fades_out():
    clock = Clock(60 * 1000)  # the start of a window
    window = LocalSlidingWindow(clock=clock)
    item = parse("10/minute")
    for _ in range(10):
        assert window.hit(item, "k") is None
    clock.now += 60  # next window: the previous ten still weigh fully
    assert window.hit(item, "k") is not None
    clock.now += 30  # half-way: the previous window weighs five
    assert [window.hit(item, "k") for _ in range(5)] == [None] * 5
    assert window.hit(item, "k") is not None


def test_memory_stays_bounded():
    window = LocalSlidingWindow(max_keys=100, clock=Clock())
    item = parse("5/second")
    for index in range(1_000):
        window.hit(item, str(index))
    assert len(window._counts) <= 100
