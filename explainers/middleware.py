"""Request ids for the logs, readers' requests on the public URLconf, the Permissions-Policy
header, and cheap refusals of hostile requests (control characters, oversized bodies, writes
to read-only pages)."""

import contextvars
import logging
import re
import uuid

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotAllowed
from django.views.decorators.http import require_safe

REQUEST_ID_HEADER = "X-Request-ID"
# A load balancer's id is kept if it looks like one; anything else gets a fresh id.
ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
current_request_id = contextvars.ContextVar("request_id", default="-")


class RequestIdMiddleware:
    """Give each request an id, echo it in the response, and stamp it on every log line.

    gunicorn's access log (docker/gunicorn.conf.py) prints it from the response header, so one line
    per request carries method, path, status, duration and this id.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_for(request)
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


def is_under(request, mount: str) -> bool:
    """Whether the request's address is under ``mount`` (settings.ADMIN_URL or API_URL),
    known without loading the URLconf that mounts it."""
    return request.path_info.startswith(f"/{mount}")


class PublicURLconfMiddleware:
    """Readers' requests resolve and reverse against PUBLIC_URLCONF, which has neither the
    admin nor the API, so a process that serves only readers never imports them. Addresses
    under the admin or the API keep ROOT_URLCONF, which holds every address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not (is_under(request, settings.ADMIN_URL) or is_under(request, settings.API_URL)):
            request.urlconf = settings.PUBLIC_URLCONF
        return self.get_response(request)


def request_id_for(request) -> str:
    """The load balancer's id when it looks like one, else a fresh one."""
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    return incoming if ACCEPTABLE_ID.match(incoming) else uuid.uuid4().hex


class RequestIdLogFilter(logging.Filter):
    def filter(self, record):
        record.request_id = current_request_id.get()
        return True


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


# C0 controls (NUL, ESC, newlines: none belongs in a URL), DEL and C1, as decoded.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# A parameter name printed back in a refusal only when it is this plain.
PLAIN_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
SAFE_METHODS = ("GET", "HEAD")


def safe_methods_only(view):
    """Django's ``require_safe`` (GET and HEAD; 405 for anything else), marked so that
    RefuseHostileRequestsMiddleware answers the 405 before the CSRF check reads a body."""
    view = require_safe(view)
    view.safe_methods_only = True
    return view


def refusal(status: int, message: str) -> HttpResponse:
    response = HttpResponse(f"{message}\n", status=status, content_type="text/plain; charset=utf-8")
    # Sent before SecurityMiddleware, which would otherwise add it.
    response["X-Content-Type-Options"] = "nosniff"
    return response


def hostile_address_refusal(request) -> HttpResponse | None:
    """A 400 for a path or query holding control characters; None for a sound address."""
    if CONTROL_CHARACTERS.search(request.path):
        return refusal(400, "Bad request: the URL path contains control characters.")
    for name, values in request.GET.lists():
        if CONTROL_CHARACTERS.search(name):
            return refusal(400, "Bad request: a query parameter name contains control characters.")
        if any(CONTROL_CHARACTERS.search(value) for value in values):
            shown = f'the query parameter "{name}"' if PLAIN_NAME.match(name) else "a query value"
            return refusal(400, f"Bad request: {shown} contains control characters.")
    return None


class RefuseHostileRequestsMiddleware:
    """Answer malformed or abusive requests with a 4xx before any view, query or body read.

    - 400 when the decoded path, or a query parameter's name or value, holds a control
      character (PostgreSQL refuses NUL in a string: it used to be a 500).
    - 413 when a request outside the admin announces a body over PUBLIC_BODY_MAX_BYTES: no
      public page takes one. The admin keeps Django's own limits (hero uploads up to 10 MB).
    - 405 for anything but GET and HEAD to a view wrapped in ``safe_methods_only``, in
      process_view: it runs before CsrfViewMiddleware's, which reads a POST body for its token.

    Early in MIDDLEWARE: after RequestIdMiddleware (so a refusal is logged with its id), before
    anything that reads the path, the query or the body.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = hostile_address_refusal(request) or self.check_body_size(request)
        return response or self.get_response(request)

    def check_body_size(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # as Django reads it: no body
        limit = settings.PUBLIC_BODY_MAX_BYTES
        if length <= limit or is_under(request, settings.ADMIN_URL):
            return None
        return refusal(413, f"Request body too large: at most {limit} bytes outside the admin.")

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "safe_methods_only", False) and request.method not in SAFE_METHODS:
            return HttpResponseNotAllowed(SAFE_METHODS)
        return None
