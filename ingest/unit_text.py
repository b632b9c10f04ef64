"""What people type for a unit, made comparable before matching (pure: text in, text out).

Province names reach tidtam pasted from PDFs, typed on phones, copied from office letterheads and
folder names. `normalise_unit_text` turns each of those into the text the person meant to write;
`ingest.units` matches that text, and the warehouse keeps what was really typed beside the unit.
"""

from __future__ import annotations

import re
import unicodedata

from ingest.thaidate import thai_digits_to_arabic

# SARA AM (U+0E33) is one character, but PDF text layers and some Thai fonts give it as NIKHAHIT
# (U+0E4D) + SARA AA (U+0E32), often with the tone mark between them ("ลําปาง", "นํ้า"). NFKC also
# decomposes U+0E33 into the pair. PyThaiNLP's normalize() composes it the same way
# (github.com/PyThaiNLP/pythainlp, pythainlp/util/normalize.py: NIKHAHIT, tone marks, SARA AA).
_SARA_AM = re.compile("\u0e4d([\u0e48-\u0e4b]?)\u0e32")
# SARA E typed twice looks exactly like SARA AE ("เเพร่" for "แพร่"): the commonest Thai typing slip,
# the first rule of PyThaiNLP's normalize() (same file).
_SARA_E_TWICE = "\u0e40\u0e40"
# Unicode's format characters (category Cf, Unicode 14 as in Python 3.11): zero-width space and
# (non-)joiners, word joiner, soft hyphen, BOM, direction marks and embeddings, tag characters. A
# regex, not a per-character category lookup: matching runs on every folder name of a large campaign.
_FORMAT_CHARS = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]")
_SPACES = re.compile(r"\s+")  # str patterns: every Unicode space and line break (str.isspace)
# A sort number in front of a name: "01 ยะลา", "01_ยะลา", "1. ยะลา", "15) ยะลา" (folders numbered
# in alphabetical order). Only 1-3 digits, then a separator, then something that is not a digit.
_SORT_NUMBER = re.compile(r"^\d{1,3}(?:\s*[._)\-]\s*|\s+)(?=\D)")
# The Community Development Department's office names and short forms, as its own sites write
# them: "พช.พิจิตร" (phichit.cdd.go.th), "พช.พระนครศรีอยุธยา" (ayutthaya.cdd.go.th), "สำนักงานพัฒนา
# ชุมชนจังหวัดฉะเชิงเทรา" (chachoengsao.cdd.go.th), "พัฒนาการจังหวัดพัทลุง" (the head's title,
# phatthalung.cdd.go.th); and as field reports do: "พช.เมืองยะลา", "พช ราชบุรี",
# "ทีมถอดบทเรียนจังหวัด". Longest first. "พัฒนาการ" alone is not here: it is a real
# sub-district (แขวงพัฒนาการ, Bangkok).
_OFFICE_PREFIX = re.compile(
    r"^(?:สำนักงานพัฒนาชุมชน(?:จังหวัด|อำเภอ)?|สนง\.?\s*พัฒนาชุมชน(?:จังหวัด|อำเภอ)?|"
    r"สนง\.?\s*พช\.?\s*(?:[จอ]\.)?|สพ[จอ](?:\.|\s)|พช\.?\s*[จอ]\.|พช[จอ](?:\.|\s)|พช(?:\.|\s)|"
    r"พัฒนาการ(?:จังหวัด|อำเภอ)|ทีมถอดบทเรียน(?:จังหวัด)?)\s*")


def tidy_typed(text: str) -> str:
    """The characters a person meant, case kept: one SARA AM, no invisible marks, plain spaces, Arabic digits."""
    text = unicodedata.normalize("NFKC", str(text))  # full-width letters and digits, compatibility spaces
    text = _SARA_AM.sub("\\1\u0e33", text).replace(_SARA_E_TWICE, "\u0e41")
    text = _SPACES.sub(" ", _FORMAT_CHARS.sub("", text))  # invisible marks go; any space is one space
    return thai_digits_to_arabic(text).strip()


def normalise_unit_text(text: str) -> str:
    """What a person typed for a unit, as the name they meant (lower case, no office or sort number in front).

    A number alone stays (it may be a unit code). A number in front of a name is a sort number and the
    name decides, even when the number is another unit's code: "15 ยะลา" is Yala, not Ang Thong (15),
    because folders numbered 01-76 in alphabetical order are common and most of 10-96 are province codes.
    """
    text = tidy_typed(text)
    while True:  # "01 สพจ.ยะลา", "สพจ. 01 ยะลา": each pass only shortens the text
        shorter = _OFFICE_PREFIX.sub("", _SORT_NUMBER.sub("", text)).strip()
        if shorter == text:
            return text.casefold()
        text = shorter
