"""Name, phone-region and filler pools for the held-out detection corpus.

Sources (see detectors/tests/heldout/README.md for versions and licences):
- mimesis 22.2.0 locale data (MIT): given names and surnames per locale,
  native scripts for ru, uk, kk, el, ar, fa, ja, ko, zh; street and city names.
- nam_dict.txt by Joerg Michael, shipped in gender-guesser 0.4.0 (GNU FDL 1.2+):
  romanized given names per country, weighted by the file's frequency columns.
- pypinyin 0.55.0 (MIT) and anyascii 0.3.3 (ISC): Latin transliterations of
  mimesis' Chinese and Cyrillic names.
- HAND lists below: written for this corpus (CC0) for countries the two data
  sources do not cover (Hebrew, Devanagari and Thai script names; romanized
  surnames of Japan, Korea, India, Vietnam, Arab countries, West and East
  Africa, the Philippines, Indonesia, Pakistan and Bangladesh).

None of these is a source of the detectors' dictionary (US Census 1990 via
`names`, Faker, detectors/data/curated_names.txt).
"""

import json
import os
import zlib

import anyascii
import gender_guesser
import mimesis
from pypinyin import lazy_pinyin

MIMESIS = os.path.join(os.path.dirname(mimesis.__file__), "datasets")
NAM_DICT = os.path.join(os.path.dirname(gender_guesser.__file__), "data", "nam_dict.txt")

NAM_COUNTRIES = """great_britain ireland usa italy malta portugal spain france
belgium luxembourg the_netherlands east_frisia germany austria
swiss iceland denmark norway sweden finland estonia latvia
lithuania poland czech_republic slovakia hungary romania
bulgaria bosniaand croatia kosovo macedonia montenegro serbia
slovenia albania greece russia belarus moldova ukraine armenia
azerbaijan georgia the_stans turkey arabia israel china india
japan korea vietnam other_countries""".split()


def _flat(v):
    if isinstance(v, dict):
        out = []
        for x in v.values():
            out.extend(x)
        return out
    return list(v)


GENDER = {}  # name -> "male"/"female", from mimesis' gendered lists


def _mimesis(locale):
    with open(os.path.join(MIMESIS, locale, "person.json"), encoding="utf-8") as f:
        d = json.load(f)
    for key in ("names", "surnames"):
        v = d.get(key)
        if isinstance(v, dict) and key == "surnames" and set(v) == {"male", "female"}:
            for gender, names in v.items():
                for n in names:
                    n = " ".join(n.split())
                    GENDER[(locale, n)] = gender
        if isinstance(v, dict) and key == "names":
            for gender, names in v.items():
                for n in names:
                    GENDER[(locale, " ".join(n.split()))] = gender
    given = [n.strip() for n in _flat(d.get("names", [])) if n.strip()]
    sur = [n.strip() for n in _flat(d.get("surnames", [])) if n.strip()]
    # mimesis lists a few double spaces ("أبو  عبد الله"): normalise them.
    given = sorted({" ".join(n.split()) for n in given})
    sur = sorted({" ".join(n.split()) for n in sur})
    return given, sur


def _mimesis_address(locale):
    with open(os.path.join(MIMESIS, locale, "address.json"), encoding="utf-8") as f:
        d = json.load(f)
    st = d.get("street", {})
    sfx = st.get("suffix", [])
    return d.get("city", []), st.get("name", []), sfx if isinstance(sfx, list) else []


_nam_cache = None


