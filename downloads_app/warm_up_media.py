"""What the worker's warm-up (ytdlp.warm_up) extracts, answered from memory: a direct file,
a DASH manifest and an HLS master playlist. Extracting each once, a worker compiles the regular
expressions and loads the modules that these extractions need (yt-dlp compiles most of
its patterns on first use, through the `re` module's cache), and every task's child
inherits them instead of doing it again. With this and the TLS context made once
(connection_guard.GuardedUrllibRH), a child's first extraction of a DASH manifest takes
33 ms of CPU instead of 75 (bench/direct_info.py has what a get_info task gains).

Each is the smallest document of its kind that yt-dlp extracts in full; no byte of media
is read. The host is reserved (RFC 2606): nothing here is ever fetched from a network.
"""

BASE = "http://warm-up.invalid/"

DASH_MANIFEST = b"""<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S"
     minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
 <Period>
  <AdaptationSet mimeType="video/mp4">
   <Representation id="video" codecs="avc1.64001e" width="320" height="180" frameRate="25"
                   bandwidth="300000">
    <BaseURL>video.mp4</BaseURL>
    <SegmentBase indexRange="0-100"><Initialization range="0-50"/></SegmentBase>
   </Representation>
  </AdaptationSet>
  <AdaptationSet mimeType="audio/mp4" lang="en">
   <Representation id="audio" codecs="mp4a.40.2" audioSamplingRate="44100" bandwidth="64000">
    <BaseURL>audio.mp4</BaseURL>
    <SegmentBase indexRange="0-100"><Initialization range="0-50"/></SegmentBase>
   </Representation>
  </AdaptationSet>
 </Period>
</MPD>
"""

HLS_PLAYLIST = b"""#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=320x180,CODECS="avc1.64001e,mp4a.40.2"
video.m3u8
"""

# {url: (Content-Type, body)}. Not a web page: the generic extractor's search for embeds
# in it compiles the patterns of hundreds of extractors, which made every worker's
# warm-up 1.5 s longer.
ANSWERS = {
    BASE + "video.mp4": ("video/mp4", b""),
    BASE + "manifest.mpd": ("application/dash+xml", DASH_MANIFEST),
    BASE + "index.m3u8": ("application/vnd.apple.mpegurl", HLS_PLAYLIST),
}
