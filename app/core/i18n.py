"""Indonesian and English texts for problem titles and details, chosen by ``Accept-Language``."""

from typing import Literal

Lang = Literal["en", "id"]


def pick_language(accept_language: str | None) -> Lang:
    """The first of ``id``/``en`` the client prefers, honouring q-values; English otherwise."""
    if not accept_language:
        return "en"
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranked.append((-quality, position, tag.split("-")[0]))
    for negative_quality, _, primary in sorted(ranked):
        if negative_quality < 0 and primary in ("id", "en"):
            return "id" if primary == "id" else "en"
    return "en"


STATUS_TITLES: dict[int, tuple[str, str]] = {
    400: ("Bad request", "Permintaan tidak valid"),
    401: ("Unauthorized", "Tidak terautentikasi"),
    403: ("Forbidden", "Akses ditolak"),
    404: ("Not found", "Tidak ditemukan"),
    405: ("Method not allowed", "Metode tidak diizinkan"),
    406: ("Not acceptable", "Format tidak dapat diterima"),
    409: ("Conflict", "Konflik"),
    412: ("Precondition failed", "Prasyarat gagal"),
    413: ("Payload too large", "Muatan terlalu besar"),
    415: ("Unsupported media type", "Jenis media tidak didukung"),
    422: ("Validation failed", "Validasi gagal"),
    428: ("Precondition required", "Prasyarat diperlukan"),
    500: ("Internal server error", "Kesalahan internal server"),
    503: ("Service unavailable", "Layanan tidak tersedia"),
}


def status_title(status: int, lang: Lang) -> str:
    english, indonesian = STATUS_TITLES.get(status, ("Error", "Kesalahan"))
    return indonesian if lang == "id" else english
