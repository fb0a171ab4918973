"""The problems of API-key management."""

from app.core.errors import Conflict, NotFound


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"

    def __init__(self, key_id: int) -> None:
        super().__init__(f"There is no API key {key_id}.", f"Tidak ada kunci API {key_id}.")


class ApiKeyRevoked(Conflict):
    code = "api_key_revoked"

    def __init__(self, key_id: int) -> None:
        super().__init__(f"API key {key_id} is already revoked.", f"Kunci API {key_id} sudah dicabut.")


class CannotRevokeOwnKey(Conflict):
    code = "cannot_revoke_own_key"

    def __init__(self) -> None:
        super().__init__(
            "A key cannot revoke itself: use another admin key (or `hibah keys revoke`).",
            "Kunci tidak dapat mencabut dirinya sendiri: gunakan kunci admin lain (atau `hibah keys revoke`).",
        )
