"""The API's interactive docs (/api/v1/docs) in a real browser, under the site's CSP: Swagger
UI from our own static files draws every endpoint, with no script refused and no request
to another site."""

import pytest

from .test_browser import browser  # noqa: F401  (the module's chromium)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_docs_draw_every_endpoint_with_nothing_refused_by_the_csp(browser, live_server):  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    problems, requests = [], []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    # CSP refusals reach the page as events (and the console), whatever their directive.
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('CSP refused ' + e.violatedDirective + ' ' + e.blockedURI));"
    )

    page.goto(f"{live_server.url}/api/v1/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)

    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert len(paths) == 8
    assert "/api/v1/explainers/{slug}" in [path.strip() for path in paths]
    assert problems == []
    assert all(url.startswith(live_server.url) for url in requests), requests
    context.close()
