import pytest

from ciapp.names import stored_repository_name, whole_number


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("1", 1),
        ("42", 42),
        ("0", None),
        ("-1", None),
        ("¹", None),
        ("٣", None),
        ("1e3", None),
        ("", None),
        ("100", None),
        ("99", 99),
        ("9" * 40, None),
    ],
)
def test_whole_number(typed, expected):
    assert whole_number(typed, 99) == expected


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("Web.App", "web-app"),
        ("my repo", "my-repo"),
        ("we\x00b", None),
        ("-x", None),
        ("a/b", None),
        ("", None),
    ],
)
def test_stored_repository_name(typed, expected):
    assert stored_repository_name(typed) == expected
