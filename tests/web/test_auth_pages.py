"""Sign in, sign out and the account page (src/opora/auth/pages.py) on both backends."""

from __future__ import annotations

import httpx
import pytest

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.db import Database
from opora.web.sessions import COOKIE_NAME
from tests.conftest import Company
from tests.web.helpers import csrf_of, page_csrf, set_password, sign_in

ALICE = ("alice@opora.dev", "alice-secret")


class TestSignIn:
    async def test_the_form_has_labelled_fields_and_the_links(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.get("/login")
        assert r.status_code == 200
        for piece in (
            '<label for="email">',
            'id="email" name="email" type="email"',
            '<label for="password">',
            'id="password" name="password" type="password"',
            '<button type="submit" id="sign-in"',
            'data-lang="ru"',
            'data-lang="en"',
            'href="/password/forgot"',
            '<main id="main"',
        ):
            assert piece in r.text

    async def test_good_credentials_sign_in_and_go_home(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await sign_in(client, *ALICE)
        assert r.status_code == 303
        assert r.headers["location"] == "/"
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE_NAME}=")
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
        assert "secure" not in cookie.lower()
        home = await client.get("/")
        assert home.status_code == 303 and home.headers["location"] == "/inbox"
        account = await client.get("/account")
        assert account.status_code == 200
        assert "Alice Admin" in account.text
        assert 'id="sign-out"' in account.text

    async def test_email_is_matched_without_case(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await sign_in(client, " Alice@Opora.dev ", ALICE[1])
        assert r.status_code == 303

    @pytest.mark.parametrize(
        ("email", "password"),
        [
            ("alice@opora.dev", "wrong-secret"),
            ("nobody@opora.dev", "alice-secret"),
            ("lena@opora.dev", ""),  # a user without a password
            ("", ""),
        ],
    )
    async def test_bad_credentials_answer_400_and_keep_the_email(
        self, client: httpx.AsyncClient, company: Company, email: str, password: str
    ) -> None:
        r = await sign_in(client, email, password)
        assert r.status_code == 400
        assert 'role="alert"' in r.text
        assert "Wrong email or password." in r.text
        assert f'value="{email}"' in r.text
        assert (await client.get("/account")).status_code == 303  # not signed in

    async def test_a_contact_cannot_sign_in(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await sign_in(client, "carol@acme.ru", "anything-at-all")
        assert r.status_code == 400
        assert (await client.get("/account")).status_code == 303

    @pytest.mark.parametrize(
        "target",
        [
            "//evil.com",
            "https://evil.com",
            "http://evil.com/account",
            "/\\evil.com",
            "evil.com",
            "javascript:alert(1)",
        ],
    )
    async def test_next_must_be_a_path_on_this_site(
        self, client: httpx.AsyncClient, company: Company, target: str
    ) -> None:
        r = await sign_in(client, *ALICE, next_path=target)
        assert r.status_code == 303
        assert r.headers["location"] == "/"

    async def test_next_leads_back_to_the_page_asked_for(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.get("/account?saved=password")
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=/account%3Fsaved%3Dpassword"
        form = await client.get(r.headers["location"])
        assert 'name="next" value="/account?saved=password"' in form.text
        r = await sign_in(client, *ALICE, next_path="/account?saved=password")
        assert r.headers["location"] == "/account?saved=password"

    async def test_a_signed_in_user_skips_the_form(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        r = await client.get("/login?next=/account")
        assert r.status_code == 303 and r.headers["location"] == "/account"

    async def test_an_agent_with_a_password_signs_in(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await set_password(db, company.l1_agent.id, "lena-secret")
        r = await sign_in(client, "lena@opora.dev", "lena-secret")
        assert r.status_code == 303
        assert "Lena L1" in (await client.get("/account")).text


class TestPagesNeedASession:
    async def test_without_a_session_a_page_redirects_to_sign_in(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.get("/account")
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=/account"

    async def test_an_htmx_request_gets_401_with_hx_redirect(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.get(
            "/account",
            headers={"HX-Request": "true", "HX-Current-URL": "http://opora.test/account"},
        )
        assert r.status_code == 401
        assert r.headers["hx-redirect"] == "/login?next=/account"

    async def test_a_deactivated_users_session_stops_working(
        self, client: httpx.AsyncClient, db: Database, company: Company
    ) -> None:
        await set_password(db, company.l1_agent.id, "lena-secret")
        await sign_in(client, "lena@opora.dev", "lena-secret")
        assert (await client.get("/account")).status_code == 200
        async with db.unit_of_work() as s:
            await auth_service.deactivate_user(
                s, actor=system_actor("tests"), user_id=company.l1_agent.id
            )
        r = await client.get("/account")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        r = await sign_in(client, "lena@opora.dev", "lena-secret")
        assert r.status_code == 400

    async def test_a_forged_cookie_is_ignored(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        client.cookies.set(COOKIE_NAME, "eyJ1aWQiOiAxfQ==.forged.signature")
        r = await client.get("/account")
        assert r.status_code == 303


class TestSignOut:
    async def test_sign_out_clears_the_session(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        account = await client.get("/account")
        r = await client.post("/logout", data={"csrf_token": csrf_of(account.text)})
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert COOKIE_NAME not in client.cookies or client.cookies[COOKIE_NAME] == "null"
        assert (await client.get("/account")).status_code == 303

    async def test_sign_out_needs_the_csrf_token(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        r = await client.post("/logout")
        assert r.status_code == 403
        assert (await client.get("/account")).status_code == 200


class TestCsrf:
    async def test_a_missing_token_is_refused_and_the_text_comes_back(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        reply = "Здравствуйте! Мы проверили <ваш> счёт & всё исправили."
        r = await client.post("/account/language", data={"language": "ru", "body": reply})
        assert r.status_code == 403
        assert "This page has expired" in r.text
        assert "Здравствуйте! Мы проверили &lt;ваш&gt; счёт &amp; всё исправили." in r.text
        assert "<textarea" in r.text
        account = await client.get("/account")
        assert "<h1>Account</h1>" in account.text  # the language did not change

    async def test_a_wrong_token_is_refused(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        r = await client.post(
            "/account/language", data={"csrf_token": "not-the-token", "language": "ru"}
        )
        assert r.status_code == 403

    async def test_a_wrong_header_token_is_refused_and_a_right_one_passes(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        token = await page_csrf(client, "/account")
        r = await client.post(
            "/account/language", data={"language": "ru"}, headers={"X-CSRF-Token": "nope"}
        )
        assert r.status_code == 403
        r = await client.post(
            "/account/language", data={"language": "ru"}, headers={"X-CSRF-Token": token}
        )
        assert r.status_code == 303

    async def test_an_expired_session_keeps_the_draft_and_never_echoes_passwords(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        r = await client.post(
            "/login",
            data={"email": "alice@opora.dev", "password": "alice-secret", "note": "draft"},
        )
        assert r.status_code == 403
        assert "draft" in r.text and "alice@opora.dev" in r.text
        assert "alice-secret" not in r.text

    async def test_htmx_gets_the_message_for_the_main_area(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        r = await client.post(
            "/account/language",
            data={"language": "ru", "body": "a reply"},
            headers={"HX-Request": "true"},
        )
        assert r.status_code == 403
        assert r.headers["hx-retarget"] == "#main"
        assert "<html" not in r.text and "a reply" in r.text

    async def test_the_body_carries_the_token_for_htmx(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        r = await client.get("/account")
        token = csrf_of(r.text)
        assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in r.text

    async def test_signing_in_gives_a_new_token(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        before = await page_csrf(client)
        await sign_in(client, *ALICE)
        after = await page_csrf(client, "/account")
        assert before != after


class TestLanguage:
    async def test_switching_language_changes_the_page(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        token = await page_csrf(client, "/account")
        r = await client.post("/account/language", data={"csrf_token": token, "language": "ru"})
        assert r.status_code == 303
        page = await client.get(r.headers["location"])
        assert '<html lang="ru">' in page.text
        assert "<h1>Профиль</h1>" in page.text
        assert "Язык сохранён." in page.text
        assert 'value="ru" lang="ru" selected' in page.text
        r = await client.post("/account/language", data={"csrf_token": token, "language": "en"})
        assert "<h1>Account</h1>" in (await client.get("/account")).text

    async def test_an_unknown_language_is_refused(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        token = await page_csrf(client, "/account")
        r = await client.post("/account/language", data={"csrf_token": token, "language": "de"})
        assert r.status_code == 400
        assert 'id="language" name="language"\n' in r.text or 'aria-invalid="true"' in r.text

    async def test_the_users_language_wins_over_the_browsers(
        self, client: httpx.AsyncClient, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        page = await client.get("/account", headers={"Accept-Language": "ru"})
        assert "<h1>Account</h1>" in page.text

    async def test_before_sign_in_the_browser_language_is_used(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.get("/login", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"})
        assert '<html lang="ru">' in r.text and "Войти" in r.text
        r = await client.get("/login", headers={"Accept-Language": "de, en;q=0.5"})
        assert '<html lang="en">' in r.text

    async def test_the_switch_before_sign_in_is_remembered(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/language/ru?next=/login")
        assert r.status_code == 303 and r.headers["location"] == "/login"
        page = await client.get("/login", headers={"Accept-Language": "en"})
        assert "Забыли пароль?" in page.text
        r = await client.get("/language/en?next=https://evil.com")
        assert r.headers["location"] == "/login"
        assert "Forgot password?" in (await client.get("/login")).text


class TestChangePassword:
    async def _post(self, client: httpx.AsyncClient, **fields: str) -> httpx.Response:
        token = await page_csrf(client, "/account")
        return await client.post("/account/password", data={"csrf_token": token, **fields})

    async def test_a_wrong_current_password_changes_nothing(
        self, client: httpx.AsyncClient, other_client: httpx.AsyncClient, company: Company
    ) -> None:
        await sign_in(client, *ALICE)
        r = await self._post(
            client,
            current_password="not-it",
            new_password="brand-new-secret",
            new_password_repeat="brand-new-secret",
        )
        assert r.status_code == 400
        assert 'id="current-password" name="current_password"' in r.text
        assert "This is not your current password." in r.text
        assert r.text.count('aria-invalid="true"') == 1
        assert 'value="brand-new-secret"' in r.text  # the new one is kept
        assert 'value="not-it"' not in r.text
        other = other_client
        assert (await sign_in(other, "alice@opora.dev", "brand-new-secret")).status_code == 400
        assert (await sign_in(other, *ALICE)).status_code == 303

    @pytest.mark.parametrize(
        ("new", "repeat", "field", "message"),
        [
            ("short", "short", "new-password", "Use at least 8 characters."),
            ("long-enough-1", "long-enough-2", "new-password-repeat", "The two passwords differ."),
        ],
    )
    async def test_a_bad_new_password_is_marked(
        self,
        client: httpx.AsyncClient,
        company: Company,
        new: str,
        repeat: str,
        field: str,
        message: str,
    ) -> None:
        await sign_in(client, *ALICE)
        r = await self._post(
            client, current_password=ALICE[1], new_password=new, new_password_repeat=repeat
        )
        assert r.status_code == 400
        assert f'aria-describedby="{field}-error"' in r.text
        assert message in r.text
        assert f'value="{ALICE[1]}"' in r.text  # a right current password is kept

    async def test_a_new_password_works_and_signs_out_other_sessions(
        self, client: httpx.AsyncClient, other_client: httpx.AsyncClient, company: Company
    ) -> None:
        other = other_client
        await sign_in(other, *ALICE)
        await sign_in(client, *ALICE)
        r = await self._post(
            client,
            current_password=ALICE[1],
            new_password="brand-new-secret",
            new_password_repeat="brand-new-secret",
        )
        assert r.status_code == 303 and r.headers["location"] == "/account?saved=password"
        page = await client.get("/account?saved=password")
        assert page.status_code == 200 and "Your password is changed." in page.text
        assert (await other.get("/account")).status_code == 303
        assert (await sign_in(other, *ALICE)).status_code == 400
        assert (await sign_in(other, "alice@opora.dev", "brand-new-secret")).status_code == 303
