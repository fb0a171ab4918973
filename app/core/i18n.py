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
    408: ("Request timeout", "Waktu permintaan habis"),
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


# --- errors[].message ------------------------------------------------------------------------------
# Pydantic's messages in Indonesian, by error type (pydantic_core's list_all_errors()), with its context
# values in braces. Every type a JSON body, a query, a path or a header of this API can produce is here; an
# unlisted one falls back to a plain "invalid value" rather than to English.
FIELD_MESSAGES_ID: dict[str, str] = {
    "missing": "Wajib diisi",
    "extra_forbidden": "Kolom ini tidak dikenal",
    "json_invalid": "JSON tidak valid: {error}",
    "json_type": "Masukan JSON harus berupa teks",
    "model_type": "Harus berupa objek JSON",
    "model_attributes_type": "Harus berupa objek JSON",
    "dict_type": "Harus berupa objek JSON",
    "list_type": "Harus berupa daftar (array)",
    "tuple_type": "Harus berupa daftar (array)",
    "set_type": "Harus berupa daftar (array)",
    "iterable_type": "Harus berupa daftar (array)",
    "too_short": "Minimal {min_length} butir, bukan {actual_length}",
    "too_long": "Maksimal {max_length} butir, bukan {actual_length}",
    "string_type": "Harus berupa teks",
    "string_unicode": "Harus berupa teks Unicode yang valid",
    "string_too_short": "Minimal {min_length} karakter",
    "string_too_long": "Maksimal {max_length} karakter",
    "string_pattern_mismatch": "Harus sesuai pola '{pattern}'",
    "string_not_ascii": "Hanya boleh berisi karakter ASCII",
    "enum": "Harus salah satu dari: {expected}",
    "literal_error": "Harus salah satu dari: {expected}",
    "bool_type": "Harus berupa boolean (true atau false)",
    "bool_parsing": "Harus berupa boolean (true atau false)",
    "int_type": "Harus berupa bilangan bulat",
    "int_parsing": "Harus berupa bilangan bulat",
    "int_parsing_size": "Bilangan bulat terlalu besar",
    "int_from_float": "Harus berupa bilangan bulat, tanpa pecahan",
    "float_type": "Harus berupa angka",
    "float_parsing": "Harus berupa angka",
    "finite_number": "Harus berupa angka yang terhingga",
    "greater_than": "Harus lebih besar dari {gt}",
    "greater_than_equal": "Harus lebih besar dari atau sama dengan {ge}",
    "less_than": "Harus lebih kecil dari {lt}",
    "less_than_equal": "Harus lebih kecil dari atau sama dengan {le}",
    "multiple_of": "Harus kelipatan {multiple_of}",
    "decimal_type": "Harus berupa bilangan desimal",
    "decimal_parsing": "Harus berupa bilangan desimal",
    "decimal_max_digits": "Maksimal {max_digits} digit",
    "decimal_max_places": "Maksimal {decimal_places} angka di belakang koma",
    "decimal_whole_digits": "Maksimal {whole_digits} digit sebelum koma",
    "date_type": "Harus berupa tanggal (YYYY-MM-DD)",
    "date_parsing": "Harus berupa tanggal dengan format YYYY-MM-DD",
    "date_from_datetime_parsing": "Harus berupa tanggal dengan format YYYY-MM-DD",
    "date_from_datetime_inexact": "Harus berupa tanggal tanpa jam",
    "date_past": "Tanggal harus di masa lalu",
    "date_future": "Tanggal harus di masa depan",
    "datetime_type": "Harus berupa waktu (ISO 8601)",
    "datetime_parsing": "Harus berupa waktu dengan format ISO 8601",
    "datetime_from_date_parsing": "Harus berupa tanggal atau waktu dengan format ISO 8601",
    "datetime_object_invalid": "Waktu tidak valid",
    "datetime_past": "Waktu harus di masa lalu",
    "datetime_future": "Waktu harus di masa depan",
    "timezone_naive": "Waktu tidak boleh memuat zona waktu",
    "timezone_aware": "Waktu harus memuat zona waktu",
    "time_type": "Harus berupa jam",
    "time_parsing": "Harus berupa jam dengan format HH:MM[:SS]",
    "none_required": "Harus kosong (null)",
    "uuid_type": "Harus berupa UUID",
    "uuid_parsing": "Harus berupa UUID",
    "url_type": "Harus berupa URL",
    "url_parsing": "Harus berupa URL yang valid",
    "union_tag_invalid": "Jenis '{tag}' tidak dikenal",
    "union_tag_not_found": "Jenis tidak dapat ditentukan",
    "iteration_error": "Daftar tidak dapat dibaca: {error}",
    "counter_type": "Harus berupa objek JSON",
    "deque_type": "Harus berupa daftar (array)",
    "ellipsis_error": "Nilai tidak valid",
    "fraction_type": "Harus berupa bilangan pecahan",
    "fraction_parsing": "Harus berupa bilangan pecahan",
    # A validator's own ValueError; app.core.errors.Invalid carries its Indonesian text instead.
    "value_error": "Nilai tidak valid: {error}",
    "assertion_error": "Nilai tidak valid",
}
FIELD_MESSAGE_FALLBACK_ID = "Nilai tidak valid"


def field_message_id(error_type: str, context: dict[str, object]) -> str:
    """Pydantic's message for ``error_type`` in Indonesian, its context values filled in."""
    template = FIELD_MESSAGES_ID.get(error_type, FIELD_MESSAGE_FALLBACK_ID)
    try:
        return template.format(**context)
    except (KeyError, IndexError, ValueError):
        return template.split(":")[0]
