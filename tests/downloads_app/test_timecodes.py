import math

import pytest

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
