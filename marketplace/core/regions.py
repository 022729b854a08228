"""Provinces of China, stored by their English (pinyin) name, shown in either language."""
from flask_babel import get_locale

PROVINCES = {
    "Anhui": "安徽", "Beijing": "北京", "Chongqing": "重庆", "Fujian": "福建", "Gansu": "甘肃",
    "Guangdong": "广东", "Guangxi": "广西", "Guizhou": "贵州", "Hainan": "海南", "Hebei": "河北",
    "Heilongjiang": "黑龙江", "Henan": "河南", "Hubei": "湖北", "Hunan": "湖南",
    "Inner Mongolia": "内蒙古", "Jiangsu": "江苏", "Jiangxi": "江西", "Jilin": "吉林",
    "Liaoning": "辽宁", "Ningxia": "宁夏", "Qinghai": "青海", "Shaanxi": "陕西", "Shandong": "山东",
    "Shanghai": "上海", "Shanxi": "山西", "Sichuan": "四川", "Tianjin": "天津", "Tibet": "西藏",
    "Xinjiang": "新疆", "Yunnan": "云南", "Zhejiang": "浙江",
}
_BY_CHINESE = {zh: en for en, zh in PROVINCES.items()}
_BY_LOWER = {en.lower(): en for en in PROVINCES}


def canonical_province(value: str) -> str | None:
    """'陕西', '陕西省', 'shaanxi' -> 'Shaanxi'; None when unknown."""
    text = (value or "").strip()
    for suffix in ("省", "市", "自治区", "壮族自治区", "回族自治区", "维吾尔自治区"):
        if text.endswith(suffix) and text[: -len(suffix)] in _BY_CHINESE:
            text = text[: -len(suffix)]
    return _BY_CHINESE.get(text) or _BY_LOWER.get(text.lower())


def province_label(name: str) -> str:
    if str(get_locale() or "").startswith("zh"):
        return PROVINCES.get(name, name)
    return name
