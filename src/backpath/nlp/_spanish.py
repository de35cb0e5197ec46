"""What the narrative reader needs to read Spanish, beyond its knowledge files (issue 11).

The Spanish reader is the same pipeline as the English one (``_pipeline``, ``_reader``),
built from ``knowledge/nlp/es/`` on spaCy's blank Spanish tokenizer. Two things are
specific to Spanish and live here, as pure functions:

* ``fold_accents``: people often write without accents ("dias", "despues", "esta", "tambien")
  or with them, so both the narrative copy that is matched and the lexicon words are read
  without acute accents and diaereses ("días" -> "dias", "pingüino" -> "pinguino"). The fold
  keeps the length of the text (one character for one character), so evidence spans still
  point into what the person wrote. "ñ" is kept: "año" (year) and "ano" (anus) are not the
  same word.
* ``measure_words``: the value parsers (``_values``) read English measure words. A Spanish
  measure ("desde hace tres semanas", "un 8 sobre 10", "tengo cuarenta y cinco años") is
  rewritten word by word into the English words they read ("for three weeks",
  "8 out of 10", "forty five years"); nothing else about the value is guessed here.
"""

from __future__ import annotations

import functools
import re

# Acute accents and diaereses only; "ñ" and "ç" are letters of their own.
_FOLD = str.maketrans(
    "áéíóúüÁÉÍÓÚÜàèìòùÀÈÌÒÙ",
    "aeiouuAEIOUUaeiouAEIOU",
)


# "sí" (yes) keeps its accent: folded it would be "si" (if), a hypothetical trigger.
_YES = re.compile(r"(?<![^\W\d_])[sS][íÍ](?![^\W\d_])")


def fold_accents(text: str) -> str:
    """``text`` without acute or grave accents and diaereses; same length, same offsets.

    The word "sí" (yes) keeps its accent, so that it stays apart from "si" (if).
    """
    folded = text.translate(_FOLD)
    if "í" not in text and "Í" not in text:
        return folded
    chars = list(folded)
    for match in _YES.finditer(text):
        chars[match.start() + 1] = text[match.start() + 1]
    return "".join(chars)


