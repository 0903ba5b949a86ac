"""Where a live recording starts: how many segments from the end of a live playlist cover
the seconds a task asked to rewind (downloads_app/hls.py)."""

from downloads_app.hls import segments_back


def live_playlist(*segments: str) -> str:
    return "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n" + "".join(segments)


FOUR_SEGMENTS = live_playlist(*(f"#EXTINF:2.000,\nseq_{n}.ts\n" for n in range(4)))


def test_rewinding_counts_segments_from_the_live_edge_until_they_cover_the_seconds():
    assert segments_back(FOUR_SEGMENTS, 0) == 1
    assert segments_back(FOUR_SEGMENTS, 2) == 1
    assert segments_back(FOUR_SEGMENTS, 3) == 2
    assert segments_back(FOUR_SEGMENTS, 60) == 4  # no further back than the playlist


def test_extinf_text_in_a_title_a_uri_or_a_comment_is_not_a_segment():
    playlist = live_playlist(
        "# replaced: #EXTINF:500,\n",
        '#EXTINF:2,tvg-name="#EXTINF:300"\nseq_1.ts\n',
        "#EXTINF:2,\nseq_2.ts?token=#EXTINF:900\n",
    )
    assert segments_back(playlist, 3) == 2


def test_durations_are_read_as_the_format_writes_them():
    # A space after the colon, an exponent: still seconds.
    playlist = live_playlist("#EXTINF: 2,\nseq_1.ts\n", "#EXTINF:1e1,\nseq_2.ts\n")
    assert segments_back(playlist, 10) == 1
    assert segments_back(playlist, 11) == 2


def test_a_segment_of_unknown_duration_counts_as_a_segment_of_no_seconds():
    playlist = live_playlist(
        "#EXTINF:2,\nseq_1.ts\n", "#EXTINF:-1,\nseq_2.ts\n", "#EXTINF:2,\nseq_3.ts\n"
    )
    assert segments_back(playlist, 3) == 3


def test_a_playlist_that_cannot_be_read_starts_at_the_live_edge():
    assert segments_back("<html>not a playlist</html>", 30) == 1
    assert segments_back(live_playlist("#EXTINF:1.2.3,\nseq_1.ts\n"), 30) == 1
