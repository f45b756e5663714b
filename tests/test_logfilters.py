import logging

from ciapp.logfilters import MaskTokens


def record(msg, *args):
    return logging.LogRecord("x", logging.INFO, __file__, 1, msg, args, None)


def test_it_masks_query_string_tokens():
    r = record(
        '"GET /api/v1/run/x/search?token=%s&search=a HTTP/1.1" 404', "lci_abc_def"
    )
    MaskTokens().filter(r)
    assert (
        r.getMessage() == '"GET /api/v1/run/x/search?token=***&search=a HTTP/1.1" 404'
    )


def test_it_masks_bearer_headers():
    r = record("Authorization: Bearer lci_abc_def")
    MaskTokens().filter(r)
    assert r.getMessage() == "Authorization: Bearer ***"


def test_it_leaves_other_lines_alone():
    r = record("created job %s", "acme/web#3")
    MaskTokens().filter(r)
    assert r.getMessage() == "created job acme/web#3"
