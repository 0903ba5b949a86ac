"""Server-side request forgery: with ALLOW_PRIVATE_URLS off, a task reaches only public
addresses and the networks in ALLOWED_PRIVATE_NETWORKS — on the first request, on every
redirect hop, and on manifests and segments. The fixture server on 127.0.0.1 is allowed;
a second server on 127.0.0.2 plays the internal service that must stay out of reach."""

import shutil
from urllib.parse import quote

import pytest

from tests.support.media_server import MediaServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def guarded(settings):
    settings.ALLOW_PRIVATE_URLS = False
    settings.ALLOWED_PRIVATE_NETWORKS = ["127.0.0.1/32"]


@pytest.fixture(scope="module")
def internal_server(media_root):
    with MediaServer(media_root, host="127.0.0.2") as server:
        yield server


def internal_requests(server):
    return len(server.records())


def test_the_allowed_network_is_reachable(guarded, run_task, progressive_url):
    _, status = run_task("/get_info", {"url": progressive_url})
    assert status["status"] == "completed"


def test_a_url_on_another_private_address_is_refused_at_once(guarded, user_client, internal_server):
    response = user_client.post(
        "/get_info", {"url": internal_server.url("progressive.mp4")}, format="json"
    )
    assert response.status_code == 400
    assert "private" in response.json()["error"]


def test_a_redirect_to_a_private_address_is_refused(
    guarded, run_task, media_server, internal_server
):
    before = internal_requests(internal_server)
    target = quote(internal_server.url("progressive.mp4"), safe="")
    _, status = run_task("/get_video", {"url": media_server.url(f"redirect?to={target}")})
    assert status["status"] == "error"
    assert "127.0.0.2" in status["error"]
    assert internal_requests(internal_server) == before


@pytest.fixture
def internal_hostname(monkeypatch):
    """`internal.test` resolves to 127.0.0.2, like an internal name in a company's DNS."""
    import socket

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return real_getaddrinfo("127.0.0.2" if host == "internal.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return "internal.test"


def test_a_hostname_is_judged_by_the_address_it_resolves_to(
    guarded, user_client, internal_server, internal_hostname
):
    url = f"http://{internal_hostname}:{internal_server.port}/progressive.mp4"
    response = user_client.post("/get_info", {"url": url}, format="json")
    assert response.status_code == 400
    # The host is named, not the address it resolved to (a name-to-address oracle).
    assert internal_hostname in response.json()["error"]
    assert "127.0.0.2" not in response.json()["error"]


def test_a_redirect_to_a_private_hostname_is_refused_on_its_address(
    guarded, run_task, media_server, internal_server, internal_hostname
):
    before = internal_requests(internal_server)
    target = quote(f"http://{internal_hostname}:{internal_server.port}/progressive.mp4", safe="")
    _, status = run_task("/get_info", {"url": media_server.url(f"redirect?to={target}")})
    assert status["status"] == "error"
    assert internal_hostname in status["error"] and "127.0.0.2" not in status["error"]
    assert internal_requests(internal_server) == before


def assert_fails_without_reaching(internal_server, run_task, root, manifest):
    """A get_video of `manifest`, served from `root` by a server of its own, fails, and
    the internal server it points into sees no request."""
    before = internal_requests(internal_server)
    with MediaServer(root) as evil:
        _, status = run_task("/get_video", {"url": evil.url(manifest)})
    assert status["status"] == "error"
    assert internal_requests(internal_server) == before


def copy_with(root, relative, old, new, tmp_path):
    """A copy of media_root's `relative` directory with one text file rewritten."""
    source = root / relative.split("/")[0]
    copy = tmp_path / source.name
    shutil.copytree(source, copy)
    manifest = tmp_path / relative
    manifest.write_text(manifest.read_text().replace(old, new))
    return tmp_path


def test_segments_on_a_private_address_are_refused(
    guarded, run_task, media_root, internal_server, tmp_path
):
    playlist = (media_root / "hls_vod" / "index.m3u8").read_text()
    first_segment = next(line for line in playlist.splitlines() if line.endswith(".ts"))
    root = copy_with(
        media_root, "hls_vod/index.m3u8", first_segment,
        internal_server.url(f"hls_vod/{first_segment}"), tmp_path,
    )  # fmt: skip
    assert_fails_without_reaching(internal_server, run_task, root, "hls_vod/index.m3u8")


def test_dash_segments_on_a_private_address_are_refused(
    guarded, run_task, media_root, internal_server, tmp_path
):
    root = copy_with(
        media_root, "dash/manifest.mpd", "<Period ",
        f"<BaseURL>{internal_server.url('dash/')}</BaseURL><Period ", tmp_path,
    )  # fmt: skip
    assert_fails_without_reaching(internal_server, run_task, root, "dash/manifest.mpd")


def test_a_thumbnail_on_a_private_address_is_never_fetched(
    guarded, internal_server, tmp_path, caplog
):
    from downloads_app import ytdlp
    from downloads_app.connection_guard import GuardedYoutubeDL
    from downloads_app.ytdlp_options import base_options

    before = internal_requests(internal_server)
    info = {"thumbnails": [{"url": internal_server.url("page/poster.jpg"), "id": "0"}]}
    with GuardedYoutubeDL(base_options()) as ydl:
        assert ytdlp.save_thumbnail(ydl, info, tmp_path, "task") is None
    assert internal_requests(internal_server) == before
    assert "no thumbnail from http://127.0.0.2" in caplog.text
