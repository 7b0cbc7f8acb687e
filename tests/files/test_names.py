"""File names made safe (runtime/storage/names.py): what is kept, and how it is served."""

from __future__ import annotations

import pytest

from runtime.storage.names import content_disposition, file_name


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../x", "x"),
        ("..", "file"),
        ("", "file"),
        ("C:\\Users\\ann\\report.pdf", "report.pdf"),
        ("a\x00b\x1fc\x7f.txt", "abc.txt"),
        ("  .hidden  ", "hidden"),
        ("é" * 300, "é" * 255),
        ('say "hi".txt', 'say "hi".txt'),
    ],
)
def test_the_name_kept(given: str, kept: str) -> None:
    assert file_name(given) == kept


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("report.pdf", "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"),
        ('a"b;c\\d.txt', "attachment; filename=\"d.txt\"; filename*=UTF-8''d.txt"),
        ('q"u;o.txt', "attachment; filename=\"q_u_o.txt\"; filename*=UTF-8''q%22u%3Bo.txt"),
        ("日本.pdf", "attachment; filename=\"__.pdf\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.pdf"),
        ("../../etc/passwd\r\n", "attachment; filename=\"passwd\"; filename*=UTF-8''passwd"),
    ],
)
def test_the_content_disposition(name: str, header: str) -> None:
    assert content_disposition(name) == header
