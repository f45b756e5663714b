"""The service's mirrors of git sources, on real repositories."""

import pytest

from ciapp.git import (
    GitError,
    Mirror,
    UnknownRevision,
    check_ref_name,
    check_revision,
    check_source,
)


@pytest.fixture
def mirror(source):
    return Mirror(1, str(source.path))


def test_it_resolves_the_tip_of_a_branch(mirror, source):
    commit = mirror.resolve("master", "")

    assert commit.sha == source.git("rev-parse", "master")
    assert commit.title == "Add checkout flow"
    assert commit.body == "The cart can now be paid for.\nSecond line."
    assert commit.author == "Grace Hopper"
    assert (mirror.path / "HEAD").exists()


def test_it_fetches_again_for_each_resolve(mirror, source):
    mirror.resolve("master", "")
    newer = source.commit("Later work")

    assert mirror.resolve("master", "").sha == newer


def test_it_forgets_deleted_branches(mirror, source):
    assert mirror.resolve("feature/pay", "").title == "WIP: pay with card"
    source.git("branch", "-D", "feature/pay")

    with pytest.raises(UnknownRevision):
        mirror.resolve("feature/pay", "")


def test_it_follows_force_pushes(mirror, source):
    mirror.resolve("master", "")
    source.git("reset", "--hard", "HEAD~1")

    assert mirror.resolve("master", "").title == "Initial commit"


@pytest.mark.parametrize(
    "branch, ref, message",
    [
        ("nope", "", "There is no branch 'nope' in the repository."),
        ("master", "origin/nope", "There is no commit, branch or tag 'origin/nope'"),
        ("master", "0" * 40, "There is no commit, branch or tag"),
    ],
)
def test_it_names_what_it_could_not_find(mirror, branch, ref, message):
    with pytest.raises(UnknownRevision, match=message):
        mirror.resolve(branch, ref)


def test_a_tag_of_a_tree_is_not_a_commit(mirror, source):
    tree = source.git("rev-parse", "HEAD^{tree}")
    source.git("tag", "tree-tag", tree)

    with pytest.raises(UnknownRevision):
        mirror.resolve("master", "tree-tag")


def test_a_missing_source_is_a_git_error(tmp_path):
    with pytest.raises(GitError, match="could not fetch"):
        Mirror(2, str(tmp_path / "nothing")).resolve("master", "")


def test_an_unreachable_url_fails_without_prompting(tmp_path):
    with pytest.raises(GitError):
        Mirror(3, "http://127.0.0.1:9/nothing.git").resolve("master", "")


def test_check_source(source, tmp_path):
    check_source(str(source.path))
    with pytest.raises(GitError, match="could not reach"):
        check_source(str(tmp_path / "nothing"))


@pytest.mark.parametrize(
    "name, ok",
    [
        ("main", True),
        ("feature/pay", True),
        ("release-1.2", True),
        ("", False),
        ("-rf", False),
        ("a..b", False),
        ("a b", False),
        ("a~1", False),
        ("a^", False),
        ("a:b", False),
        ("x.lock", False),
        ("trailing/", False),
        ("a@{1}", False),
        ("x" * 256, False),
    ],
)
def test_check_ref_name(name, ok):
    assert (check_ref_name(name, "branch") is None) is ok


@pytest.mark.parametrize(
    "rev, ok",
    [
        ("main~2", True),
        ("v1.0^", True),
        ("abc123", True),
        ("a..b", False),
        ("HEAD:file", False),
        ("-x", False),
        ("a\tb", False),
    ],
)
def test_check_revision(rev, ok):
    assert (check_revision(rev, "ref") is None) is ok
