"""Pure text analysis: stemming (ru, en), synonyms and the backend query strings."""

from __future__ import annotations

import pytest

from opora.search.analysis import (
    MAX_TERM,
    fts5_query,
    index_text,
    query_groups,
    stem,
    terms,
    tokens,
    tsquery,
)


class TestStem:
    @pytest.mark.parametrize(
        ("forms", "language"),
        [
            (["вход", "входа", "входом", "входе"], "ru"),
            (["пароль", "пароля", "паролем", "пароли"], "ru"),
            (["ошибка", "ошибки", "ошибку", "ошибкой"], "ru"),
            (["password", "passwords", "Password"], "en"),
            (["payment", "payments"], "en"),
            (["refund", "refunds", "refunded", "refunding"], "en"),
        ],
    )
    def test_word_forms_share_one_stem(self, forms: list[str], language: str) -> None:
        assert len({stem(f) for f in forms}) == 1, {f: stem(f) for f in forms}

    def test_yo_and_ye_are_the_same_letter(self) -> None:
        assert stem("учётная") == stem("учетная")

    def test_a_mixed_script_word_is_kept_as_it_is(self) -> None:
        assert stem("wifiшка") == "wifiшка"

    def test_a_number_is_kept_as_it_is(self) -> None:
        assert stem("404") == "404"

    def test_a_very_long_word_is_cut_not_stemmed(self) -> None:
        word = "a" * 100
        assert stem(word) == "a" * MAX_TERM


class TestTokensAndTerms:
    def test_splits_on_anything_that_is_not_a_word_character(self) -> None:
        assert tokens("Не могу войти: ошибка #404 (carol@acme.ru)") == [
            "не", "могу", "войти", "ошибка", "404", "carol", "acme", "ru",
        ]  # fmt: skip

    def test_drops_underscore_only_tokens(self) -> None:
        assert tokens("a ___ b") == ["a", "b"]

    def test_terms_are_the_stems_in_order(self) -> None:
        assert terms("Forgot passwords") == [stem("forgot"), "password"]

    def test_index_text_joins_the_stems(self) -> None:
        assert index_text("Сброс пароля") == f"{stem('сброс')} {stem('пароль')}"


class TestQueryGroups:
    def test_each_word_becomes_a_group_with_its_own_stem(self) -> None:
        groups = query_groups("пароля")
        assert len(groups) == 1
        assert stem("пароль") in groups[0]

    @pytest.mark.parametrize(
        ("query", "finds"),
        [
            ("войти", "вход"),  # stemming alone cannot relate these two
            ("вход", "войти"),
            ("войти", "login"),
            ("пароль", "password"),
            ("password", "пароль"),
            ("жалоба", "претензия"),
            ("refund", "возврат"),
            ("учетка", "аккаунт"),
        ],
    )
    def test_synonyms_join_the_group_both_ways(self, query: str, finds: str) -> None:
        (group,) = query_groups(query)
        assert stem(finds) in group

    def test_forms_of_one_word_are_one_group(self) -> None:
        assert len(query_groups("пароль пароля Пароли")) == 1

    def test_a_word_without_synonyms_is_a_group_of_one(self) -> None:
        assert query_groups("printer") == [["printer"]]

    @pytest.mark.parametrize("query", ["", "   ", "!!! ???", "— «» …"])
    def test_a_query_without_words_has_no_groups(self, query: str) -> None:
        assert query_groups(query) == []


class TestBackendQueries:
    def test_fts5_ors_alternatives_and_ands_groups(self) -> None:
        assert fts5_query([["a", "b"], ["c"]]) == '("a" OR "b") AND ("c")'

    def test_fts5_strips_double_quotes(self) -> None:
        assert fts5_query([['x"y']]) == '("xy")'

    def test_tsquery_ors_alternatives_and_ands_groups(self) -> None:
        assert tsquery([["a", "b"], ["c"]]) == "('a' | 'b') & ('c')"

    def test_tsquery_strips_quotes_and_backslashes(self) -> None:
        assert tsquery([["x'y\\z"]]) == "('xyz')"


class TestSynonymsStayNarrow:
    def test_signing_in_does_not_mean_logs(self) -> None:
        """«войти» must not find every ticket whose note says "checked the logs"."""
        (group,) = query_groups("войти")
        assert stem("logs") not in group
        assert stem("login") in group
