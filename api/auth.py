from ninja.security import HttpBearer

from .services import api_token_authenticate


class TokenAuth(HttpBearer):
    """``Authorization: Bearer exp_…``: an API token (api_token command, or the admin).
    The request acts with its user's permissions; ``request.auth`` is the token."""

    def authenticate(self, request, token: str):
        return api_token_authenticate(presented=token)
