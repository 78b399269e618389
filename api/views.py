"""API v1: the endpoints, thin, over selectors (reads) and services (writes).

Mounted at /api/v1/ (site_config/urls.py): the OpenAPI document at /api/v1/openapi.json, its
interactive docs at /api/v1/docs (Swagger UI from ninja's static files, served by WhiteNoise
like ours, under the site's Content-Security-Policy).
"""

import json
from collections.abc import Callable

from django.core.exceptions import TooManyFilesSent
from django.http import HttpResponsePermanentRedirect
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from ninja import File, NinjaAPI, Path, Query, Status, Swagger, UploadedFile
from ninja.errors import AuthenticationError, ValidationError

from explainers.listings import ListingError
from explainers.search import UnsearchableQuery

from . import selectors
from .auth import TokenAuth
from .caching import cached_answer, json_answer
from .pagination import BadCursor
from .schemas import (
    SLUG_PATTERN,
    CategoryDetail,
    CategoryPage,
    CategoryParams,
    CategoryPath,
    Error,
    ExplainerDetail,
    ExplainerFilters,
    ExplainerPage,
    ImportParams,
    ImportProblem,
    ImportReport,
    SearchPage,
    SearchParams,
    SeriesDetail,
    SeriesPage,
    SeriesParams,
)
from .selectors import BadParameter, Links, NotFound
from .services import import_report_data, listings_import_uploaded, missing_import_permissions
from .throttling import ReaderThrottle

# What any read may answer besides its 200 (documented, so that clients and schemathesis
# know them): a 304 to a repeated request with its ETag, a 400 naming the parameter, a 429
# past the throttle (with Retry-After).
READ_ANSWERS = {304: None, 400: Error, 429: Error}
# Refused in plain text before the API runs (explainers.middleware): control characters in
# the address (400), a body over PUBLIC_BODY_MAX_BYTES (413).
PLAIN_TEXT_REFUSALS = {
    400: "Bad request: a control character in the address (refused before the API runs).",
    413: "Request body too large (DJANGO_PUBLIC_BODY_MAX_BYTES).",
}


class ContentAPI(NinjaAPI):
    """ninja's API, whose OpenAPI document is made once per process (it only changes with
    the code) and also states the plain-text refusals of the middleware in front of it."""

    _schemas: dict

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        if path_params:
            return super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        cached = self.__dict__.setdefault("_schemas", {})
        if path_prefix not in cached:
            schema = super().get_openapi_schema(path_prefix=path_prefix)
            for methods in schema["paths"].values():
                for operation in methods.values():
                    add_plain_text_refusals(operation)
            cached[path_prefix] = schema
        return cached[path_prefix]


def add_plain_text_refusals(operation: dict) -> None:
    answers = operation["responses"]
    for status, description in PLAIN_TEXT_REFUSALS.items():
        if status == 413 and "requestBody" not in operation:
            continue
        answer = answers.setdefault(status, {"description": description, "content": {}})
        answer.setdefault("content", {})["text/plain"] = {"schema": {"type": "string"}}


class LocalSwagger(Swagger):
    """Swagger UI from ninja's own template and files, served here under the site's
    Content-Security-Policy. ninja takes them from a CDN unless it is an installed app, which
    it is not (settings.NINJA_DIR)."""

    def render_page(self, request, api, **kwargs):
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        context = {
            "swagger_settings": json.dumps(self.settings, indent=1),
            "api": api,
            # Writes take a bearer token (api/auth.py), never the session: no CSRF token.
            "add_csrf": False,
        }
        return render(request, self.template, context)


api = ContentAPI(
    title="AI Explainers API",
    version="1",
    description="What readers see, as JSON: categories, explainers, series and search. "
    "Lists come as {items, next}: follow `next` (a cursor) to the end. Imports take a "
    "bearer token (manage.py api_token create).",
    urls_namespace=selectors.API_NAMESPACE,
    docs=LocalSwagger(settings={"validatorUrl": None}),
    throttle=[ReaderThrottle()],
)


def answer(request, params: dict, build: Callable[[Links], dict], *, cached: bool = True):
    """The JSON of ``build``'s data, through the answer cache unless ``cached`` is false."""
    links = Links(request)

    def render() -> bytes:
        return json.dumps(build(links), ensure_ascii=False, separators=(",", ":")).encode()

    return cached_answer(request, params, render) if cached else json_answer(render())


# Reads


@api.get(
    "/categories",
    response={200: CategoryPage, **READ_ANSWERS},
    url_name="categories",
    tags=["categories"],
    summary="The category tree",
)
def categories(request, params: Query[CategoryParams]):
    return answer(
        request, params.model_dump(), lambda links: selectors.category_page(params, links)
    )


