"""The wallet simulator page in a real browser: Debian's chromium, headless, driven by selenium.

It clicks through consent as a user would, and the code the page shows must be redeemed by the
merchant SDK. `make browser` (called by CI) installs chromium and chromium-driver; where they are
missing the test skips, except under CI, where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from miniauth.scopes import REGISTRY
from miniauth_sdk import OpenApiError, UrllibTransport
from miniauth_tools.local.playground import PREFIX
from miniauth_tools.scope_text import DESCRIPTIONS

from served import ServedApi

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

USER, APP, APP_NAME, CLIENT = "2088000000000001", "2021000000000002", "Demo Tickets", "2022000000000001"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
# As root, in a container, with nothing reaching beyond 127.0.0.1.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1000"]
WAIT = 30


def test_every_scope_has_plain_words_for_the_consent_sheet() -> None:
    assert set(DESCRIPTIONS) == set(REGISTRY)
    assert all(text and not text.isupper() and "_" not in text for text in DESCRIPTIONS.values())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    with ServedApi(tmp_path_factory.mktemp("playground")) as api:
        yield api


def test_the_registry_lists_users_apps_and_scopes_in_plain_words(served: ServedApi) -> None:
    registry = json.loads(raw_get(served.url + PREFIX + "registry.json"))
    assert USER in [user["userId"] for user in registry["users"]]
    app = next(app for app in registry["apps"] if app["appId"] == APP)
    assert (app["name"], app["authClientId"], app["clientName"]) == (APP_NAME, CLIENT, "Demo Merchant")
    assert "auth_user" in app["allowedScopes"]
    described = {scope["name"]: scope for scope in registry["scopes"]}
    assert described["auth_base"]["silent"] and not described["auth_user"]["silent"]
    assert described["USER_LOGIN_ID"]["description"] == DESCRIPTIONS["USER_LOGIN_ID"]


def raw_get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=15) as answer:  # noqa: S310 - the local server
        return answer.read().decode()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (CHROMIUM and DRIVER):
        reason = "chromium and chromedriver are not installed (make browser installs them: apt-get install " \
                 "chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run this test")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="miniauth-chromium-")
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _until(driver: Any, condition: Callable[[Any], Any]) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(condition)


def _by_id(driver: Any, element_id: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def _css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def _open(driver: Any, served: ServedApi) -> None:
    from selenium.webdriver.support.ui import Select

    driver.get(served.url + "/")  # the root leads to the playground
    _until(driver, lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "true")
    Select(_by_id(driver, "user")).select_by_value(USER)
    Select(_by_id(driver, "app")).select_by_value(APP)
    _until(driver, lambda d: "Demo Merchant" in _by_id(d, "app-detail").text)


def _ask(driver: Any, scopes: list[str]) -> None:
    for box in _css(driver, "#scopes input"):
        if box.is_selected() != (box.get_attribute("value") in scopes):
            box.click()
    _by_id(driver, "call-get-auth-code").click()


def _sheet(driver: Any) -> list[str]:
    """The consent sheet's lines, once it shows."""
    _until(driver, lambda d: _by_id(d, "consent-sheet").is_displayed())
    return [line.text for line in _css(driver, "#sheet-scopes li")]


def test_consent_in_the_browser_gives_a_code_the_sdk_redeems(served: ServedApi, browser: Any) -> None:
    sdk = served.merchant(retries=0)
    _open(browser, served)
    _ask(browser, ["auth_base", "auth_user", "USER_LOGIN_ID"])
    lines = _sheet(browser)
    assert _by_id(browser, "sheet-title").text == APP_NAME
    assert lines == [DESCRIPTIONS["auth_user"], DESCRIPTIONS["USER_LOGIN_ID"]]
    _by_id(browser, "allow").click()
    code = _until(browser, lambda d: _by_id(d, "auth-code").text)
    assert json.loads(_by_id(browser, "success-scopes").text) == ["auth_base", "auth_user", "USER_LOGIN_ID"]
    assert json.loads(_by_id(browser, "error-scopes").text) == {}
    assert code in _by_id(browser, "redeem-snippet").text

    pair = sdk.apply_token(code, APP)
    info = sdk.inquiry_user_info(pair.access_token, APP)
    assert info.user_id == USER and {"nickName", "loginIdInfos"} <= set(info.fields)

    # consent is remembered: no sheet the second time, a new code at once
    _ask(browser, ["auth_user"])
    second = _until(browser, lambda d: (t := _by_id(d, "auth-code").text) != code and t)
    assert not _by_id(browser, "consent-sheet").is_displayed()
    assert sdk.apply_token(second, APP).customer_id == USER

    # the settings page lists the mini program; revoking it kills the tokens the merchant holds
    item = _until(browser, lambda d: _css(d, f'#authorization-list li[data-app="{APP}"]'))[0]
    assert APP_NAME in item.text and "auth_user" in item.text
    _css(browser, f'button[data-revoke="{APP}"]')[0].click()
    _until(browser, lambda d: not _css(d, f'#authorization-list li[data-app="{APP}"]'))
    with pytest.raises(OpenApiError) as revoked:
        sdk.inquiry_user_info(pair.access_token, APP)
    assert revoked.value.result_code == "INVALID_ACCESS_TOKEN"


def test_denying_leaves_only_silent_scopes_and_open_user_info_asks_once(served: ServedApi, browser: Any) -> None:
    body = json.dumps({"userId": USER, "appId": APP}).encode()
    UrllibTransport()(served.url + "/wallet/authorizations/revoke", body, {"Content-Type": "application/json"})
    _open(browser, served)
    _ask(browser, ["auth_base", "USER_ADDRESS"])
    assert _sheet(browser) == [DESCRIPTIONS["USER_ADDRESS"]]
    _by_id(browser, "deny").click()
    code = _until(browser, lambda d: _by_id(d, "auth-code").text)
    assert json.loads(_by_id(browser, "success-scopes").text) == ["auth_base"]
    assert json.loads(_by_id(browser, "error-scopes").text) == {"USER_ADDRESS": "USER_DENIED"}
    assert served.merchant(retries=0).apply_token(code, APP).customer_id == USER

    _by_id(browser, "call-open-user-info").click()
    _sheet(browser)
    _by_id(browser, "allow").click()
    shown = _until(browser, lambda d: _by_id(d, "open-user-info-result").text)
    profile = json.loads(shown.removeprefix("response: "))
    assert (profile["code"], profile["nickName"]) == ("10000", "Ana") and "userId" not in profile
    _by_id(browser, "call-open-user-info").click()  # consent remembered: no sheet
    _until(browser, lambda d: "10000" in _by_id(d, "open-user-info-result").text)
    assert not _by_id(browser, "consent-sheet").is_displayed()
