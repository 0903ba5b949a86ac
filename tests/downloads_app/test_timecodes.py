import math

import pytest

from downloads_app import timecodes
from downloads_app.timecodes import parse_seconds


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0.0),
        (90, 90.0),
        (12.5, 12.5),
        ("75", 75.0),
        ("2.25", 2.25),
        ("01:30", 90.0),
        ("1:02:03", 3723.0),
        ("00:00:05.5", 5.5),
        (" 10:00 ", 600.0),
    ],
)
def test_it_parses_numbers_and_clock_times(value, seconds):
    assert math.isclose(parse_seconds(value), seconds)


@pytest.mark.parametrize(
    "value",
    [-1, "-5", "1:2:3:4", "10:75", "ten", "", None, True, [], {}, "nan", "inf", 1e400, 10**400],
)
def test_it_rejects_what_is_not_a_time(value):
    with pytest.raises(ValueError):
        parse_seconds(value)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "00:00:00"), (20, "00:00:20"), (20.5, "00:00:20.5"), (3599.9996, "01:00:00"),
     (90061.25, "25:01:01.25")],
)  # fmt: skip
def test_a_length_is_shown_as_a_clip_time_is_written(seconds, shown):
    assert timecodes.clock(seconds) == shown


def test_a_clip_inside_or_of_unknown_media_is_no_problem():
    assert timecodes.clip_outside_media(19.9, 20) is None
    assert timecodes.clip_outside_media(3600, None) is None
    assert "which is 00:00:20 long" in timecodes.clip_outside_media(20, 20)