_UNITS = {
    "cero": "zero", "un": "one", "uno": "one", "una": "one", "dos": "two", "tres": "three",
    "cuatro": "four", "cinco": "five", "seis": "six", "siete": "seven", "ocho": "eight",
    "nueve": "nine", "diez": "ten", "once": "eleven", "doce": "twelve", "trece": "thirteen",
    "catorce": "fourteen", "quince": "fifteen", "dieciseis": "sixteen",
    "diecisiete": "seventeen", "dieciocho": "eighteen", "diecinueve": "nineteen",
    "veinte": "twenty", "veintiun": "twenty one", "veintiuno": "twenty one",
    "veintiuna": "twenty one", "veintidos": "twenty two", "veintitres": "twenty three",
    "veinticuatro": "twenty four", "veinticinco": "twenty five", "veintiseis": "twenty six",
    "veintisiete": "twenty seven", "veintiocho": "twenty eight", "veintinueve": "twenty nine",
}  # fmt: skip
_TENS = {
    "treinta": "thirty", "cuarenta": "forty", "cincuenta": "fifty", "sesenta": "sixty",
    "setenta": "seventy", "ochenta": "eighty", "noventa": "ninety",
}  # fmt: skip
_WORDS = {
    # units of time
    "hora": "hour", "horas": "hours", "hr": "hour", "hrs": "hours", "minuto": "minute",
    "minutos": "minutes", "min": "minutes", "dia": "day", "dias": "days", "noche": "night",
    "noches": "nights", "semana": "week", "semanas": "weeks", "sem": "week",
    "quincena": "fortnight", "quincenas": "fortnights", "mes": "month", "meses": "months",
    "año": "year", "años": "years", "anos": "years", "ano": "year",
    # relative days
    "hoy": "today", "ayer": "yesterday", "anoche": "last night", "anteayer": "2 days",
    "antier": "2 days", "antes de ayer": "2 days",
    # weekdays and months
    "lunes": "monday", "martes": "tuesday", "miercoles": "wednesday", "jueves": "thursday",
    "viernes": "friday", "sabado": "saturday", "domingo": "sunday",
    "finde": "weekend", "fin de semana": "weekend",
    "enero": "january", "febrero": "february", "marzo": "march", "abril": "april",
    "mayo": "may", "junio": "june", "julio": "july", "agosto": "august",
    "septiembre": "september", "setiembre": "september", "octubre": "october",
    "noviembre": "november", "diciembre": "december", "navidad": "christmas",
    "navidades": "christmas", "año nuevo": "new year",
    # quantities
    "unos": "few", "unas": "few", "varios": "several", "varias": "several",
    "algunos": "few", "algunas": "few", "pocos": "few", "pocas": "few",
    "par": "couple", "medio": "half", "media": "half",
}  # fmt: skip
# Multi-word Spanish expressions first (longest first), then single words.
_PHRASES = [
    (r"\b(un|una) par de\b|\bpar de\b", "couple"),
    (r"\b(unos|unas) (pocos|pocas)\b", "few"),
    (r"\besta (mañana|manana|tarde|noche)\b", r"this \1"),
    (r"\bla semana pasada\b|\bsemana pasada\b", "last week"),
    (r"\bel mes pasado\b|\bmes pasado\b", "last month"),
    (r"\bel año pasado\b|\baño pasado\b|\bel ano pasado\b", "last year"),
    (r"\bfin de semana pasado\b|\bel finde pasado\b", "last weekend"),
    (r"\b(mañana|manana)\b", "morning"),
    (r"\btarde\b", "afternoon"),
    (r"\by (medio|media)\b", "and a half"),
    (r"\b(medio|media) (hora|dia|semana|mes|año|ano)\b", r"half a \2"),
    (r"\b(de|sobre|en) (10|diez)\b", "out of 10"),
    (r"\b(\d{1,2}) de (enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre)\b",
     r"\2 \1th"),
    (r"\b(el|los) (\d{1,2})\b(?! (de|dias|semanas|meses|años|anos|horas))", r"the \2th"),
]  # fmt: skip
_TENS_AND_UNIT = re.compile(
    r"\b(" + "|".join(_TENS) + r") y (" + "|".join(k for k in _UNITS if k not in ("cero",)) + r")\b"
)
_HOURS = re.compile(r"\b(2[4-9]|[3-9]\d|\d{3})\s*(?:horas|hrs|hs|h)\b")
_TOKEN = re.compile(r"\d{1,2}th\b|[^\W\d_]+|\d+(?:[.,]\d+)?|\S")


@functools.lru_cache(maxsize=4096)
def measure_words(text: str) -> str:
    """A Spanish measure rewritten in the English words the value parsers read.

    ``"desde hace tres semanas"`` -> ``"desde hace three weeks"``, ``"un 8 sobre 10"`` ->
    ``"one 8 out of 10"``, ``"tengo cuarenta y cinco años"`` -> ``"tengo forty five years"``.
    Words it does not know are kept (the parsers ignore them).
    """
    lowered = fold_accents(text.lower()).replace("-", " - ")
    for pattern, replacement in _PHRASES:
        lowered = re.sub(pattern, replacement, lowered)
    # Whole days in hours ("48 horas" is 2 days; the parsers count any hours as 0 days).
    lowered = _HOURS.sub(lambda m: f"{int(m.group(1)) // 24} dias", lowered)
    lowered = _TENS_AND_UNIT.sub(lambda m: f"{_TENS[m.group(1)]} {_UNITS[m.group(2)]}", lowered)
    for phrase in ("antes de ayer", "fin de semana", "año nuevo"):
        lowered = lowered.replace(phrase, _WORDS[phrase])
    out = []
    for token in _TOKEN.findall(lowered):
        out.append(_UNITS.get(token) or _TENS.get(token) or _WORDS.get(token) or token)
    return " ".join(out)