def _nam():
    """{country: [(name, weight)]} from nam_dict.txt, '+' expanded to '-'."""
    global _nam_cache
    if _nam_cache is not None:
        return _nam_cache
    out = {c: [] for c in NAM_COUNTRIES}
    with open(NAM_DICT, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line or line[0] in "#=":
                continue
            # Column 30 '+' marks duplicate lines with expanded umlauts.
            if len(line) > 29 and line[29] == "+":
                continue
            name = line[3:29].strip()
            if not name or " " in name:
                continue
            name = name.replace("+", "-")
            cols = line[30:]
            for i, c in enumerate(NAM_COUNTRIES):
                if i < len(cols) and cols[i].strip():
                    w = int(cols[i], 16)
                    out[c].append((name, w))
    _nam_cache = out
    return out


def freq(w):
    """nam_dict's frequency digits are logarithmic (1 rare .. 13 extremely
    common); turn them into sampling weights."""
    return round(1.5 ** w, 2)


def nam_given(country, min_weight=1):
    """Given names of a nam_dict country, most frequent first, with weights."""
    items = [(n, freq(w)) for n, w in _nam()[country] if w >= min_weight]
    items.sort(key=lambda x: (-x[1], x[0]))
    return items


_GREEK = {
    "α": "a", "ά": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "έ": "e", "ζ": "z",
    "η": "i", "ή": "i", "θ": "th", "ι": "i", "ί": "i", "ϊ": "i", "ΐ": "i", "κ": "k",
    "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "ό": "o", "π": "p", "ρ": "r",
    "σ": "s", "ς": "s", "τ": "t", "υ": "y", "ύ": "y", "ϋ": "y", "φ": "f", "χ": "ch",
    "ψ": "ps", "ω": "o", "ώ": "o",
}


def greek_latin(s):
    low = s.lower().replace("ου", "ou").replace("ού", "ou").replace("αι", "ai")
    low = low.replace("ει", "ei").replace("μπ", "b").replace("ντ", "nt")
    out = "".join(_GREEK.get(c, c) for c in low)
    return out[:1].upper() + out[1:]


def cyr_latin(s):
    return anyascii.anyascii(s).replace("'", "")


def pinyin_name(s):
    return "".join(lazy_pinyin(s)).capitalize()


# ---------------------------------------------------------------- hand lists (CC0)

HAND = {
    "he_native": (
        "יוסי נועה אביגיל דניאל מיכל איתי תמר אורי שירה עומר יעל אליה רוני נדב הילה "
        "עידו מאיה גיל ליאור אסף רותם טל ענבל יונתן").split(),
    "he_native_sur": (
        "כהן לוי מזרחי פרץ ביטון אברהם פרידמן שפירא אזולאי דהן אוחיון גבאי קליין "
        "רוזנברג ברק אשכנזי חדד סגל וקנין גולדברג").split(),
    "he_sur": (
        "Cohen Levi Mizrahi Peretz Biton Avraham Friedman Shapira Azoulay Dahan Ohayon "
        "Gabay Klein Rosenberg Ben-David Barak Ashkenazi Hadad Segal Vaknin Goldberg "
        "Katz Ben-Ami Golan Tal Avidan Shemesh Ronen").split(),
    "hi_native": (
        "राहुल प्रिया अमित सुनीता विकास अंजलि रोहित पूजा संजय नेहा अर्जुन कविता दीपक "
        "मीरा आदित्य स्नेहा मनोज रेखा").split(),
    "hi_native_sur": (
        "शर्मा वर्मा गुप्ता सिंह यादव मिश्रा पाण्डेय अग्रवाल जोशी चौहान तिवारी कुमार "
        "मेहता सक्सेना त्रिपाठी").split(),
    "in_sur": (
        "Sharma Verma Gupta Singh Yadav Mishra Pandey Agarwal Joshi Chauhan Tiwari Kumar "
        "Mehta Saxena Tripathi Iyer Reddy Nair Menon Pillai Chatterjee Banerjee Mukherjee "
        "Bhattacharya Deshpande Kulkarni Patil Naidu Rao Subramanian Krishnan Venkatesan "
        "Gowda Chaudhary Malhotra Kapoor Khanna Bhatia Sethi Dutta Sen Ghosh Das Bose "
        "Srinivasan Ramaswamy Hegde Shetty Kamath Bhat Acharya Dubey Shukla Pathak").split(),
    "th_native": (
        "สมชาย สมศรี ประเสริฐ วิไล ณัฐพล กิตติ อรทัย ศิริพร ธนพล ปิยะ จันทร์เพ็ญ อนุชา "
        "สุดารัตน์ วีระ").split(),
    "th_native_sur": (
        "ศรีสุข แก้วมณี บุญมา สุขสวัสดิ์ วงศ์ใหญ่ ทองดี จันทร์แก้ว ศักดิ์สิทธิ์ พรหมมา "
        "รัตนพันธ์ ใจดี สมบัติ").split(),
    "th_given": (
        "Somchai Somsri Prasert Wilai Nattapon Kitti Orathai Siriporn Thanapon Piya "
        "Anucha Chanpen Sudarat Weera Kanya Pornthip Supachai Wanida Chatchai Arunee").split(),
    "th_sur": (
        "Srisuk Kaewmanee Boonma Suksawat Wongyai Thongdee Chankaew Saksit Phromma "
        "Rattanaphan Jaidee Sombat Phongphan Srisawat Charoenkul Pattanapong "
        "Thanasombat Kittisak Chaiyaporn Intharaksa").split(),
    "ko_sur": (
        "Kim Lee Park Choi Jung Kang Cho Yoon Jang Lim Han Oh Seo Shin Kwon Hwang Ahn "
        "Song Yoo Hong Jeon Ko Moon Yang Son Bae Baek Heo Nam Noh").split(),
    "ja_sur": (
        "Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato "
        "Yoshida Yamada Sasaki Yamaguchi Matsumoto Inoue Kimura Hayashi Shimizu "
        "Yamazaki Mori Abe Ikeda Hashimoto Ishikawa Ogawa Fujita Okada Goto Hasegawa "
        "Murakami Kondo Ishii Saito Sakamoto Endo Aoki Fujii Nishimura Fukuda Ota "
        "Miura Fujiwara Okamoto Matsuda Nakagawa Nakano Harada Onishi Takeuchi").split(),
    "vi_sur": (
        "Nguyen Tran Le Pham Hoang Huynh Phan Vu Vo Dang Bui Do Ho Ngo Duong Ly "
        "Nguyễn Trần Lê Phạm Hoàng Huỳnh Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Trịnh Đinh").split(),
    "vi_given": (
        "Minh Anh Linh Huong Thao Trang Tuan Hung Dung Quang Phuong Ngoc Thanh Hieu "
        "Khanh Duc Lan Mai Hoa Long Nam Vy Thu Hai Bao Giang Trung Hanh Quynh").split(),
    "ar_sur": (
        "Al-Sayed Haddad Khalil Mansour Nasser Hassan Abdullah Al-Rashid El-Masri "
        "Farouk Saleh Aziz Hamdan Khoury Ibrahim Youssef Al-Amin Darwish Suleiman "
        "Karam Shaheen Othman Al-Hashimi Ben Ali Bouzid Cherif El Amrani Tazi Idrissi "
        "Al-Mansouri Al-Qahtani Al-Harbi Al-Zahrani Al-Otaibi Bensalem Haddadi Najjar "
        "Sabbagh Barakat Issa Jaber Hijazi Kassem Abu-Ghazaleh").split(),
    "ng_given": (
        "Chinedu Ngozi Oluwaseun Adebayo Chiamaka Emeka Funmilayo Ifeoma Yetunde Obinna "
        "Tochukwu Babatunde Aisha Musa Zainab Kelechi Uchenna Temitope Folake Nkechi "
        "Olamide Damilola Chukwuemeka Adaeze Ikechukwu Bukola Segun Titilayo Nnamdi "
        "Amaka Oluwadamilare Ebere Habiba Sani").split(),
    "ng_sur": (
        "Okonkwo Adeyemi Olawale Nwosu Eze Adebayo Balogun Ogunleye Bello Abubakar "
        "Danjuma Obi Chukwu Olatunji Oyelaran Akinola Ibekwe Onyekachi Uzor Afolabi "
        "Ogunbiyi Nwachukwu Okeke Adeleke Olaniyan Ezeh Onuoha Adewale Lawal Yusuf "
        "Aminu Oladipo Igwe Ajayi Olorunfemi").split(),
    "ea_given": (
        "Wanjiru Kamau Achieng Otieno Njeri Kipchoge Akosua Kwame Abena Kofi Ama Yaw "
        "Abebe Tigist Mekdes Dawit Selam Haile Wambui Nyokabi Kiprono Adjoa Esi Kwabena "
        "Yohannes Hirut Makena Baraka").split(),
    "ea_sur": (
        "Mwangi Odhiambo Kariuki Wekesa Chebet Mensah Owusu Asante Boateng Appiah Osei "
        "Tesfaye Bekele Girma Alemu Tadesse Njoroge Kiplagat Ochieng Wafula Amoah "
        "Agyeman Darko Gebremedhin Woldemariam Mutua Kimani Koech").split(),
    "ph_given": (
        "Maricel Jericho Rowena Jomar Lovely Princess Dindo Rhea Jhun Marites Rodel "
        "Analyn Jessa Arnel Mylene Ronaldo Kristine Jaypee Cherry Mark").split(),
    "ph_sur": (
        "Dela Cruz Reyes Bautista Villanueva Mendoza Manalo Pangilinan Macaraeg "
        "Dimaculangan Agbayani Soriano Lacson Tolentino Magbanua Salazar Evangelista "
        "Panganiban Dizon Aquino Ocampo").split(),
    "id_given": (
        "Budi Siti Agus Dewi Wahyu Sri Rizky Putri Eko Ayu Bambang Indah Fajar Lestari "
        "Hendra Ratna Yudi Wulan Arif Intan").split(),
    "id_sur": (
        "Santoso Wijaya Hidayat Saputra Kusuma Setiawan Nugroho Pratama Halim "
        "Gunawan Sutanto Purnomo Hartono Suryadi Wibowo Kurniawan Susanto Tanoto "
        "Siregar Nasution").split(),
    "pk_given": (
        "Ayesha Imran Bilal Sana Usman Hira Farhan Rabia Tanvir Nusrat Rakib Sharmin "
        "Faisal Mehwish Zeeshan Samina Arif Tahmina Shakil Farzana").split(),
    "pk_sur": (
        "Khan Qureshi Malik Chaudhry Butt Siddiqui Rahman Hossain Chowdhury Akter "
        "Islam Uddin Sheikh Mirza Baig Haque Sarkar Talukder Abbasi Javed").split(),
}

# "Dela Cruz" is two words; keep the multi-word surnames the hand lists meant.
HAND["ph_sur"] = ["Dela Cruz"] + [s for s in HAND["ph_sur"] if s not in ("Dela", "Cruz")]
HAND["ar_sur"] = (
    [s for s in HAND["ar_sur"] if s not in ("Ben", "Ali", "El", "Amrani")]
    + ["Ben Ali", "El Amrani"]
)


def _genders(country, locale, names, latin):
    """Gender of each given name and surname (native and Latin forms), so a
    Russian, Greek, Polish or Icelandic person gets a matching surname form."""
    for n in names:
        g = GENDER.get((locale, n))
        if g:
            country["gender"][n] = g
            country["gender"][latin(n)] = g


# mimesis lists carry no frequencies: weight their Latin given names by the
# nam_dict frequency of the same country, so common names come up as often
# as in real data (names nam_dict lacks keep weight 1).
NAM_FOR = {
    "US": "usa", "ES": "spain", "MX": "spain", "FR": "france", "DE": "germany",
    "AT": "austria", "CH": "swiss", "IT": "italy", "PT": "portugal", "BR": "portugal",
    "NL": "the_netherlands", "DK": "denmark", "NO": "norway", "SE": "sweden",
    "FI": "finland", "IS": "iceland", "EE": "estonia", "PL": "poland",
    "CZ": "czech_republic", "SK": "slovakia", "HU": "hungary", "HR": "croatia",
    "TR": "turkey", "AZ": "azerbaijan", "RU": "russia", "UA": "ukraine", "KZ": "the_stans",
}


def _nam_weighted(names, country):
    if not country:
        return _weighted(names)
    w = dict(nam_given(country))
    return [(n, w.get(n, 1)) for n in names]


def _weighted(names):
    return [(n, 1) for n in names]


def build_countries():
    """[{code, weight, given: [(latin, w)], sur: [..], native_given, native_sur, eastern}]"""
    C = []

    def add(code, weight, given, sur, native_given=(), native_sur=(), eastern=False,
            native_share=0.0):
        C.append(dict(code=code, weight=weight, given=list(given), sur=list(sur),
                      native_given=list(native_given), native_sur=list(native_sur),
                      eastern=eastern, native_share=native_share, gender={}))

    latin_mimesis = [
        ("US", 10, "en"), ("ES", 3, "es"), ("MX", 3, "es-mx"), ("FR", 4, "fr"),
        ("DE", 4, "de"), ("AT", 2, "de-at"), ("CH", 2, "de-ch"), ("IT", 3, "it"),
        ("PT", 2, "pt"), ("BR", 4, "pt-br"), ("NL", 3, "nl"), ("DK", 2, "da"),
        ("NO", 2, "no"), ("SE", 2, "sv"), ("FI", 2, "fi"), ("IS", 1, "is"),
        ("EE", 1, "et"), ("PL", 3, "pl"), ("CZ", 2, "cs"), ("SK", 1, "sk"),
        ("HU", 2, "hu"), ("HR", 1, "hr"), ("TR", 3, "tr"), ("AZ", 1, "az"),
    ]
    for code, w, loc in latin_mimesis:
        g, s = _mimesis(loc)
        add(code, w, _nam_weighted(g, NAM_FOR.get(code)), s)
        _genders(C[-1], loc, g + s, lambda x: x)
    # Belgium: mimesis surnames, nam_dict given names.
    _, s = _mimesis("nl-be")
    add("BE", 2, nam_given("belgium", 3), s)

    # Cyrillic: native from mimesis, Latin by transliteration.
    for code, w, loc in [("RU", 4, "ru"), ("UA", 2, "uk"), ("KZ", 1, "kk")]:
        g, s = _mimesis(loc)
        add(code, w, _nam_weighted([cyr_latin(x) for x in g], NAM_FOR.get(code)),
            [cyr_latin(x) for x in s],
            g, s, native_share=0.45)
        _genders(C[-1], loc, g + s, cyr_latin)
    g, s = _mimesis("el")
    add("GR", 2, _weighted([greek_latin(x) for x in g]), [greek_latin(x) for x in s],
        g, s, native_share=0.45)
    _genders(C[-1], "el", g + s, greek_latin)
    # Arabic world: native from mimesis (ar, ar-eg, ar-ma ...), Latin from nam_dict + hand.
    ag, asur = set(), set()
    for loc in ["ar", "ar-eg", "ar-ma", "ar-sa", "ar-sy", "ar-dz"]:
        g, s = _mimesis(loc)
        ag.update(g)
        asur.update(s)
    add("ARAB", 4, nam_given("arabia", 3), HAND["ar_sur"], sorted(ag), sorted(asur),
        native_share=0.35)
    g, s = _mimesis("fa")
    add("IR", 2, nam_given("arabia", 5), ["Hosseini", "Mohammadi", "Rezaei", "Ahmadi",
        "Karimi", "Moradi", "Jafari", "Rahimi", "Sadeghi", "Hashemi", "Ghorbani",
        "Kazemi", "Mousavi", "Tehrani", "Farahani", "Najafi", "Shirazi", "Esfahani"],
        g, s, native_share=0.4)
    g, s = _mimesis("zh")
    add("CN", 5, _weighted([pinyin_name(x) for x in g]), [pinyin_name(x) for x in s],
        g, s, eastern=True, native_share=0.4)
    g, s = _mimesis("ja")
    add("JP", 3, nam_given("japan", 2), HAND["ja_sur"], g, s, eastern=True,
        native_share=0.35)
    g, s = _mimesis("ko")
    add("KR", 3, nam_given("korea", 2), HAND["ko_sur"], g, s, eastern=True,
        native_share=0.35)
    add("IN", 6, nam_given("india", 2), HAND["in_sur"], HAND["hi_native"],
        HAND["hi_native_sur"], native_share=0.15)
    add("IL", 2, nam_given("israel", 3), HAND["he_sur"], HAND["he_native"],
        HAND["he_native_sur"], native_share=0.35)
    add("TH", 1, _weighted(HAND["th_given"]), HAND["th_sur"], HAND["th_native"],
        HAND["th_native_sur"], native_share=0.4)
    add("VN", 2, _weighted(HAND["vi_given"]) + nam_given("vietnam", 3), HAND["vi_sur"])
    add("NG", 3, _weighted(HAND["ng_given"]), HAND["ng_sur"])
    add("KE", 2, _weighted(HAND["ea_given"]), HAND["ea_sur"])
    add("PH", 2, _weighted(HAND["ph_given"]), HAND["ph_sur"])
    add("ID", 2, _weighted(HAND["id_given"]), HAND["id_sur"])
    add("PK", 2, _weighted(HAND["pk_given"]), HAND["pk_sur"])
    add("RO", 1, nam_given("romania", 3), ["Popescu", "Ionescu", "Dumitrescu",
        "Stan", "Constantinescu", "Gheorghiu", "Munteanu", "Stoica", "Marinescu",
        "Radu", "Florea", "Tudor", "Diaconu", "Lazăr", "Preda"])
    return C


def split_of(name, salt=""):
    """'dev' for ~35% of distinct names, 'final' for the rest: a stable hash, so
    a name is in one split only (whole-name identity, case-folded)."""
    h = zlib.crc32((salt + name.casefold()).encode("utf-8"))
    return "dev" if h % 100 < 35 else "final"


def split_pool(items, split, key=lambda x: x):
    mine = [x for x in items if split_of(key(x)) == split]
    # Tiny pools could end up empty on one side: fall back to the whole pool.
    return mine if len(mine) >= 2 else list(items)


# Phone regions: the detectors' default regions appear in both splits; the
# rest are split so that final has regions dev never shows.
DEFAULT_REGIONS = ["US", "GB", "DE", "FR", "ES", "IT", "IN", "CA", "AU", "BR"]
DEV_ONLY_REGIONS = ["MX", "NL", "SE", "PL", "JP", "CH", "IE", "ZA"]
FINAL_ONLY_REGIONS = ["AR", "BE", "DK", "NO", "PT", "AT", "KR", "CN", "SG", "NG", "AE",
                      "IL", "TR", "PH"]
