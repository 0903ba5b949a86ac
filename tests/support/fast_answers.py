"""Comparing a fast route's answer (ytdlphost/fast_path.py) with its view's, byte for
byte."""

from ytdlphost.fast_path import FastRequest


def fast_request(path_params: dict, query: dict | None = None, headers: dict | None = None):
    return FastRequest(path_params, query or {}, {**(headers or {})})


def view_body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def assert_same_answer(answer, response) -> None:
    """The fast answer has the view's status, body and headers (Content-Length is added
    when the fast answer is sent: compared with the body's length)."""
    body = view_body(response)
    assert answer is not None
    assert answer.status == response.status_code
    assert answer.body == body
    view_headers = {name.lower(): value for name, value in response.headers.items()}
    assert int(view_headers.pop("content-length", len(body))) == len(body)
    fast_headers = {name.decode(): value.decode() for name, value in answer.headers}
    assert fast_headers == view_headers
