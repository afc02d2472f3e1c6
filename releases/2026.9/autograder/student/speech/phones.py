"""The 40 frame labels of CMU 11-785's HW1P2: silence and CMUdict's 39 phones.

Festival (its "radio" phone set, lower case) and pocketsphinx (CMUdict, upper case)
both speak ARPAbet; the few allophones Festival adds fold onto the CMUdict phone
they are a variant of (the reduced vowel ``ax`` is CMUdict's ``AH``, a flap ``dx``
is a ``T``, a syllabic ``el`` an ``L``, ...), pauses and breaths onto ``[SIL]``.
"""

SILENCE = "[SIL]"
PHONES = ("AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY",
          "F", "G", "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P",
          "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH")
LABELS = (SILENCE,) + PHONES  # index = the class a frame MLP predicts
INDEX = {label: i for i, label in enumerate(LABELS)}

ALLOPHONES = {"ax": "AH", "axr": "ER", "dx": "T", "el": "L", "em": "M", "en": "N",
              "nx": "N", "hv": "HH", "ix": "IH", "ux": "UW"}
SILENCES = {"pau", "h#", "brth", "sil", "ssil", "<sil>", "<s>", "</s>", "+nsn+", "+spn+"}


def label_of(phone):
    """The HW1P2 label of an ARPAbet phone from Festival or pocketsphinx
    (case-insensitive, stress digits ignored); ValueError for anything else."""
    name = phone.strip().rstrip("012")
    if name.lower() in SILENCES or name.upper() == "SIL":
        return SILENCE
    name = ALLOPHONES.get(name.lower(), name.upper())
    if name not in INDEX:
        raise ValueError(f"{phone!r} is not an ARPAbet phone of CMUdict")
    return name
