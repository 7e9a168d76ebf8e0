"""Candidate releases: directories of wheels, an index's simple API (on a loopback server and a file://
index), and narrowing by a specifier."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from harness.bisect.candidates import (
    CandidateError,
    from_directories,
    from_index,
    select,
)
from tests.bisect_adapters import write_wheel


def versions(cands):
    return [str(c.version) for c in cands]


def test_a_directory_gives_its_wheels_of_the_package(tmp_path):
    for v in ("1.0.0", "1.2.0", "1.10.0", "2.0.0rc1"):
        write_wheel(tmp_path, v)
    (tmp_path / "other_pkg-9.0.0-py3-none-any.whl").write_bytes(b"x")
    (tmp_path / "normconf_planted_fw-3.0.0-cp27-cp27mu-manylinux1_x86_64.whl").write_bytes(b"x")  # not for us
    (tmp_path / "normconf_planted_fw-1.1.0.tar.gz").write_bytes(b"x")  # an sdist counts
    (tmp_path / "normconf_planted_fw-junk.whl").write_bytes(b"x")
    (tmp_path / "README").write_text("not a distribution")
    got = from_directories([tmp_path], "Normconf.Planted_FW")
    assert versions(got) == ["1.0.0", "1.1.0", "1.2.0", "1.10.0", "2.0.0rc1"]
    assert all(c.file.parent == tmp_path.resolve() for c in got)
    assert versions(select(got, None, pre=False)) == ["1.0.0", "1.1.0", "1.2.0", "1.10.0"]
    assert versions(select(got, None, pre=True))[-1] == "2.0.0rc1"
    assert versions(select(got, SpecifierSet(">=1.1,<1.10"), pre=False)) == ["1.1.0", "1.2.0"]
    with pytest.raises(CandidateError, match="not a directory"):
        from_directories([tmp_path / "missing"], "x")


PAGES = {
    "/simple/json-pkg/": ("application/vnd.pypi.simple.v1+json", json.dumps({"files": [
        {"filename": "json_pkg-1.0.0-py3-none-any.whl", "requires-python": ">=3.8", "yanked": False},
        {"filename": "json_pkg-1.1.0-py3-none-any.whl", "requires-python": ">=3.8", "yanked": "broken"},
        {"filename": "json_pkg-1.2.0-py3-none-any.whl", "requires-python": "<3", "yanked": False},
        {"filename": "json_pkg-1.3.0.tar.gz", "requires-python": None},
        {"filename": "json_pkg-1.4.0-cp27-cp27mu-manylinux1_x86_64.whl"},
        {"filename": "json_pkg-1.5.0-py3-none-any.whl", "requires-python": "not a specifier"},
        {"filename": "other-9.0.0-py3-none-any.whl"},
        "junk", {"filename": 7}]})),
    "/simple/html-pkg/": ("text/html", """<!DOCTYPE html><html><body>
        <a href="../../f/html_pkg-0.9.0-py3-none-any.whl#sha256=00">html_pkg-0.9.0-py3-none-any.whl</a>
        <a href="../../f/html_pkg-1.0.0-py3-none-any.whl" data-requires-python="&gt;=3.8">html_pkg-1.0.0-py3-none-any.whl</a>
        <a href="../../f/html_pkg-1.1.0-py3-none-any.whl" data-yanked="">html_pkg-1.1.0-py3-none-any.whl</a>
        <a href="../../f/html_pkg-2.0.0b1-py3-none-any.whl">html_pkg-2.0.0b1-py3-none-any.whl</a>
        </body></html>"""),
    "/simple/broken-json/": ("application/vnd.pypi.simple.v1+json", "{not json"),
}


@pytest.fixture(scope="module")
def index():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/simple/server-error/":
                self.send_error(500)
                return
            page = PAGES.get(self.path)
            if page is None:
                self.send_error(404)
                return
            body = page[1].encode()
            self.send_response(200)
            self.send_header("Content-Type", page[0])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    server.shutdown()
    server.server_close()


def test_an_index_lists_installable_releases(index):
    # 1.1.0 is yanked, 1.2.0 wants Python 2, 1.4.0 has only a Python 2.7 wheel; an unreadable Requires-Python
    # does not hide 1.5.0; the sdist 1.3.0 counts
    assert versions(from_index(index, "JSON_pkg")) == ["1.0.0", "1.3.0", "1.5.0"]
    assert versions(from_index(index + "/", "html-pkg")) == ["0.9.0", "1.0.0", "2.0.0b1"]
    assert from_index(index, "no-such-project") == []


def test_an_unreadable_index_is_one_line(index):
    with pytest.raises(CandidateError, match="HTTP 500"):
        from_index(index, "server-error")
    with pytest.raises(CandidateError, match="not a simple-API JSON page"):
        from_index(index, "broken-json")
    with pytest.raises(CandidateError, match="only http, https and file"):
        from_index("ftp://example.invalid/simple", "x")
    with pytest.raises(CandidateError, match="cannot be read"):
        from_index("http://127.0.0.1:9/simple", "x")  # the discard port: nothing listens


def test_a_file_index(tmp_path):
    page = tmp_path / "simple" / "html-pkg"
    page.mkdir(parents=True)
    (page / "index.html").write_text(PAGES["/simple/html-pkg/"][1])
    assert versions(from_index((tmp_path / "simple").as_uri(), "html-pkg")) == ["0.9.0", "1.0.0", "2.0.0b1"]
    with pytest.raises(CandidateError, match="file://|No such file"):
        from_index((tmp_path / "nowhere").as_uri(), "html-pkg")


def test_select_prefers_a_file_for_one_version():
    from pathlib import Path

    from harness.bisect.candidates import Candidate
    got = select([Candidate(Version("1.0")), Candidate(Version("1.0"), Path("/w/x-1.0-py3-none-any.whl")),
                  Candidate(Version("0.5"))], None, pre=False)
    assert [(str(c.version), c.file is not None) for c in got] == [("0.5", False), ("1.0", True)]