@api.get(
    "/categories/{path:path}",
    response={200: CategoryDetail, 404: Error, **READ_ANSWERS},
    url_name="category",
    tags=["categories"],
    summary="One category, with its subcategories",
)
def category(request, where: Path[CategoryPath]):
    return answer(request, {}, lambda links: selectors.category_detail(where.path, links))


@api.get(
    "/explainers",
    response={200: ExplainerPage, 404: Error, **READ_ANSWERS},
    url_name="explainers",
    tags=["explainers"],
    summary="Published explainers, filtered and ordered",
)
def explainers(request, filters: Query[ExplainerFilters]):
    return answer(
        request,
        filters.model_dump(),
        lambda links: selectors.explainer_page(filters, links),
        cached=filters.q is None,
    )


@api.get(
    "/explainers/{slug}",
    response={200: ExplainerDetail, 301: None, 404: Error, **READ_ANSWERS},
    url_name="explainer",
    tags=["explainers"],
    summary="One explainer, with its body (an old slug answers 301)",
)
def explainer(request, slug: str = Path(..., pattern=SLUG_PATTERN, max_length=255)):
    try:
        return answer(request, {}, lambda links: selectors.explainer_detail(slug, links))
    except NotFound:
        moved = selectors.moved_explainer(slug)
        if moved is None:
            raise
        return HttpResponsePermanentRedirect(Links(request).api("explainer", slug=moved))


@api.get(
    "/series",
    response={200: SeriesPage, **READ_ANSWERS},
    url_name="series",
    tags=["series"],
    summary="Series readers have something to read in",
)
def series(request, params: Query[SeriesParams]):
    return answer(request, params.model_dump(), lambda links: selectors.series_page(params, links))


@api.get(
    "/series/{slug}",
    response={200: SeriesDetail, 404: Error, **READ_ANSWERS},
    url_name="series_detail",
    tags=["series"],
    summary="One series",
)
def series_detail(request, slug: str = Path(..., pattern=SLUG_PATTERN, max_length=100)):
    return answer(request, {}, lambda links: selectors.series_detail(slug, links))


@api.get(
    "/search",
    response={200: SearchPage, **READ_ANSWERS},
    url_name="search",
    tags=["search"],
    summary="The site's search, with highlighted passages",
)
def search(request, params: Query[SearchParams]):
    return answer(request, {}, lambda links: selectors.search_page(params, links), cached=False)


# Writes


@api.post(
    "/imports",
    auth=TokenAuth(),
    response={200: ImportReport, 400: ImportProblem, 401: Error, 403: Error},
    url_name="imports",
    tags=["imports"],
    summary="Import listing files, as manage.py import_listings does",
)
def imports(request, files: File[list[UploadedFile]], params: Query[ImportParams]):
    """All or nothing: every file is read and checked before anything is written, in one
    transaction; any problem answers 400 naming the file and the line, with nothing
    written. The token's user needs every permission an import uses."""
    missing = missing_import_permissions(request.auth.user)
    if missing:
        return Status(
            403, {"detail": f"The token's user may not import: missing {', '.join(missing)}."}
        )
    report = listings_import_uploaded(
        token=request.auth, files=files, parent=params.parent, dry_run=params.dry_run
    )
    return Status(200, import_report_data(report))


# Errors: JSON naming what was wrong


@api.exception_handler(NotFound)
def not_found(request, error):
    return api.create_response(request, {"detail": str(error)}, status=404)


@api.exception_handler(BadParameter)
@api.exception_handler(BadCursor)
def bad_parameter(request, error):
    return api.create_response(request, {"detail": str(error)}, status=400)


@api.exception_handler(UnsearchableQuery)
def unsearchable(request, error):
    return api.create_response(request, {"detail": f"q: {error}"}, status=400)


@api.exception_handler(ValidationError)
def invalid(request, error):
    problems = []
    for problem in error.errors:
        where = [str(part) for part in problem.get("loc", ()) if part not in ("query", "path")]
        where = [part for part in where if part not in ("filters", "params")]
        problems.append(f"{'.'.join(where) or 'request'}: {problem.get('msg', 'invalid')}")
    return api.create_response(request, {"detail": "; ".join(problems)}, status=400)


@api.exception_handler(AuthenticationError)
def unauthenticated(request, error):
    response = api.create_response(
        request,
        {"detail": "A valid API token is needed: Authorization: Bearer exp_…"},
        status=401,
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(MultiPartParserError)
@api.exception_handler(TooManyFilesSent)
def unreadable_upload(request, error):
    return api.create_response(
        request,
        {"detail": f"files: not a multipart/form-data body that can be read ({error})"},
        status=400,
    )


@api.exception_handler(ListingError)
def bad_listing(request, error):
    return api.create_response(
        request,
        {
            "detail": str(error),
            "errors": [{"file": error.source, "line": error.line, "problem": error.problem}],
        },
        status=400,
    )
