"""Synthetic personal data for the portfolio generator: names, 身份证 numbers, phones,
e-mail, addresses and time zones.

Everything here is obviously fake by construction: mobile numbers have "0000" as their
middle four digits, e-mail domains are the reserved ``example.*`` ones, and identity
numbers are random digits that merely pass the ISO 7064 MOD 11-2 check. Each builder takes
a ``numpy.random.Generator`` and returns Arrow arrays, so a chunk of a million customers
is built without a Python loop per customer.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# (surname, pinyin, weight): the commonest surnames, weighted roughly by population share.
SURNAMES = (
    ("王", "wang", 7.1), ("李", "li", 7.0), ("张", "zhang", 6.7), ("刘", "liu", 5.4),
    ("陈", "chen", 4.5), ("杨", "yang", 3.1), ("黄", "huang", 2.2), ("赵", "zhao", 2.0),
    ("吴", "wu", 2.0), ("周", "zhou", 1.9), ("徐", "xu", 1.5), ("孙", "sun", 1.4),
    ("马", "ma", 1.3), ("朱", "zhu", 1.3), ("胡", "hu", 1.2), ("郭", "guo", 1.1),
    ("何", "he", 1.0), ("林", "lin", 1.0), ("高", "gao", 1.0), ("罗", "luo", 0.9),
    ("郑", "zheng", 0.9), ("梁", "liang", 0.8), ("谢", "xie", 0.7), ("宋", "song", 0.7),
    ("唐", "tang", 0.6), ("许", "xu", 0.6), ("邓", "deng", 0.6), ("冯", "feng", 0.6),
    ("韩", "han", 0.5), ("曹", "cao", 0.5), ("欧阳", "ouyang", 0.1), ("司马", "sima", 0.02),
)  # fmt: skip
GIVEN_CHARS = tuple(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建国红梅飞鑫波斌宇浩凯"
    "健俊帆帅旭宁琳雪晨欣怡婷倩颖佳欢阳子轩涵梓睿博文思雨嘉晓东海林峰志云龙"
)
EN_FIRST = (
    "James", "Mary", "John", "Linda", "David", "Susan", "Michael", "Emma", "Daniel", "Olivia",
    "Thomas", "Grace", "Peter", "Chloe", "William", "Sophie", "Kevin", "Amy", "Jason", "Lucy",
)  # fmt: skip
EN_LAST = (
    "Smith", "Jones", "Brown", "Taylor", "Wilson", "Lee", "Wong", "Chan", "Martin", "Clarke",
    "Walker", "Young", "King", "Wright", "Scott", "Green", "Baker", "Hill", "Ng", "Cheung",
)  # fmt: skip

# IANA zone and share. The DST zones matter for contact-hour rules.
TIME_ZONES = (
    ("Asia/Shanghai", 0.93),
    ("Asia/Urumqi", 0.02),
    ("Asia/Hong_Kong", 0.02),
    ("America/Los_Angeles", 0.01),
    ("Europe/London", 0.01),
    ("Australia/Sydney", 0.01),
)
# Share of English-speaking customers by zone index (mainland, Xinjiang, Hong Kong, abroad).
_EN_SHARE = np.array([0.02, 0.02, 0.30, 0.85, 0.85, 0.85])

# (address prefix, 身份证 region code of that district). Mainland list is for Asia/Shanghai.
MAINLAND = (
    ("上海市浦东新区", "310115"), ("上海市徐汇区", "310104"), ("北京市朝阳区", "110105"),
    ("北京市海淀区", "110108"), ("广东省广州市天河区", "440106"),
    ("广东省深圳市南山区", "440305"), ("浙江省杭州市西湖区", "330106"),
    ("江苏省南京市鼓楼区", "320106"), ("四川省成都市武侯区", "510107"),
    ("湖北省武汉市洪山区", "420111"), ("陕西省西安市雁塔区", "610113"),
    ("重庆市渝北区", "500112"), ("天津市南开区", "120104"), ("山东省济南市历下区", "370102"),
    ("河南省郑州市金水区", "410105"), ("湖南省长沙市岳麓区", "430104"),
    ("福建省厦门市思明区", "350203"), ("辽宁省沈阳市和平区", "210102"),
)  # fmt: skip
XINJIANG = (
    ("新疆维吾尔自治区乌鲁木齐市天山区", "650102"),
    ("新疆维吾尔自治区乌鲁木齐市沙依巴克区", "650103"),
    ("新疆维吾尔自治区喀什地区喀什市", "653101"),
)
STREETS = ("人民路", "解放路", "中山路", "建设路", "和平路", "长江路", "文化路", "新华路")
HONG_KONG = ("香港九龙旺角弥敦道", "香港湾仔区轩尼诗道", "香港新界沙田区沙田正街")
ABROAD = (
    " Wilshire Blvd, Los Angeles, CA 90010, USA",
    " Baker Street, London NW1 6XE, UK",
    " George Street, Sydney NSW 2000, Australia",
)
MOBILE_PREFIXES = (138, 139, 135, 136, 137, 150, 151, 152, 158, 159, 186, 185, 133, 177, 199)
EMAIL_DOMAINS = ("example.com", "example.cn", "example.net", "example.org")

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)


def id_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of an 18-digit 身份证 number."""
    total = sum(int(c) * int(w) for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return chr(_ID_CHECK[total % 11])


def _weights(items: tuple[tuple[object, ...], ...]) -> np.ndarray:
    w = np.array([float(row[-1]) for row in items])  # type: ignore[arg-type]
    return w / w.sum()


def _text(values: np.ndarray | list[str] | tuple[str, ...]) -> pa.Array:
    return pa.array(list(values), pa.string())


def _ints(values: np.ndarray) -> pa.Array:
    return pa.array(values, pa.int64()).cast(pa.string())


def draw_time_zones(rng: np.random.Generator, n: int) -> tuple[np.ndarray, pa.Array]:
    """Zone index per customer (into TIME_ZONES) and the IANA names."""
    idx = rng.choice(len(TIME_ZONES), size=n, p=_weights(TIME_ZONES))
    return idx, _text([z for z, _ in TIME_ZONES]).take(pa.array(idx))


def draw_languages(rng: np.random.Generator, zone_idx: np.ndarray) -> np.ndarray:
    """True where the customer's language is English (mostly abroad and in Hong Kong)."""
    return rng.random(len(zone_idx)) < _EN_SHARE[zone_idx]


def draw_names(rng: np.random.Generator, english: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Full names (Chinese: weighted surname + 1–2 given characters; English where
    ``english``) and the surname index used for the e-mail local part."""
    n = len(english)
    surname = rng.choice(len(SURNAMES), size=n, p=_weights(SURNAMES))
    given = _text((*GIVEN_CHARS, ""))
    g1 = given.take(pa.array(rng.integers(0, len(GIVEN_CHARS), n)))
    second = np.where(rng.random(n) < 0.7, rng.integers(0, len(GIVEN_CHARS), n), len(GIVEN_CHARS))
    g2 = given.take(pa.array(second))
    zh = pc.binary_join_element_wise(
        _text([s for s, _, _ in SURNAMES]).take(pa.array(surname)), g1, g2, ""
    )
    first = _text(EN_FIRST).take(pa.array(rng.integers(0, len(EN_FIRST), n)))
    last_idx = rng.integers(0, len(EN_LAST), n)
    en = pc.binary_join_element_wise(first, _text(EN_LAST).take(pa.array(last_idx)), " ")
    return pc.if_else(pa.array(english), en, zh), surname


def _digit_matrix(values: np.ndarray, width: int) -> np.ndarray:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (ord("0") + (values[:, None] // powers) % 10).astype(np.uint8)


def draw_id_numbers(
    rng: np.random.Generator, region_codes: np.ndarray, birth_days: np.ndarray
) -> pa.Array:
    """18-character 身份证 numbers: 6-digit region code, birth date (given as days since
    1970-01-01), a random 3-digit sequence number and a valid MOD 11-2 check character."""
    n = len(birth_days)
    births = birth_days.astype("datetime64[D]")
    months = births.astype("datetime64[M]")
    year = births.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (births - months.astype("datetime64[D]")).astype(np.int64) + 1
    ymd = year * 10_000 + month * 100 + day
    body = (region_codes.astype(np.int64) * 10**8 + ymd) * 1000 + rng.integers(0, 1000, n)
    digits = np.empty((n, 18), dtype=np.uint8)
    digits[:, :17] = _digit_matrix(body, 17)
    total = (digits[:, :17].astype(np.int64) - ord("0")) @ _ID_WEIGHTS
    digits[:, 17] = _ID_CHECK[total % 11]
    return pa.array(digits.view("S18").ravel()).cast(pa.string())


def draw_mobiles(rng: np.random.Generator, n: int) -> pa.Array:
    """11-digit mobiles with a real operator prefix and "0000" in the middle (138 0000 1234)."""
    prefix = np.array(MOBILE_PREFIXES, dtype=np.int64)[rng.integers(0, len(MOBILE_PREFIXES), n)]
    return _ints(prefix * 100_000_000 + rng.integers(0, 10_000, n))


def draw_emails(
    rng: np.random.Generator, surname: np.ndarray, english: np.ndarray, customer_no: np.ndarray
) -> pa.Array:
    """E-mail at a reserved example domain for ~60% of customers, null for the rest."""
    n = len(surname)
    pinyin = _text([p for _, p, _ in SURNAMES]).take(pa.array(surname))
    last = pc.utf8_lower(_text(EN_LAST).take(pa.array(rng.integers(0, len(EN_LAST), n))))
    local = pc.binary_join_element_wise(
        pc.if_else(pa.array(english), last, pinyin), _ints(customer_no % 100_000), ""
    )
    domain = _text(EMAIL_DOMAINS).take(pa.array(rng.integers(0, len(EMAIL_DOMAINS), n)))
    email = pc.binary_join_element_wise(local, domain, "@")
    return pc.if_else(pa.array(rng.random(n) < 0.6), email, pa.scalar(None, pa.string()))


def draw_addresses(rng: np.random.Generator, zone_idx: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Address matching the time zone, and the 身份证 region code of the customer's
    district (a random mainland one for customers living in Hong Kong or abroad)."""
    n = len(zone_idx)
    main = rng.integers(0, len(MAINLAND), n)
    xj = rng.integers(0, len(XINJIANG), n)
    places = _text([p for p, _ in MAINLAND + XINJIANG])
    codes = np.array([int(c) for _, c in MAINLAND + XINJIANG], dtype=np.int64)
    place = np.where(zone_idx == 1, len(MAINLAND) + xj, main)
    place_idx = pa.array(place)
    number = _ints(rng.integers(1, 999, n))
    street = _text(STREETS).take(pa.array(rng.integers(0, len(STREETS), n)))
    room = pc.binary_join_element_wise(
        _ints(rng.integers(1, 30, n)), "栋", _ints(rng.integers(101, 2999, n)), "室", ""
    )
    cn = pc.binary_join_element_wise(places.take(place_idx), street, number, "号", room, "")
    hk = pc.binary_join_element_wise(
        _text(HONG_KONG).take(pa.array(rng.integers(0, len(HONG_KONG), n))), number, "号", ""
    )
    abroad_idx = pa.array(np.clip(zone_idx - 3, 0, len(ABROAD) - 1))
    abroad = pc.binary_join_element_wise(number, _text(ABROAD).take(abroad_idx), "")
    address = pc.if_else(
        pa.array(zone_idx == 2),
        hk,
        pc.if_else(pa.array((zone_idx >= 3) & (zone_idx <= 5)), abroad, cn),
    )
    return address, codes[place]


def draw_people(
    rng: np.random.Generator, numbers: np.ndarray, as_of_day: int
) -> dict[str, pa.Array]:
    """Personal columns of the customers numbered ``numbers``: name, id_number (born so
    they are aged 20 to 64 on ``as_of_day``, days since 1970-01-01), mobile, email,
    address, time_zone and language ("zh_CN" or "en")."""
    n = len(numbers)
    zone, zones = draw_time_zones(rng, n)
    english = draw_languages(rng, zone)
    name, surname = draw_names(rng, english)
    address, region = draw_addresses(rng, zone)
    birth = as_of_day - rng.integers(20 * 366, 65 * 365, n)
    return {
        "name": name,
        "id_number": draw_id_numbers(rng, region, birth),
        "mobile": draw_mobiles(rng, n),
        "email": draw_emails(rng, surname, english, numbers),
        "address": address,
        "time_zone": zones,
        "language": pc.if_else(pa.array(english), "en", "zh_CN"),
    }
