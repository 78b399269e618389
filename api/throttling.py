from axes.helpers import get_client_ip_address
from django.conf import settings
from ninja.throttling import AnonRateThrottle


class ReaderThrottle(AnonRateThrottle):
    """ninja's throttle of anonymous callers, counted in the shared cache, per client address
    as the sign-in lockouts read it (behind DJANGO_TRUSTED_PROXY_COUNT proxies, the address
    the outermost one saw), at API_ANON_REQUESTS_PER_MINUTE, read at each request."""

    def __init__(self):
        super().__init__(rate=self.current_rate())

    @staticmethod
    def current_rate() -> str:
        return f"{settings.API_ANON_REQUESTS_PER_MINUTE}/min"

    def allow_request(self, request) -> bool:
        self.num_requests, self.duration = self.parse_rate(self.current_rate())
        return super().allow_request(request)

    def get_ident(self, request) -> str | None:
        return get_client_ip_address(request)
