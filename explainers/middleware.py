"""Request ids for the logs, and the Permissions-Policy header."""

import contextvars
import logging
import re
import uuid

from django.conf import settings

REQUEST_ID_HEADER = "X-Request-ID"
# A load balancer's id is kept if it looks like one; anything else gets a fresh id.
ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
current_request_id = contextvars.ContextVar("request_id", default="-")


class RequestIdMiddleware:
    """Give each request an id, echo it in the response, and stamp it on every log line.

    gunicorn's access log (gunicorn.conf.py) prints it from the response header, so one line
    per request carries method, path, status, duration and this id.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if ACCEPTABLE_ID.match(incoming) else uuid.uuid4().hex
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


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
