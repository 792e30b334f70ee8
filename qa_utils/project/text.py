"""Text that can be processed and written: JSON can decode strings that are not Unicode.

A JSON escape such as ``"\\ud800"`` decodes to a lone surrogate, which no UTF-8 writer,
tokenizer or Arrow column accepts; every loader and the service check their text with
`text_problem` and name the field instead of failing later in a library.
"""

from __future__ import annotations


def surrogate_at(text: str) -> int | None:
    """Index of the first lone surrogate in `text`, or None when it is valid Unicode.

    >>> surrogate_at("Velmora"), surrogate_at("a\\ud800b")
    (None, 1)
    """
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        return err.start
    return None


def text_problem(text: str) -> str | None:
    """Why `text` cannot be processed (a lone surrogate), or None.

    >>> text_problem("x\\udfffy")
    'holds a lone surrogate (U+DFFF) at character 1, which is not valid Unicode'
    """
    at = surrogate_at(text)
    if at is None:
        return None
    code = ord(text[at])
    return f"holds a lone surrogate (U+{code:04X}) at character {at}, which is not valid Unicode"
