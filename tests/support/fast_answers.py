"""Comparing a fast route's answer (ytdlphost/fast_path.py) with its view's, byte for
byte."""

from ytdlphost import view_headers as headers_of_views
from ytdlphost.fast_path import FastRequest


def fast_request(path_params: dict, query: dict | None = None, headers: dict | None = None):
    return FastRequest(path_params, query or {}, {**(headers or {})})


def view_body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def assert_same_answer(answer, response, route: str) -> None:
    """The fast answer of `route` (as registered: `files/<segment:task_id>/<segment:name>`)
    has the view's status, body and headers, once the fast path has added what every
    answer of the route's view carries and the Content-Length (compared with the body's
    length). Those added headers are compared with the view's through the real entry
    point in tests/ytdlphost/test_fast_path_equivalence.py."""
    body = view_body(response)
    assert answer is not None
    answer.headers = [*answer.headers, *headers_of_views.route_headers(route, False)]
    assert answer.status == response.status_code
    assert answer.body == body
    view_headers = {name.lower(): value for name, value in response.headers.items()}
    assert int(view_headers.pop("content-length", len(body))) == len(body)
    fast_headers = {name.decode(): value.decode() for name, value in answer.headers}
    assert fast_headers == view_headers
