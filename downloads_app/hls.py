"""Reading HLS media playlists, with the m3u8 package: where a live recording starts."""

import m3u8


def segments_back(playlist: str, seconds: float) -> int:
    """How many segments from the end of a live HLS media playlist cover `seconds`:
    ffmpeg's `-live_start_index` counted from the end, at least 1 (the live edge).

    A playlist that cannot be read starts at the live edge; ffmpeg, which reads it next,
    says what is wrong with it.
    """
    try:
        segments = m3u8.loads(playlist).segments
    except ValueError:  # a duration that is not a number
        return 1
    # A segment of unknown duration (EXTINF -1, or none) still counts, for no seconds.
    durations = [max(segment.duration or 0.0, 0.0) for segment in segments]
    covered, count = 0.0, 0
    for duration in reversed(durations):
        count += 1
        covered += duration
        if covered >= seconds:
            break
    return max(count, 1)
