def test_it_answers_without_the_database(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        r = client.get("/healthz")

    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_it_is_get_only(client):
    assert client.post("/healthz").status_code == 405
